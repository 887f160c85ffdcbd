"""Chat with a box: a USER message becomes agent tasks, and their results an AGENT reply.

The local planner (the default) understands these commands, several in one message when separated
by "then", ";" or new lines (case does not matter):

- ``open URL`` (also "go to", "navigate to"; a bare host gets https://) → navigate;
- ``click TEXT`` → click the first element showing TEXT (a CSS selector when it starts with # . or [);
- ``type TEXT into FIELD`` → fill FIELD (a CSS selector, or a field's name, id, placeholder or label);
- ``what does the page say about X`` → extract the page's text, answered with the sentences naming X;
  ``what does the page say`` / ``read the page`` → the page's text;
- ``screenshot`` (also "take a screenshot") → a PNG of the page.

The tasks carry the message's id (``MESSAGE_KEY``); when the last of them ends, the reply is written
from their results. A message with no command gets the list above as its reply, at once. With a
Gemini key the model plans instead (``messages``, ``integrations.boxes.planner``); the replies from
results are written here either way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes.models import AgentTask, BoxMessage, BoxMessageRole
from spikeland.db.enums import JobStatus

MESSAGE_KEY = "messageId"
ANSWER_CHARS = 1500
HELP = (
    "I can: open URL · click TEXT · type TEXT into FIELD · what does the page say about X · screenshot "
    '(several at once with "then").'
)
Step = tuple[str, dict[str, Any]]

_OPEN = re.compile(r"^(?:open|go to|navigate to|visit)\s+(\S+)$", re.I)
_CLICK = re.compile(r"^click(?: on)?\s+(.+)$", re.I)
_TYPE = re.compile(r"^type\s+(.+?)\s+(?:into|in)\s+(.+)$", re.I)
_ABOUT = re.compile(r"^what does (?:the|this) page say about\s+(.+?)\??$", re.I)
_READ = re.compile(r"^(?:what does (?:the|this) page say\??|read (?:the|this) page)$", re.I)
_SHOT = re.compile(r"^(?:take an? )?screenshot(?: of the page)?$", re.I)
_SPLIT = re.compile(r"\s*(?:\n|;|\bthen\b)\s*", re.I)
_IDENT = re.compile(r"^[A-Za-z][\w-]*$")


def _unquote(text: str) -> str:
    text = text.strip().rstrip(".")
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _selector_like(text: str) -> bool:
    return text[:1] in "#.["


def _field(name: str) -> str:
    if _selector_like(name):
        return name
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    options = [f'[name="{quoted}"]', f'[placeholder="{quoted}"]', f'[aria-label="{quoted}"]']
    if _IDENT.match(name):
        options.insert(0, f"#{name}")
    return ", ".join(options)


def _step(command: str) -> Step | None:
    if match := _OPEN.match(command):
        url = _unquote(match[1])
        return "navigate", {"url": url if "://" in url else f"https://{url}"}
    if match := _TYPE.match(command):
        return "type", {"selector": _field(_unquote(match[2])), "text": _unquote(match[1])}
    if match := _CLICK.match(command):
        target = _unquote(match[1])
        return "click", {"selector": target} if _selector_like(target) else {"text": target}
    if match := _ABOUT.match(command):
        return "extract", {"selector": "body", "about": _unquote(match[1])}
    if _READ.match(command):
        return "extract", {"selector": "body"}
    if _SHOT.match(command):
        return "screenshot", {}
    return None


def plan(content: str) -> list[Step] | None:
    """The tasks a message asks for, in order; None when a part of it is not understood."""
    steps = []
    for command in _SPLIT.split(content.strip()):
        if not command:
            continue
        step = _step(command.strip())
        if step is None:
            return None
        steps.append(step)
    return steps or None


def _about(text: str, topic: str) -> str:
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    found = [s.strip() for s in sentences if topic.lower() in s.lower() and s.strip()]
    if not found:
        return f"The page says nothing about {topic}."
    return f"About {topic}, the page says: " + " ".join(found)[:ANSWER_CHARS]


def describe(task: AgentTask) -> str:
    """One line of the reply for one finished task."""
    payload, result = task.payload or {}, task.result or {}
    if task.status is not JobStatus.COMPLETED:
        return f"Could not {task.type}: {task.error or 'it failed'}."
    if task.type == "navigate":
        return f"Opened {result.get('title') or result.get('url')} ({result.get('url')})."
    if task.type == "click":
        return f"Clicked {payload.get('text') or payload.get('selector')}; now on {result.get('url')}."
    if task.type == "type":
        return f"Typed {payload.get('text')!r}."
    if task.type == "extract":
        text = str(result.get("text", ""))
        if payload.get("about"):
            return _about(text, str(payload["about"]))
        return f"The page says: {text[:ANSWER_CHARS]}"
    return f"Took a screenshot of {result.get('url')} (task {task.id})."


async def after_task(session: AsyncSession, task: AgentTask) -> None:
    """When a chat message's last task has ended, write the AGENT reply from all of them."""
    message_id = (task.payload or {}).get(MESSAGE_KEY)
    if not message_id:
        return
    tasks = await _tasks_of(session, task.box_id, message_id)
    if any(t.status in (JobStatus.PENDING, JobStatus.PROCESSING) for t in tasks):
        return
    reply = " ".join(describe(t) for t in tasks)
    session.add(BoxMessage(box_id=task.box_id, role=BoxMessageRole.AGENT, content=reply))


async def task_failed(session: AsyncSession, task: AgentTask, reason: str) -> None:
    """The runner gave the task up: the chat still answers."""
    await after_task(session, task)


async def _tasks_of(session: AsyncSession, box_id: str, message_id: str) -> Sequence[AgentTask]:
    statement = (
        select(AgentTask)
        .where(AgentTask.box_id == box_id, AgentTask.payload[MESSAGE_KEY].astext == message_id)
        .order_by(AgentTask.created_at, AgentTask.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()
