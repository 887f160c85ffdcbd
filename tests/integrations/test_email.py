import email.policy
import socket
import stat
from email.parser import BytesParser
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.integrations.email import EmailMessage, EmailSendError, make_email_sender
from spikeland.integrations.email.local import LocalEmailSender
from spikeland.integrations.email.resend import ResendEmailSender
from spikeland.ops.emails import OutgoingEmail, send_and_record
from spikeland.ops.models import EmailStatus
from spikeland.settings import Settings
from tests.integrations.resend_peer import resend_peer
from tests.support import make_user

MESSAGE = EmailMessage(
    to="someone@example.com",
    subject="Hello there",
    text="Open https://example.com/x?token=abc to go on.",
    html="<p>Open <a href='https://example.com/x?token=abc'>this</a>.</p>",
    template="TEST",
    metadata={"purpose": "test"},
)


def _sender(url: str, attempts: int = 3, backoff: float = 0.0) -> ResendEmailSender:
    return ResendEmailSender(
        api_key="re_test_key",
        api_url=url,
        sender="Spike <no-reply@spike.land>",
        attempts=attempts,
        backoff=backoff,
    )


async def test_local_sender_writes_a_readable_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    sent = await LocalEmailSender(outbox, sender="Spike <no-reply@spike.land>").send(MESSAGE)

    files = list(outbox.iterdir())
    assert [f.name for f in files] == [f"{sent.provider_id}.eml"]  # no partial file left behind
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    with files[0].open("rb") as handle:
        mail = BytesParser(policy=email.policy.default).parse(handle)
    assert mail["To"] == "someone@example.com" and mail["Subject"] == "Hello there"
    assert mail["From"] == "Spike <no-reply@spike.land>" and mail["X-Spikeland-Template"] == "TEST"
    plain, rich = mail.get_body(preferencelist=("plain",)), mail.get_body(preferencelist=("html",))
    assert plain is not None and rich is not None
    assert "token=abc" in plain.get_content() and "<a href" in rich.get_content()


async def test_factory_picks_local_by_default_and_resend_with_a_key(settings: Settings) -> None:
    assert make_email_sender(settings).name == "local"
    configured = settings.model_copy(update={"resend_api_key": SecretStr("re_x")})
    assert make_email_sender(configured).name == "resend"


async def test_resend_request_shape() -> None:
    with resend_peer() as peer:
        peer.answers.append((200, {"id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}))
        sent = await _sender(peer.url + "/").send(MESSAGE)

    assert sent.provider_id == "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"
    [request] = peer.received
    assert request.path == "/emails"
    assert request.headers["authorization"] == "Bearer re_test_key"
    assert request.headers["content-type"] == "application/json"
    assert len(request.headers["idempotency-key"]) >= 16
    assert request.body == {
        "from": "Spike <no-reply@spike.land>",
        "to": ["someone@example.com"],
        "subject": "Hello there",
        "text": MESSAGE.text,
        "html": MESSAGE.html,
        "tags": [{"name": "template", "value": "TEST"}],
    }


async def test_resend_error_answer_is_not_retried() -> None:
    refusal = {"statusCode": 422, "name": "validation_error", "message": "Invalid `to` field."}
    with resend_peer() as peer:
        peer.answers.append((422, refusal))
        with pytest.raises(EmailSendError, match=r"422: Invalid `to` field\."):
            await _sender(peer.url).send(MESSAGE)
    assert len(peer.received) == 1


async def test_resend_server_error_is_retried_with_the_same_idempotency_key() -> None:
    with resend_peer() as peer:
        peer.answers.append(
            (500, {"statusCode": 500, "message": "internal", "name": "internal_server_error"})
        )
        sent = await _sender(peer.url).send(MESSAGE)
    first, second = peer.received
    assert sent.provider_id.startswith("re_")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


async def test_resend_unreachable_fails_after_its_attempts() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EmailSendError, match="unreachable"):
        await _sender(f"http://127.0.0.1:{port}", attempts=2).send(MESSAGE)


async def test_send_and_record_writes_sent_and_failed_rows(session: AsyncSession, tmp_path: Path) -> None:
    user = await make_user(session)
    local = await send_and_record(
        session, LocalEmailSender(tmp_path, "x@spike.land"), OutgoingEmail(user.id, MESSAGE)
    )
    assert local.status == EmailStatus.SENT and local.resend_id is None
    assert local.metadata_["provider"] == "local" and local.metadata_["purpose"] == "test"
    assert (tmp_path / f"{local.metadata_['providerId']}.eml").exists()

    with resend_peer() as peer:
        peer.answers.append((200, {"id": "re_recorded_1"}))
        peer.answers.append((403, {"statusCode": 403, "message": "API key is invalid", "name": "x"}))
        sent = await send_and_record(session, _sender(peer.url), OutgoingEmail(user.id, MESSAGE))
        failed = await send_and_record(session, _sender(peer.url), OutgoingEmail(user.id, MESSAGE))
    assert sent.status == EmailStatus.SENT and sent.resend_id == "re_recorded_1"
    assert failed.status == EmailStatus.FAILED and failed.resend_id is None
    assert "API key is invalid" in failed.metadata_["error"]
    assert (failed.user_id, failed.to, failed.subject, failed.template) == (
        user.id,
        "someone@example.com",
        "Hello there",
        "TEST",
    )
