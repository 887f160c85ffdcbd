"""Jules' REST API (v1alpha) on loopback: the calls ``integrations.agents.jules`` makes.

- ``POST /v1alpha/sessions`` answers the new session PLANNING; the agent then "plans" at once: a
  ``planGenerated`` activity, and the session AWAITING_PLAN_APPROVAL.
- ``POST /v1alpha/sessions/{id}:approvePlan`` (400 FAILED_PRECONDITION unless awaiting approval) →
  IN_PROGRESS and a ``planApproved`` activity; ``:sendMessage`` {prompt} → ``userMessaged`` and the
  agent's ``agentMessaged`` reply.
- ``GET /v1alpha/sessions/{id}``, ``GET /v1alpha/sessions/{id}/activities`` (paged two at a time
  by ``pageToken``).

Every call needs the key in ``X-Goog-Api-Key`` (else 403). ``complete()`` finishes a session with a
pull request, ``fail()`` fails it; ``broken`` makes every call answer 500, ``garbage`` answer 200
with HTML, ``delay`` answer late.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from tests.integrations.threaded import aiohttp_in_thread

API_KEY = "jules-test-key"
PAGE = 2
PLAN = ["Read the failing test", "Fix the parser", "Add a regression test"]
START = datetime(2026, 1, 1, 10, tzinfo=UTC)


@dataclass
class JulesSession:
    name: str
    title: str
    prompt: str
    source: str
    branch: str
    state: str = "PLANNING"
    activities: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        session_id = self.name.removeprefix("sessions/")
        return {
            "name": self.name,
            "id": session_id,
            "title": self.title,
            "prompt": self.prompt,
            "sourceContext": {"source": self.source, "githubRepoContext": {"startingBranch": self.branch}},
            "state": self.state,
            "url": f"https://jules.google.com/session/{session_id}",
            "outputs": self.outputs,
        }


@dataclass
class JulesState:
    sessions: dict[str, JulesSession] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    prefix: str = field(default_factory=lambda: secrets.token_hex(4))  # names unique across runs
    calls: list[str] = field(default_factory=list)
    broken: bool = False
    garbage: bool = False  # 200 with a body that is not JSON
    delay: float = 0.0  # seconds before answering

    def add(
        self, session: JulesSession, kind: str, detail: dict[str, Any], originator: str = "agent"
    ) -> None:
        number = next(self.ids)
        session.activities.append(
            {
                "name": f"{session.name}/activities/a{number}",
                "id": f"a{number}",
                # RFC 3339 with nanoseconds, as Jules writes it
                "createTime": (START + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z"),
                "originator": originator,
                "description": kind,
                kind: detail,
            }
        )

    def complete(self, name: str, pr_url: str, branch: str) -> None:
        session = self.sessions[name]
        self.add(session, "progressUpdated", {"title": "Tests pass", "description": "All 12 tests green"})
        self.add(session, "sessionCompleted", {})
        session.outputs.append({"pullRequest": {"url": pr_url, "title": session.title, "headRef": branch}})
        session.state = "COMPLETED"

    def fail(self, name: str, reason: str) -> None:
        session = self.sessions[name]
        self.add(session, "sessionFailed", {"reason": reason})
        session.state = "FAILED"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message}}, status=status)


async def _create(state: JulesState, request: web.Request) -> web.Response:
    body = await request.json()
    context = body["sourceContext"]
    session = JulesSession(
        name=f"sessions/{state.prefix}{next(state.ids)}",
        title=body.get("title", ""),
        prompt=body["prompt"],
        source=context["source"],
        branch=context["githubRepoContext"]["startingBranch"],
    )
    state.sessions[session.name] = session
    answer = web.json_response(session.body())
    # The agent plans right away; the plan waits for approval (the request asked for it).
    assert body.get("requirePlanApproval") is True
    steps = [{"id": f"s{i}", "index": i, "title": title} for i, title in enumerate(PLAN)]
    state.add(session, "planGenerated", {"plan": {"id": "plan-1", "steps": steps}})
    session.state = "AWAITING_PLAN_APPROVAL"
    return answer


async def _action(
    state: JulesState, session: JulesSession, action: str, request: web.Request
) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    if action == "approvePlan":
        if session.state != "AWAITING_PLAN_APPROVAL":
            return _error(400, "FAILED_PRECONDITION: no plan awaits approval")
        state.add(session, "planApproved", {"planId": "plan-1"}, originator="user")
        session.state = "IN_PROGRESS"
        return web.json_response({})
    if action == "sendMessage":
        state.add(session, "userMessaged", {"userMessage": body["prompt"]}, originator="user")
        state.add(session, "agentMessaged", {"agentMessage": f"Noted: {body['prompt']}"})
        return web.json_response({})
    return _error(404, "no such method")


def _activities(session: JulesSession, request: web.Request) -> web.Response:
    offset = int(request.query.get("pageToken") or 0)
    rows = session.activities[offset : offset + PAGE]
    page: dict[str, Any] = {"activities": rows}
    if offset + PAGE < len(session.activities):
        page["nextPageToken"] = str(offset + PAGE)
    return web.Response(text=json.dumps(page), content_type="application/json")


async def _route(state: JulesState, request: web.Request) -> web.Response:
    path = request.match_info["path"]
    state.calls.append(f"{request.method} {path}")
    if request.headers.get("X-Goog-Api-Key") != API_KEY:
        return _error(403, "PERMISSION_DENIED: API key not valid")
    await asyncio.sleep(state.delay)
    if state.broken:
        return _error(500, "INTERNAL")
    if state.garbage:
        return web.Response(text="<html>maintenance</html>", content_type="text/html")
    if request.method == "POST" and path == "sessions":
        return await _create(state, request)
    name, _, action = path.partition(":")
    parts = name.split("/")
    session = state.sessions.get("/".join(parts[:2]))
    if session is None:
        return _error(404, "NOT_FOUND")
    if request.method == "POST" and action:
        return await _action(state, session, action, request)
    if request.method == "GET" and len(parts) == 2:
        return web.json_response(session.body())
    if request.method == "GET" and parts[2:] == ["activities"]:
        return _activities(session, request)
    return _error(404, "NOT_FOUND")


@dataclass
class JulesPeer:
    url: str
    state: JulesState

    def settings(self) -> dict[str, Any]:
        """The Settings fields that point the Jules client at this peer."""
        return {"jules_api_key": SecretStr(API_KEY), "jules_base_url": f"{self.url}/v1alpha"}


@contextmanager
def run_jules_peer(state: JulesState | None = None) -> Iterator[JulesPeer]:
    state = state or JulesState()

    def make_app() -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/v1alpha/{path:.+}", partial(_route, state))
        return app

    with aiohttp_in_thread(make_app, "jules") as (url, _loop):
        yield JulesPeer(url, state)
