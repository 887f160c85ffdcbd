"""The email log: every mail sent, by status, template and recipient (keyset pages; the filters of
the admin API's list), one mail's row with its provider facts, and a test mail (logged under the
admin, template TEST) sent after the commit, as the admin API does — audited EMAIL_TEST."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.console.forms import schema_of
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    done,
    page_url,
    render,
)
from spikeland.core.errors import NotFound
from spikeland.db.session import DbSession
from spikeland.identity.deps import MailDep
from spikeland.identity.models import User
from spikeland.ops import emails
from spikeland.ops.models import EmailLog, EmailStatus
from spikeland.ops_api.emails_api import TestMail

router = APIRouter(prefix="/admin/emails", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(s.value, s.value) for s in EmailStatus]


@router.get("", response_class=HTMLResponse)
async def email_log(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    template: str | None = None,
    to: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page = await emails.list_emails(
        session,
        status=choice(EmailStatus, status),
        template=(template or "").strip()[:100] or None,
        to=(to or "").strip()[:254] or None,
        user_id=None,
        cursor=cursor,
        limit=50,
    )
    return render(
        request,
        "emails.html",
        mails=page.items,
        values={"status": status, "template": template, "to": to},
        statuses=STATUSES,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{email_id}", response_class=HTMLResponse)
async def email(request: Request, email_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    row = await session.get(EmailLog, email_id)
    if row is None:
        raise NotFound("No such email.")
    user = await session.get(User, row.user_id)
    metadata = json.dumps(row.metadata_, indent=2, sort_keys=True) if row.metadata_ else None
    return render(request, "email.html", mail=row, user=user, metadata=metadata)


@router.post("/test")
async def send_test(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    mail: MailDep,
    to: Annotated[str, Form(max_length=254)],
) -> RedirectResponse:
    address = str(schema_of(TestMail, to=to.strip()).to)
    mail.after_commit(emails.admin_test_mail(admin.user.id, address))
    await audited(session, request, admin, "EMAIL_TEST", None, to=address)
    shown = urlencode({"template": "TEST", "to": address})
    return done(f"/admin/emails?{shown}", f"A test mail to {address} is on its way.")
