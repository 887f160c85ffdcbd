"""Jules over its REST API (``https://jules.googleapis.com/v1alpha``, the key in ``X-Goog-Api-Key``).

The calls, as Google's v1alpha reference describes them:

- ``POST /sessions`` {prompt, title, sourceContext {source "sources/github/<owner>/<repo>",
  githubRepoContext {startingBranch}}, requirePlanApproval true} → a Session;
- ``POST /{sessions/…}:approvePlan`` {} and ``POST /{sessions/…}:sendMessage`` {prompt} → {};
- ``GET /{sessions/…}`` → a Session {name, state, url, outputs [{pullRequest {url, title, …}}]};
- ``GET /{sessions/…}/activities?pageSize=100&pageToken=…`` → {activities, nextPageToken}, each
  Activity {name, id, createTime, originator, description} with one of agentMessaged
  {agentMessage}, userMessaged {userMessage}, planGenerated {plan {steps [{title}]}}, planApproved,
  progressUpdated {title, description}, sessionCompleted, sessionFailed {reason}.

Assumptions where the reference says nothing: the branch a pull request comes from is read from
``pullRequest.headRef`` (GitHub's name for it) when present; an activity without ``id`` takes the
last part of its ``name``. Session names must look like ``sessions/<id>`` before they go into a
URL, so a stored or returned value can never point a call elsewhere.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx

from spikeland.integrations.agents import JULES, AgentActivity, AgentProviderError, AgentSession, CodingAgent
from spikeland.integrations.oauth_client import USER_AGENT
from spikeland.settings import Settings

_SESSION_NAME = re.compile(r"^sessions/[A-Za-z0-9_-]{1,200}$")
_MAX_TEXT = 20_000
_MAX_PAGES = 50  # 5,000 activities: far beyond any session we would meet
_KINDS = {
    "agentMessaged": "agent_messaged",
    "userMessaged": "user_messaged",
    "planGenerated": "plan_generated",
    "planApproved": "plan_approved",
    "progressUpdated": "progress_updated",
    "sessionCompleted": "session_completed",
    "sessionFailed": "session_failed",
}


def _text(value: Any, limit: int = _MAX_TEXT) -> str | None:
    """Text from the provider, fit to store (PostgreSQL text holds no NUL) and bounded."""
    return (value.replace("\x00", "").strip()[:limit] or None) if isinstance(value, str) else None


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def session_name(value: Any) -> str:
    if not isinstance(value, str) or not _SESSION_NAME.match(value):
        raise AgentProviderError("Jules answered a session without a valid name")
    return value


def parse_session(body: Any) -> AgentSession:
    if not isinstance(body, dict):
        raise AgentProviderError("Jules answered something that is not a session")
    pull: dict[str, Any] = {}
    for output in body.get("outputs") or []:
        if isinstance(output, dict) and isinstance(output.get("pullRequest"), dict):
            pull = output["pullRequest"]  # the last one: the session's latest pull request
    return AgentSession(
        external_id=session_name(body.get("name")),
        state=_text(body.get("state"), 64),
        url=_text(body.get("url"), 2048),
        pull_request_url=_text(pull.get("url"), 2048),
        output_branch=_text(pull.get("headRef"), 255),
    )


def _plan_summary(plan: Any) -> str | None:
    steps = plan.get("steps") if isinstance(plan, dict) else None
    if not isinstance(steps, list):
        return None
    titles = [_text(step.get("title"), 500) for step in steps if isinstance(step, dict)]
    return _text("\n".join(f"{n}. {title}" for n, title in enumerate(filter(None, titles), 1)))


def parse_activity(body: Any) -> AgentActivity:
    if not isinstance(body, dict):
        raise AgentProviderError("Jules answered an activity that is not an object")
    external_id = _text(body.get("id"), 200) or _text(str(body.get("name") or "").rpartition("/")[2], 200)
    if not external_id:
        raise AgentProviderError("Jules answered an activity without an id")
    key = next((k for k in _KINDS if isinstance(body.get(k), dict)), None)
    detail: dict[str, Any] = body.get(key, {}) if key else {}
    plan = _plan_summary(detail.get("plan")) if key == "planGenerated" else None
    failure = _text(detail.get("reason")) if key == "sessionFailed" else None
    progress = "\n".join(filter(None, (_text(detail.get("title")), _text(detail.get("description")))))
    content = (
        _text(detail.get("agentMessage"))
        or _text(detail.get("userMessage"))
        or plan
        or failure
        or _text(progress)
        or _text(body.get("description"))
    )
    return AgentActivity(
        external_id=external_id,
        type=_KINDS[key] if key else "activity",
        content=content,
        created_at=_moment(body.get("createTime")),
        plan_summary=plan,
        failure=failure,
        metadata={"originator": _text(body.get("originator"), 64)},
    )


class Jules(CodingAgent):
    provider = JULES

    def __init__(self, settings: Settings, api_key: str) -> None:
        self.settings = settings
        self.base = settings.jules_base_url.rstrip("/")
        self.api_key = api_key

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-Goog-Api-Key": self.api_key, "User-Agent": USER_AGENT}
        try:
            async with httpx.AsyncClient(timeout=self.settings.jules_timeout_seconds) as http:
                response = await http.request(method, f"{self.base}/{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise AgentProviderError(f"Jules unreachable: {type(exc).__name__}") from None
        if not response.is_success:
            raise AgentProviderError(f"Jules answered {response.status_code}")
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise AgentProviderError("Jules answered something that is not JSON") from None

    async def create_session(
        self, *, title: str, task: str, source_repo: str, starting_branch: str
    ) -> AgentSession:
        body = {
            "prompt": task,
            "title": title,
            "sourceContext": {
                "source": f"sources/github/{source_repo}",
                "githubRepoContext": {"startingBranch": starting_branch},
            },
            "requirePlanApproval": True,
        }
        return parse_session(await self._call("POST", "sessions", json=body))

    async def approve_plan(self, external_id: str) -> None:
        await self._call("POST", f"{session_name(external_id)}:approvePlan", json={})

    async def send_message(self, external_id: str, message: str) -> None:
        await self._call("POST", f"{session_name(external_id)}:sendMessage", json={"prompt": message})

    async def get_session(self, external_id: str) -> AgentSession:
        return parse_session(await self._call("GET", session_name(external_id)))

    async def list_activities(self, external_id: str) -> list[AgentActivity]:
        found: list[AgentActivity] = []
        token: str | None = None
        for _ in range(_MAX_PAGES):
            params = {"pageSize": "100", **({"pageToken": token} if token else {})}
            page = await self._call("GET", f"{session_name(external_id)}/activities", params=params)
            if not isinstance(page, dict) or not isinstance(page.get("activities", []), list):
                raise AgentProviderError("Jules answered an activity list that cannot be read")
            found += [parse_activity(item) for item in page.get("activities", [])]
            token = page.get("nextPageToken") if isinstance(page.get("nextPageToken"), str) else None
            if not token:
                break
        return found
