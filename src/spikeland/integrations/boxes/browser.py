"""Agent tasks against a box's own browser: Playwright connected over CDP to its ``connectionUrl``.

Each task connects, works on the browser's current page (the first tab of its default context, so
one task's navigation is the next one's page) and disconnects, leaving the browser and the page as
they are. The kinds and their payloads:

- ``navigate`` {url}: load the page (http/https only); result {url, title, status};
- ``click`` {selector} or {text}: click the first match; result {url, title};
- ``type`` {selector, text}: fill the field; result {selector};
- ``extract`` {selector?}: the element's visible text (default the whole body); result {url, title, text};
- ``screenshot``: the visible page as PNG; result {url, title} and the image.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from spikeland.integrations.boxes.network import Guard

TASK_KINDS = ("navigate", "click", "type", "extract", "screenshot")
MAX_TEXT = 100_000  # characters of extracted text kept in a result


class TaskFailed(Exception):
    """The page refused the task (no such element, a navigation error): not worth retrying."""


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    png: bytes | None = None


def check_payload(kind: str, payload: dict[str, Any]) -> str | None:
    """What is wrong with a task's payload, or None."""
    if kind not in TASK_KINDS:
        return f"Unknown task type {kind!r}; one of {', '.join(TASK_KINDS)}."
    text_fields = {"navigate": ("url",), "type": ("selector", "text")}.get(kind, ())
    for field in text_fields:
        if not isinstance(payload.get(field), str) or not payload[field]:
            return f"A {kind} task needs {field!r} (a non-empty string)."
    if kind == "navigate" and urlsplit(payload["url"]).scheme not in ("http", "https"):
        return "Only http and https addresses can be opened."
    if kind == "click" and not any(
        isinstance(payload.get(f), str) and payload[f] for f in ("selector", "text")
    ):
        return "A click task needs 'selector' or 'text'."
    selector = payload.get("selector")
    if selector is not None and not isinstance(selector, str):
        return "'selector' must be a string."
    return None


async def run_task(
    connection_url: str, kind: str, payload: dict[str, Any], timeout: float, *, private_networks: bool
) -> Outcome:
    """Do one task in the box's browser (``TaskFailed`` when the page refuses it); unless
    ``private_networks``, off the server's own network (``network``)."""
    guard = None if private_networks else Guard()
    if guard is not None and kind == "navigate" and await guard.private(payload["url"]):
        raise TaskFailed("That address is on a private network, which boxes may not open.")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(connection_url, timeout=timeout * 1000)
        try:
            context = browser.contexts[0] if browser.contexts else await browser.new_context()
            if guard is not None:
                await context.route("**/*", guard)
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(timeout * 1000)
            try:
                return await _do(page, kind, payload)
            except PlaywrightError as exc:
                raise TaskFailed(str(exc).split("\n", 1)[0][:500]) from exc
        finally:
            await browser.close()  # over CDP: disconnects (its routes go); the browser and pages stay


async def close_browser(connection_url: str, timeout: float) -> None:
    """Ask the browser to shut down cleanly (``Browser.close``): it writes its cookies and storage
    to the profile first, which a signal to its process group does not wait for."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(connection_url, timeout=timeout * 1000)
        session = await browser.new_browser_cdp_session()
        with contextlib.suppress(PlaywrightError):  # the connection drops as the browser goes
            await session.send("Browser.close")


async def _do(page: Page, kind: str, payload: dict[str, Any]) -> Outcome:
    if kind == "navigate":
        response = await page.goto(payload["url"], wait_until="load")
        status = response.status if response is not None else None
        return Outcome({"url": page.url, "title": await page.title(), "status": status})
    if kind == "click":
        target = (
            page.locator(payload["selector"])
            if payload.get("selector")
            else page.get_by_text(payload["text"])
        )
        await target.first.click()
        await page.wait_for_load_state("load")
        return Outcome({"url": page.url, "title": await page.title()})
    if kind == "type":
        await page.locator(payload["selector"]).first.fill(payload["text"])
        return Outcome({"selector": payload["selector"]})
    if kind == "extract":
        selector = payload.get("selector") or "body"
        text = await page.locator(selector).first.inner_text()
        return Outcome({"url": page.url, "title": await page.title(), "text": text[:MAX_TEXT]})
    png = await page.screenshot(type="png")
    return Outcome({"url": page.url, "title": await page.title()}, png)
