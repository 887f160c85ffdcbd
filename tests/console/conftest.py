"""The console in a real browser: Debian's chromium driven by Playwright (launched by its path —
Playwright's own browser download is not reachable here), on the test app served by uvicorn in the
test's own event loop, so a test seeds and checks the same database the pages use.

Every page a test opens must leave the browser console free of errors (checked after the test), and
``shot(page, name)`` saves a screenshot under ``tests/console/screenshots/`` for reviewers."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, ConsoleMessage, Page, Response, async_playwright

from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from tests.live_server import free_port
from tests.support.auth import PASSWORD, hashed
from tests.support.factories import make_user, new_email

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = os.environ.get("SPIKELAND_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here shares one browser (a session fixture): run them on one xdist worker.
    for item in items:
        if "tests/console/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240  (once per run)
        pytest.fail(
            f"Chromium is needed for the console's browser tests: apt-get install chromium ({CHROMIUM})"
        )
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield found
        await found.close()


@pytest.fixture
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The test's app on a loopback port, for the browser."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def page(browser: Browser, served: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=served, viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    problems: list[str] = []
    refused_pages: set[str] = set()  # documents answered 4xx on purpose (a 403 page, a 422 page)

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document" and response.status >= 400:
            refused_pages.add(response.url)

    def on_console(message: ConsoleMessage) -> None:
        refused = (
            message.text.startswith("Failed to load resource")
            and message.location.get("url") in refused_pages
        )
        if message.type == "error" and not refused:
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    opened.on("response", on_response)
    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield opened
    await context.close()
    assert not problems, problems


Person = Callable[..., Awaitable[tuple[str, str]]]


@pytest.fixture
def person(app: FastAPI) -> Person:
    """``await person(role)``: a committed user with the test password; returns (id, email)."""

    async def make(role: UserRole = UserRole.ADMIN, **fields: Any) -> tuple[str, str]:
        password_hash = await hashed(PASSWORD, app.state.settings.bcrypt_cost)
        async with transaction(app.state.sessionmaker) as session:
            user = await make_user(
                session, email=new_email(role.value.lower()), password_hash=password_hash, role=role, **fields
            )
        return user.id, str(user.email)

    return make


async def sign_in(page: Page, email: str, password: str = PASSWORD, then: str = "/admin") -> None:
    await page.goto(f"/admin/login?next={quote(then, safe='')}")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state("networkidle")


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
