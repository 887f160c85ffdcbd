"""Self-service data rights: export every row a user owns, and delete the account.

What "the user's rows" are is computed from the SQLAlchemy metadata, not listed by hand, so a
table added later is exported without anyone remembering to: the user's own ``users`` row, every
row of a table with a foreign key to ``users.id`` pointing at them, and every row that hangs off
those through an ``ON DELETE CASCADE`` foreign key (the rows that would be deleted with them:
album images via albums, order items via orders, page views via visitor sessions...). Weaker
links (``SET NULL`` from someone else's row to one of ours, e.g. another user's album using a
public pipeline) are not followed: those rows belong to someone else.

Secrets leave through no door: columns in ``SECRET_COLUMNS`` are never selected and tables in
``SECRET_TABLES`` never read. Tests check that every secret-looking column of an exported table is
classified here, and that the plan covers every foreign-key chain to ``users`` in the live schema.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, ColumnElement, MetaData, Table, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, Forbidden
from spikeland.core.ratelimit import RateLimiter
from spikeland.core.security import verify_password
from spikeland.db.registry import metadata as default_metadata
from spikeland.identity import hooks, key_cache
from spikeland.identity.admin import lock_super_admins
from spikeland.identity.models import User, UserRole
from spikeland.settings import Settings

EXPORT_FORMAT = "spikeland-export/1"
USERS = "users"
# users.referredById points from the people this user referred to them: other people's rows,
# of which only the ids are exported.
REFERRED_BY = ("users", "referredById")

# Never exported. Values are digests or ciphertexts of credentials; a copy is useless to the user
# and dangerous in a downloaded file.
SECRET_COLUMNS: dict[str, frozenset[str]] = {
    "users": frozenset({"passwordHash"}),
    "sessions": frozenset({"sessionToken"}),
    "api_keys": frozenset({"keyHash"}),
    "accounts": frozenset({"access_token", "refresh_token", "id_token", "session_state"}),
    "marketing_accounts": frozenset({"accessToken", "refreshToken"}),
    "boxes": frozenset({"tokenHash"}),  # the digest of the box's agent token
}
# Tables read by no export: nothing in them is the user's data except one-time credentials.
SECRET_TABLES = frozenset({"verification_tokens"})
# Columns whose name looks like a secret but that the user may see (they see them in the product).
DISCLOSED_COLUMNS: dict[str, frozenset[str]] = {
    "accounts": frozenset({"token_type"}),  # "bearer"
    "api_keys": frozenset({"keyPrefix"}),  # shown in the key list
    "albums": frozenset({"shareToken"}),  # the user's own share links
    "enhanced_images": frozenset({"shareToken", "originalR2Key"}),  # storage keys: names, not secrets
    "enhancement_pipelines": frozenset({"shareToken"}),
    "audio_tracks": frozenset({"fileR2Key"}),
    "audio_mixdowns": frozenset({"wavR2Key", "mp3R2Key"}),
    "image_enhancement_jobs": frozenset({"enhancedR2Key"}),
    "mcp_generation_jobs": frozenset({"apiKeyId", "inputImageR2Key", "outputImageR2Key"}),
    "merch_cart_items": frozenset({"uploadedImageR2Key"}),
    "merch_order_items": frozenset({"imageR2Key"}),
}
# A user's id held without a foreign key (the specification gives these columns none).
SOFT_USER_REFERENCES = frozenset({("error_logs", "userId")})

_SECRET_WORDS = frozenset({"token", "secret", "hash", "password", "credential", "signature", "key", "salt"})


def looks_secret(column_name: str) -> bool:
    """Whether a column name has a word like token/secret/hash/key (camelCase or snake_case)."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"([A-Z])", r"_\1", column_name).lower())
    return any(word in _SECRET_WORDS for word in words)


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Link:
    """Rows of ``table`` whose ``column`` matches ``target`` of the selected rows of ``parent``."""

    table: str
    column: str
    parent: str
    target: str


@dataclass(frozen=True)
class ExportPlan:
    links: dict[str, tuple[Link, ...]]  # table -> how its rows are reached (users: none, the root)

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.links)


def build_plan(meta: MetaData = default_metadata) -> ExportPlan:
    """Tables holding a user's rows and how each is reached from ``users``."""
    links: dict[str, list[Link]] = {USERS: []}
    for table_name, column in SOFT_USER_REFERENCES:
        links.setdefault(table_name, []).append(Link(table_name, column, USERS, "id"))
    frontier = [USERS]
    while frontier:
        parent = frontier.pop()
        for table in meta.sorted_tables:
            if table.name in SECRET_TABLES:
                continue
            for fk in table.foreign_keys:
                if fk.column.table.name != parent or (table.name, fk.parent.name) == REFERRED_BY:
                    continue
                direct = parent == USERS
                if not direct and (fk.ondelete or "").upper() != "CASCADE":
                    continue  # someone else's row pointing at ours (see the module docstring)
                link = Link(table.name, fk.parent.name, parent, fk.column.name)
                known = links.setdefault(table.name, [])
                if link not in known:
                    known.append(link)
                    frontier.append(table.name)
    return ExportPlan({name: tuple(found) for name, found in links.items()})


def _selection(
    meta: MetaData, plan: ExportPlan, table_name: str, user_id: str, path: tuple[str, ...] = ()
) -> ColumnElement[bool]:
    """The WHERE clause picking the user's rows of ``table_name`` (one subquery per hop)."""
    table = meta.tables[table_name]
    if table_name == USERS:
        return table.c.id == user_id
    clauses: list[ColumnElement[bool]] = []
    for link in plan.links[table_name]:
        if link.parent == table_name or link.parent in path:  # a cycle: that route adds nothing new
            continue
        column = table.c[link.column]
        if link.parent == USERS:
            clauses.append(column == user_id)
            continue
        parent = meta.tables[link.parent]
        parent_rows = select(parent.c[link.target]).where(
            _selection(meta, plan, link.parent, user_id, (*path, table_name))
        )
        clauses.append(column.in_(parent_rows))
    return or_(*clauses) if clauses else false()


def _exported_columns(table: Table) -> list[Column[Any]]:
    hidden = SECRET_COLUMNS.get(table.name, frozenset())
    return [column for column in table.columns if column.name not in hidden]


def to_json(value: Any) -> Any:
    """A database value as JSON: ISO 8601 UTC datetimes, Decimal as a string, enums as labels."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _rows(columns: Iterable[Column[Any]], rows: Iterable[Any]) -> Iterator[dict[str, Any]]:
    names = [column.name for column in columns]
    for row in rows:
        yield {name: to_json(value) for name, value in zip(names, row, strict=True)}


async def export_user_data(
    session: AsyncSession, user_id: str, meta: MetaData = default_metadata
) -> dict[str, Any]:
    """Everything stored about ``user_id``: ``{"tables": {table: [row, ...]}, ...}``, secrets left out.

    Every table of the plan appears, empty or not, so the reader sees what was looked at.
    """
    plan = build_plan(meta)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(plan.tables):
        table = meta.tables[name]
        columns = _exported_columns(table)
        order = list(table.primary_key.columns) or columns[:1]
        statement = select(*columns).where(_selection(meta, plan, name, user_id)).order_by(*order)
        tables[name] = list(_rows(columns, await session.execute(statement)))
    users = meta.tables[USERS]
    referred = await session.execute(
        select(users.c.id).where(users.c[REFERRED_BY[1]] == user_id).order_by(users.c.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "exportedAt": to_json(utcnow()),
        "userId": user_id,
        "tables": tables,
        "referredUsers": [{"id": referred_id} for referred_id in referred.scalars()],
    }


# ----------------------------------------------------------------------------- account deletion


class InvalidPassword(Forbidden):
    code = "invalid_password"


class PasswordRequired(Conflict):
    code = "password_required"


class DeletionBlocked(Conflict):
    code = "account_deletion_blocked"


def restricting_keys(meta: MetaData = default_metadata) -> list[tuple[str, str]]:
    """(table, column) of the foreign keys to ``users`` that refuse to let a referenced user go."""
    found = []
    for table in meta.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == USERS and (fk.ondelete or "NO ACTION").upper() in (
                "RESTRICT",
                "NO ACTION",
            ):
                found.append((table.name, fk.parent.name))
    return found


async def _blockers(session: AsyncSession, user_id: str, meta: MetaData) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table_name, column in restricting_keys(meta):
        table = meta.tables[table_name]
        count = await session.scalar(
            select(func.count()).select_from(table).where(table.c[column] == user_id)
        )
        if count:
            counts[table_name] = counts.get(table_name, 0) + int(count)
    return counts


async def _confirm_password(
    settings: Settings, limiter: RateLimiter, user: User, password: str | None
) -> None:
    if user.password_hash is None:
        raise PasswordRequired(
            "This account has no password. Set one with 'forgot password' (a reset link by email), "
            "then confirm the deletion with it."
        )
    key, window = f"confirm-password:{user.id}", settings.login_window_seconds
    # Counted before the comparison, so guesses sent together cannot all slip past the limit.
    limiter.reserve(
        [(key, settings.login_attempts_per_email)], window, "Too many wrong passwords. Try again later."
    )
    if password is None or not await verify_password(password, user.password_hash, settings.bcrypt_cost):
        raise InvalidPassword("The password is not correct.")
    limiter.reset(key)


async def delete_account(
    session: AsyncSession,
    settings: Settings,
    limiter: RateLimiter,
    user: User,
    password: str | None,
    meta: MetaData = default_metadata,
) -> list[str]:
    """Delete ``user`` and, by the schema's cascades, everything they own — or nothing. Returns
    the storage keys of their files (``hooks.on_user_delete``), to remove once this has committed.

    The password confirms it is the owner at the keyboard (a stolen session alone is not
    enough). Rows the schema keeps (merch orders, featured gallery items: ON DELETE RESTRICT)
    block the deletion with a 409 naming them; the delete runs in a savepoint, so a blocker
    that appears concurrently also leaves everything in place.
    """
    await _confirm_password(settings, limiter, user, password)
    if user.role == UserRole.SUPER_ADMIN and await lock_super_admins(session) == {user.id}:
        raise Conflict(
            "You are the last super admin; make another one before closing this account.",
            code="last_super_admin",
        )
    users = meta.tables[USERS]
    # Locked until the end: nothing can be added for the user (an insert referring to them must
    # share-lock this row), so the keys the hooks read are all there will be.
    await session.execute(select(users.c.id).where(users.c.id == user.id).with_for_update())
    blockers = await _blockers(session, user.id, meta)
    if blockers:
        raise DeletionBlocked(
            "The account holds records that must be kept (e.g. orders); contact support to close it.",
            details={"blockedBy": blockers},
        )
    files = await hooks.run_user_delete_hooks(session, user.id)
    try:
        async with session.begin_nested():
            await session.execute(delete(users).where(users.c.id == user.id))
    except IntegrityError:
        raise DeletionBlocked(
            "The account holds records that must be kept; contact support to close it.",
            details={"blockedBy": await _blockers(session, user.id, meta)},
        ) from None
    if user in session:
        session.expunge(user)  # gone from the database; the unit of work must not flush it
    key_cache.forget_user_keys(user.id)  # its keys went by cascade (see identity.key_cache)
    return files
