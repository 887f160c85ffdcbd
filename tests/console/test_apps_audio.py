"""The console's pages for apps (directory moderation: archive, restore, release a domain) and audio
usage (totals, who stores the most, projects), each action checked in the database and the audit."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from playwright.async_api import Page, expect

from spikeland.apps.models import App, AppStatus
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.ops.audit import list_entries
from tests.console.conftest import Person, shot, sign_in
from tests.support.audio import tone
from tests.support.auth import start_session
from tests.support.clients import client_of


async def _audit_actions(app: FastAPI, target_id: str) -> list[tuple[str, dict]]:
    async with app.state.sessionmaker() as session:
        page = await list_entries(session, target_id=target_id, limit=50)
        return [(str(getattr(e.action, "value", e.action)), e.metadata_ or {}) for e in page.items]


async def test_apps_moderation(page: Page, app: FastAPI, person: Person) -> None:
    _, admin = await person(UserRole.ADMIN)
    owner_id, _ = await person(UserRole.USER)
    tag = secrets.token_hex(3)  # the shared test database holds other tests' apps
    live_name, draft_name, domain = f"Live {tag}", f"Draft {tag}", f"live-{tag}.example.org"
    async with transaction(app.state.sessionmaker) as session:
        live = App(name=live_name, user_id=owner_id, status=AppStatus.ACTIVE, domain=domain)
        draft = App(name=draft_name, user_id=owner_id, status=AppStatus.DRAFT)
        session.add_all([live, draft])
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, admin, then="/admin/apps")
    row = page.locator("tr", has_text=live_name)
    await expect(row).to_contain_text(domain)
    await expect(page.locator("tr", has_text=draft_name).get_by_role("button")).to_have_count(
        0
    )  # nothing to do
    await shot(page, "apps")

    await row.get_by_role("button", name="Archive").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{live_name} is now ARCHIVED")
    await row.get_by_role("button", name="Release domain").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{domain} released")
    await page.locator("tr", has_text=live_name).get_by_role("button", name="Restore").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{live_name} is now ACTIVE")
    async with app.state.sessionmaker() as session:
        found = await session.get(App, live.id)
        assert found is not None and found.status == AppStatus.ACTIVE and found.domain is None
    actions = await _audit_actions(app, live.id)
    assert sorted(a for a, _ in actions) == ["APP_ARCHIVE", "APP_DOMAIN_RELEASE", "APP_RESTORE"]
    assert {"via": "console", "domain": domain}.items() <= dict(actions)["APP_DOMAIN_RELEASE"].items()

    await page.goto(f"/admin/apps?status=DRAFT&q={tag}")
    await expect(page.locator("tbody tr")).to_have_count(1)
    await expect(page.locator("tbody tr")).to_contain_text(draft_name)


async def test_audio_usage(page: Page, app: FastAPI, person: Person) -> None:
    _, admin = await person(UserRole.ADMIN)
    owner_id, owner = await person(UserRole.USER)
    data = tone(1.0, "WAV", "PCM_16")
    async with client_of(app) as client:
        await start_session(client, owner_id)
        project = (await client.post("/api/v1/audio/projects", json={"name": "Console Tones"})).json()
        for name in ("a.wav", "b.wav"):
            answer = await client.post(
                f"/api/v1/audio/track-uploads/{project['id']}", files={"file": (name, data, "audio/wav")}
            )
            assert answer.status_code == 201, answer.text
        await client.post(
            f"/api/v1/audio/projects/{project['id']}/tracks/browser",
            json={"name": "Local", "fileFormat": "wav", "duration": 2.0, "fileSizeBytes": 999},
        )
    await sign_in(page, admin, then=f"/admin/audio?owner={owner}")
    await expect(page.get_by_role("heading", name="Audio usage")).to_be_visible()
    row = page.locator("tr", has_text="Console Tones")
    await expect(row).to_contain_text("3")  # tracks
    await expect(page.locator("tr", has_text=owner).first).to_be_visible()
    assert int(await page.get_by_test_id("tracks").inner_text()) >= 3
    await shot(page, "audio")
