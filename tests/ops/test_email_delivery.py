"""Mail delivery end to end: a row PENDING then SENT for every mail; Resend's Svix-signed delivery
reports move it forward only (a repeat or a late report changes nothing); a bounced address gets no
marketing mail; admins list the log and send a test mail."""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from svix.webhooks import Webhook

from spikeland.app import create_app
from spikeland.identity.models import UserRole
from spikeland.integrations.email import EmailMessage
from spikeland.integrations.email.resend import ResendEmailSender
from spikeland.ops.emails import OutgoingEmail, deliver
from spikeland.ops.models import EmailLog, EmailStatus
from spikeland.settings import Settings
from tests.integrations.resend_peer import ResendPeer, resend_peer
from tests.support.auth import sign_in
from tests.support.clients import http_client

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()
HOOK = "/api/v1/webhooks/resend"


@pytest.fixture(scope="module")
def peer() -> Iterator[ResendPeer]:
    with resend_peer() as running:
        yield running


@pytest.fixture
async def mail_app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings.model_copy(update={"resend_webhook_secret": SecretStr(SECRET)}), database_url=database_url
    )
    async with app.router.lifespan_context(app):
        yield app


def _signed(event: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    body = json.dumps(event)
    msg_id, now = "msg_" + secrets.token_hex(8), datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, now, body)
    headers = {"svix-id": msg_id, "svix-timestamp": str(int(now.timestamp())), "svix-signature": signature}
    return {"content": body, "headers": headers | {"content-type": "application/json"}}


def _event(kind: str, email_id: str, at: str = "2026-12-04T10:00:00.000Z") -> dict[str, Any]:
    return {"type": kind, "created_at": at, "data": {"email_id": email_id, "to": ["x@example.com"]}}


async def _row(app: FastAPI, **where: Any) -> EmailLog:
    async with app.state.sessionmaker() as session:
        return (await session.scalars(select(EmailLog).filter_by(**where))).one()


async def test_reports_move_a_mail_forward_only(mail_app: FastAPI, peer: ResendPeer) -> None:
    async with http_client(mail_app) as client:
        user = await sign_in(client, bare=True)
        sender = ResendEmailSender(
            api_key="re_test", api_url=peer.url, sender="Spike Land <noreply@spike.land>"
        )
        address = f"reader-{secrets.token_hex(4)}@example.com"
        message = EmailMessage(to=address, subject="Hello", text="Hi", template="WELCOME")
        await deliver(mail_app.state.sessionmaker, sender, OutgoingEmail(user.id, message))
        row = await _row(mail_app, to=address)
        assert row.status == EmailStatus.SENT and row.resend_id and row.metadata_["provider"] == "resend"

        async def report(kind: str, at: str = "2026-12-04T10:00:00.000Z") -> httpx.Response:
            return await client.post(HOOK, **_signed(_event(kind, row.resend_id or "", at)))

        assert (await report("email.delivered")).json() == {"received": True, "moved": True}
        assert (await report("email.opened", "2026-12-04T10:05:00.000Z")).json()["moved"] is True
        assert (await report("email.opened", "2026-12-04T11:00:00.000Z")).json()["moved"] is False  # a repeat
        assert (await report("email.delivered")).json()["moved"] is False  # late: already further on
        assert (await report("email.bounced")).json()["moved"] is False  # an opened mail did not bounce
        assert (await report("email.clicked")).json()["moved"] is True
        final = await _row(mail_app, to=address)
        assert final.status == EmailStatus.CLICKED
        assert final.opened_at == datetime(2026, 12, 4, 10, 5, tzinfo=UTC) and final.clicked_at is not None

        # Refused: a bad signature, another secret, an event we cannot read — nothing moves.
        forged = _signed(_event("email.bounced", row.resend_id or ""))
        forged["headers"]["svix-signature"] = "v1,AAAA"
        assert (await client.post(HOOK, **forged)).status_code == 400
        other = _signed(
            _event("email.bounced", row.resend_id or ""), "whsec_" + base64.b64encode(b"x" * 24).decode()
        )
        assert (await client.post(HOOK, **other)).status_code == 400
        assert (
            await client.post(HOOK, **_signed({"type": "email.delivered", "data": {}}))
        ).status_code == 400
        assert (await _row(mail_app, to=address)).status == EmailStatus.CLICKED


async def test_a_bounced_address_gets_no_marketing(mail_app: FastAPI, peer: ResendPeer) -> None:
    async with http_client(mail_app) as client:
        user = await sign_in(client, bare=True)
        sender = ResendEmailSender(api_key="re_test", api_url=peer.url, sender="noreply@spike.land")
        address = f"gone-{secrets.token_hex(4)}@example.com"
        sessions = mail_app.state.sessionmaker

        def message(template: str, marketing: bool) -> OutgoingEmail:
            return OutgoingEmail(user.id, EmailMessage(address, "Hi", "Hi", template, marketing=marketing))

        await deliver(sessions, sender, message("NEWSLETTER", True))
        first = await _row(mail_app := mail_app, template="NEWSLETTER", to=address)
        assert (await client.post(HOOK, **_signed(_event("email.bounced", first.resend_id or "")))).json()[
            "moved"
        ]
        sent_before = len(peer.received)
        await deliver(sessions, sender, message("NEWSLETTER_2", True))
        await deliver(sessions, sender, message("RECEIPT", False))
        assert len(peer.received) == sent_before + 1  # only the receipt went out
        suppressed = await _row(mail_app, template="NEWSLETTER_2", to=address)
        assert suppressed.status == EmailStatus.FAILED and "suppressed" in suppressed.metadata_
        assert (await _row(mail_app, template="RECEIPT", to=address)).status == EmailStatus.SENT


async def test_admins_read_the_log_and_send_a_test(mail_app: FastAPI, settings: Settings) -> None:
    async with http_client(mail_app) as admin:
        me = await sign_in(admin, bare=True, role=UserRole.ADMIN)
        address = f"test-{secrets.token_hex(4)}@example.com"
        queued = await admin.post("/api/v1/admin/emails/test", json={"to": address})
        assert queued.status_code == 202, queued.text
        listed = (await admin.get("/api/v1/admin/emails", params={"to": address, "status": "SENT"})).json()
        assert [(e["template"], e["userId"]) for e in listed["items"]] == [("TEST", me.id)]
        assert (await admin.post("/api/v1/admin/emails/test", json={"to": "nope"})).status_code == 422
    async with http_client(mail_app) as member:
        await sign_in(member, bare=True)
        assert (await member.get("/api/v1/admin/emails")).status_code == 403


async def test_webhooks_without_a_secret_are_refused(client: httpx.AsyncClient) -> None:
    answer = await client.post(HOOK, **_signed(_event("email.delivered", "re_x")))
    assert answer.status_code == 503
