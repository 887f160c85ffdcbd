"""Feedback (anyone submits; admins triage forward only, resolving mails the submitter) and
tracked URLs (admin CRUD, paths only, unique) with the public sitemap built from them."""

from __future__ import annotations

import secrets
from xml.etree import ElementTree

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from spikeland.identity.models import UserRole
from spikeland.ops.models import EmailLog
from spikeland.settings import Settings
from tests.support.fixtures import UserClient
from tests.support.mail import mails_to

API = "/api/v1"
RESOLVED = "Your feedback has been resolved"


async def test_feedback_from_anyone_triaged_forward_only(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    address = f"fb-{secrets.token_hex(4)}@example.com"
    sent = await client.post(
        f"{API}/feedback",
        json={"type": "BUG", "message": "The button\ndoes nothing", "page": "/pricing", "email": address},
        headers={"User-Agent": "Mozilla/5.0 test"},
    )
    assert sent.status_code == 201, sent.text
    feedback_id = sent.json()["id"]
    member, _ = await user_client()
    mine = await member.post(f"{API}/feedback", json={"type": "IDEA", "message": "Dark mode", "page": "/"})
    assert mine.status_code == 201
    for wrong in (
        {"type": "PRAISE", "message": "x", "page": "/"},
        {"type": "BUG", "message": "   ", "page": "/"},
        {"type": "BUG", "message": "x", "page": ""},
        {"type": "BUG", "message": "x" * 5001, "page": "/"},
        {"type": "BUG", "message": "x", "page": "/", "email": "not-an-address"},
    ):
        assert (await client.post(f"{API}/feedback", json=wrong)).status_code == 422, wrong

    admin, admin_id = await user_client(role=UserRole.ADMIN)
    listed = (await admin.get(f"{API}/admin/feedback", params={"status": "NEW", "type": "BUG"})).json()
    row = next(item for item in listed["items"] if item["id"] == feedback_id)
    assert (row["userAgent"], row["email"], row["userId"]) == ("Mozilla/5.0 test", address, None)

    async def move(to: str, note: str | None = None) -> httpx.Response:
        body = {"status": to} | ({"adminNote": note} if note is not None else {})
        return await admin.patch(f"{API}/admin/feedback/{feedback_id}", json=body)

    skipped = await move("RESOLVED")
    assert skipped.status_code == 409 and skipped.json()["error"]["code"] == "feedback_transition"
    assert (await move("REVIEWED", "Reproduced on Safari")).json()["status"] == "REVIEWED"
    assert (await move("REVIEWED")).status_code == 200  # where it is already: nothing changes
    assert (await move("NEW")).status_code == 409
    assert (await move("RESOLVED", "x" * 2001)).status_code == 422
    assert mails_to(settings, address, RESOLVED) == []
    done = await move("RESOLVED")
    assert done.status_code == 200 and done.json()["adminNote"] == "Reproduced on Safari"
    (mail,) = mails_to(settings, address, RESOLVED)
    assert "The button" in mail.get_body(preferencelist=("plain",)).get_content()
    async with app.state.sessionmaker() as session:
        logged = (await session.scalars(select(EmailLog).where(EmailLog.to == address))).one()
    assert (logged.template, logged.user_id) == ("FEEDBACK_RESOLVED", admin_id)  # anonymous: the admin's
    assert (await move("DISMISSED")).status_code == 409
    assert (
        await member.patch(f"{API}/admin/feedback/{feedback_id}", json={"status": "NEW"})
    ).status_code == 403
    missing = await admin.patch(f"{API}/admin/feedback/nope", json={"status": "REVIEWED"})
    assert missing.status_code == 404


async def test_tracked_urls_and_the_sitemap(client: httpx.AsyncClient, user_client: UserClient) -> None:
    admin, admin_id = await user_client(role=UserRole.ADMIN)
    path = f"/landing/{secrets.token_hex(4)}"
    made = await admin.post(f"{API}/admin/tracked-urls", json={"path": path, "label": "Spring landing"})
    assert made.status_code == 201, made.text
    url = made.json()
    assert (url["isActive"], url["createdById"]) == (True, admin_id)
    again = await admin.post(f"{API}/admin/tracked-urls", json={"path": path})
    assert again.status_code == 409 and again.json()["error"]["code"] == "tracked_url_exists"
    for wrong in ("pricing", "https://evil.example/x", "//evil.example/x", "/a b", "/a://b"):
        answer = await admin.post(f"{API}/admin/tracked-urls", json={"path": wrong})
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_path", wrong

    sitemap = await client.get("/sitemap.xml")
    assert sitemap.status_code == 200 and sitemap.headers["content-type"].startswith("application/xml")
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [
        loc.text for loc in ElementTree.fromstring(sitemap.content).findall("s:url/s:loc", namespace)
    ]
    assert any(loc and loc.endswith(path) for loc in locations) and any(
        loc.endswith("/gallery") for loc in locations if loc
    )

    off = await admin.patch(f"{API}/admin/tracked-urls/{url['id']}", json={"isActive": False, "label": ""})
    assert off.status_code == 200 and (off.json()["isActive"], off.json()["label"]) == (False, None)
    assert path not in (await client.get("/sitemap.xml")).text
    inactive = (await admin.get(f"{API}/admin/tracked-urls", params={"active": False})).json()["items"]
    assert url["id"] in [item["id"] for item in inactive]
    other = await admin.post(f"{API}/admin/tracked-urls", json={"path": path + "-b"})
    clash = await admin.patch(f"{API}/admin/tracked-urls/{other.json()['id']}", json={"path": path})
    assert clash.status_code == 409
    assert (await admin.delete(f"{API}/admin/tracked-urls/{url['id']}")).status_code == 204
    assert (await admin.delete(f"{API}/admin/tracked-urls/{url['id']}")).status_code == 404
    member, _ = await user_client()
    assert (await member.get(f"{API}/admin/tracked-urls")).status_code == 403
