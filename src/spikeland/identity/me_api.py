"""Self-service data rights: download everything, delete the account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Response, status
from pydantic import Field

from spikeland.core.deps import Limiter, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity import data_rights
from spikeland.identity.deps import CurrentCaller, CurrentUser, clear_session_cookie
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import remove_objects

router = APIRouter(route_class=Route, tags=["me"])


class DataExport(Schema):
    """All of the user's rows by table name (column names as stored), secrets left out."""

    format: str
    exported_at: str
    user_id: str
    tables: dict[str, list[dict[str, Any]]]
    referred_users: list[dict[str, str]]


class DeleteAccountRequest(RequestSchema):
    # Optional on the wire so an account without a password gets the explanatory 409, not a 422.
    password: Annotated[str, Field(min_length=1, max_length=256)] | None = None


@router.get("/me/export", response_model=DataExport)
async def export_me(caller: CurrentCaller, response: Response, session: DbSession) -> DataExport:
    data = await data_rights.export_user_data(session, caller.user_id)
    # A download name makes browsers save the file rather than show it.
    response.headers["Content-Disposition"] = f'attachment; filename="spikeland-export-{caller.user_id}.json"'
    response.headers["Cache-Control"] = "no-store"  # personal data: no shared or browser cache
    return DataExport.model_validate(data)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    # 429: too many wrong passwords (the Limiter).
    openapi_extra=errors(
        invalid_password=403, password_required=409, account_deletion_blocked=409, last_super_admin=409
    ),
)
async def delete_me(
    body: Annotated[DeleteAccountRequest, Body()],
    user: CurrentUser,
    response: Response,
    session: DbSession,
    settings: SettingsDep,
    limiter: Limiter,
    storage: StorageDep,
    background: BackgroundTasks,
) -> None:
    """Delete the account and everything it owns, confirmed by the account's password.

    An account that signed up through GitHub/Google has no password: it gets 409
    ``password_required`` and sets one through the password-reset email first, so deletion
    always needs something a stolen session cookie does not carry. The account's stored files
    are removed after the response, so only once the deletion has committed.
    """
    files = await data_rights.delete_account(session, settings, limiter, user, body.password)
    background.add_task(remove_objects, storage, files)
    clear_session_cookie(response, settings)
