"""Every admin route that changes something writes an audit entry: enumerated from the app's routes
(a route added later without one fails here), and a few checked end to end in the trail."""

from __future__ import annotations

import secrets

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.ops.models import ErrorEnvironment, ErrorLog
from tests.support.fixtures import UserClient

# Routes whose service writes a richer entry itself (with a spec AuditAction label).
AUDITED_BY_THEIR_SERVICE = {
    "spikeland.identity.admin_api.change_role": "ROLE_CHANGE",
    "spikeland.identity.admin_api.delete_user": "USER_DELETE",
    "spikeland.tokens.admin_api.adjust": "TOKEN_ADJUSTMENT",
    "spikeland.growth.admin_api.create_voucher": "VOUCHER_CREATE",
    "spikeland.growth.admin_api.update_voucher": "VOUCHER_UPDATE",
    "spikeland.growth.admin_api.delete_voucher": "VOUCHER_DELETE",
}
# GET routes that change something (an OAuth callback stores the accounts it connects).
CHANGING_GETS = {"spikeland.analytics.marketing_api.callback"}


def _admin_changes(app: FastAPI) -> dict[str, tuple[str, APIRoute]]:
    found = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = getattr(context, "path_format", None) or getattr(route, "path", "")
        if not isinstance(route, APIRoute) or not path.startswith("/api/v1/admin"):
            continue
        name = f"{route.endpoint.__module__}.{route.endpoint.__qualname__}"
        if route.methods - {"GET", "HEAD"} or name in CHANGING_GETS:
            found[f"{sorted(route.methods)} {path}"] = (name, route)
    return found


def _audit_action(route: APIRoute) -> str | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        action = getattr(dependency.call, "audit_action", None)
        if action is not None:
            return str(action)
        pending += dependency.dependencies
    return None


def test_every_admin_change_is_audited(app: FastAPI) -> None:
    changes = _admin_changes(app)
    assert len(changes) >= 37
    missing = [
        key
        for key, (name, route) in changes.items()
        if _audit_action(route) is None and name not in AUDITED_BY_THEIR_SERVICE
    ]
    assert not missing, f"admin routes that change something without an audit entry: {missing}"
    names = {name for name, _ in changes.values()}
    assert set(AUDITED_BY_THEIR_SERVICE) <= names  # the exceptions are still routes


async def test_the_trail_shows_them(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(role=UserRole.ADMIN)
    path = f"/audited/{secrets.token_hex(4)}"
    made = await admin.post("/api/v1/admin/tracked-urls", json={"path": path})
    assert made.status_code == 201
    url_id = made.json()["id"]
    assert (
        await admin.patch(f"/api/v1/admin/tracked-urls/{url_id}", json={"isActive": False})
    ).status_code == 200
    marker = "audited-" + secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:
        session.add(ErrorLog(message=marker, environment=ErrorEnvironment.FRONTEND))
    deleted = await admin.delete("/api/v1/admin/errors", params={"q": marker})
    assert deleted.json() == {"deleted": 1}
    refused = await admin.patch("/api/v1/admin/feedback/none-such", json={"status": "REVIEWED"})
    assert refused.status_code == 404  # a failed action records nothing

    trail = (await admin.get("/api/v1/admin/audit-logs", params={"actorId": admin_id})).json()["items"]
    assert [e["action"] for e in trail] == ["ERROR_LOG_DELETE", "TRACKED_URL_UPDATE", "TRACKED_URL_CREATE"]
    assert trail[1]["targetId"] == url_id
    assert trail[1]["metadata"] == {"method": "PATCH", "route": "/api/v1/admin/tracked-urls/{url_id}"}
    assert trail[0]["metadata"]["query"] == {"q": marker} and trail[0]["ipAddress"]
    only = await admin.get(
        "/api/v1/admin/audit-logs", params={"actorId": admin_id, "action": "TRACKED_URL_CREATE"}
    )
    assert [e["action"] for e in only.json()["items"]] == ["TRACKED_URL_CREATE"]
    page = (await admin.get("/api/v1/admin/audit-logs", params={"actorId": admin_id, "limit": 2})).json()
    following = await admin.get(
        "/api/v1/admin/audit-logs", params={"actorId": admin_id, "limit": 2, "cursor": page["nextCursor"]}
    )
    assert [e["action"] for e in page["items"] + following.json()["items"]] == [e["action"] for e in trail]
