"""Mail delivery: Resend's delivery webhooks (``/webhooks/resend``) and the email log for admins
(``/admin/emails``: the log, and a test mail).

Resend signs its webhooks the Svix way (``svix-id``, ``svix-timestamp``, ``svix-signature``); the
``svix`` library checks the signature and the timestamp's age against
``SPIKELAND_RESEND_WEBHOOK_SECRET`` (unset: 503). The body is read bounded. A report moves its mail's
row forward only (``ops.emails.apply_event``), so a repeated delivery changes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from pydantic import EmailStr, Field
from svix.webhooks import Webhook, WebhookVerificationError

from spikeland.core.deps import SettingsDep
from spikeland.core.errors import ServiceUnavailable, SpikelandError
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, MailDep, audited
from spikeland.ops import emails
from spikeland.ops.models import EmailStatus

BODY_CAP = 64 * 1024
router = APIRouter(route_class=Route, tags=["ops"])
admin_router = APIRouter(route_class=Route, prefix="/admin/emails", tags=["admin"])

# Resend's event types → the status they report (None: no move; a complaint is remembered).
EVENTS: dict[str, EmailStatus | None] = {
    "email.sent": EmailStatus.SENT,
    "email.delivered": EmailStatus.DELIVERED,
    "email.delivery_delayed": None,
    "email.opened": EmailStatus.OPENED,
    "email.clicked": EmailStatus.CLICKED,
    "email.bounced": EmailStatus.BOUNCED,
    "email.failed": EmailStatus.FAILED,
    "email.complained": None,
}


class BadWebhook(SpikelandError):
    status_code = 400
    code = "invalid_event"


class Applied(Schema):
    received: bool
    moved: bool


def _when(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)


@router.post(
    "/webhooks/resend",
    response_model=Applied,
    openapi_extra=errors(
        invalid_signature=400, invalid_event=400, payload_too_large=413, service_unavailable=503
    ),
)
async def resend_webhook(request: Request, session: DbSession, settings: SettingsDep) -> Applied:
    """A delivery report from Resend, Svix-signed."""
    if settings.resend_webhook_secret is None:
        raise ServiceUnavailable("Resend webhooks are not configured.", code="service_unavailable")
    body = await request.body()
    try:
        Webhook(settings.resend_webhook_secret.get_secret_value()).verify(body, dict(request.headers))
        event = json.loads(body)
    except WebhookVerificationError:
        raise BadWebhook("The signature does not match.", code="invalid_signature") from None
    except ValueError:
        raise BadWebhook("The body is not JSON.", code="invalid_event") from None
    data = event.get("data") if isinstance(event, dict) else None
    kind = event.get("type") if isinstance(event, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("email_id"), str) or kind not in EVENTS:
        if isinstance(kind, str) and not kind.startswith("email."):
            return Applied(received=True, moved=False)  # another product's event: not ours to read
        raise BadWebhook("Not a Resend email event we can read.", code="invalid_event")
    moved = await emails.apply_event(
        session,
        data["email_id"],
        EVENTS[kind],
        _when(event.get("created_at")),
        complained=kind == "email.complained",
    )
    return Applied(received=True, moved=moved)


class EmailLogOut(Schema):
    id: str
    user_id: str
    to: str
    subject: str
    template: str
    status: str
    resend_id: str | None
    sent_at: datetime
    opened_at: datetime | None
    clicked_at: datetime | None
    bounced_at: datetime | None
    metadata: Any = Field(validation_alias="metadata_")


class EmailPage(Schema):
    items: list[EmailLogOut]
    next_cursor: str | None


@admin_router.get("", response_model=EmailPage)
async def list_emails(
    actor: AdminUser,
    session: DbSession,
    status_filter: Annotated[EmailStatus | None, Query(alias="status")] = None,
    template: Annotated[str | None, Query(max_length=100)] = None,
    to: Annotated[str | None, Query(max_length=254)] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=64)] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> EmailPage:
    """Every mail sent, newest first, by status, template, address and user."""
    page = await emails.list_emails(
        session, status=status_filter, template=template, to=to, user_id=user_id, cursor=cursor, limit=limit
    )
    return EmailPage(items=[EmailLogOut.model_validate(r) for r in page.items], next_cursor=page.next_cursor)


class TestMail(RequestSchema):
    to: EmailStr = Field(max_length=254)


@admin_router.post("/test", status_code=status.HTTP_202_ACCEPTED, dependencies=[audited("EMAIL_TEST")])
async def send_test(body: TestMail, actor: AdminUser, mail: MailDep) -> dict[str, str]:
    """Send a test mail (logged under the admin, template TEST); its row shows how it went."""
    mail.after_commit(emails.admin_test_mail(actor.id, str(body.to)))
    return {"queued": str(body.to)}
