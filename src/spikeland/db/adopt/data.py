"""The original platform's data, brought to Spikeland's rules at adoption (inside its transaction).

* Emails: the original stored OAuth and admin-set addresses as given (``Carol.Smith@Example.com``);
  Spikeland stores and looks them up normalised (trimmed, lower case), so they are normalised here.
  Two accounts whose addresses differ only by case are one person or two, which only an operator
  can tell: adoption refuses and names them rather than merging or renaming anyone.
* Ledger: the original created each balance at 10 tokens without a transaction and chained later
  rows from there. One opening row per such user (dated before their first row) makes the ledger
  explain the balance, so ``tokens verify`` reports only real inconsistencies.
* Passwords: the original's hashes are bcryptjs's, which hashed the first 72 bytes of a longer
  password. They are marked ``$2a$`` (what bcryptjs wrote before 3.0, and what Python's bcrypt
  never writes: its ``$2b$`` computes the same for the at most 72 bytes it is given) so sign-in
  can tell them from ours and compare a long password by its first 72 bytes, as they were made.
* Albums: the original made two default albums (PRIVATE, PUBLIC), Spikeland three; the UNLISTED
  one is added.

Raw SQL on purpose: adoption works on the physical schema below the domains, and must not depend
on their code (which may expect what adoption is still putting in place).
"""

from __future__ import annotations

import json
import secrets
from collections import defaultdict

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spikeland.core.security import LEGACY_PREFIX
from spikeland.db.cuid import cuid

#: the original's balance at creation (its FREE tier capacity), written without a ledger row
ORIGINAL_INITIAL_BALANCE = 10
#: the original's system user for anonymous enhancements: an account of nobody's, without albums
ANONYMOUS_USER_ID = "anonymous-system-user"
#: gallery's third default album, as ``gallery.service.DEFAULT_ALBUMS`` names it
UNLISTED_ALBUM = ("Unlisted Gallery", "Shared with whoever has the link")
SHARE_TOKEN_BYTES = 12  # as the gallery draws album share tokens


def normalise_email(email: str) -> str:
    """As identity normalises an address it is given (``identity.schemas``)."""
    return email.strip().lower()


def email_collisions(conn: Connection) -> list[str]:
    """One line per address that several accounts share once normalised, naming each account."""
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = conn.execute(text('SELECT id, email FROM users WHERE email IS NOT NULL ORDER BY "createdAt", id'))
    for user_id, email in rows:
        groups[normalise_email(email)].append((user_id, email))
    return [
        f"users: {len(accounts)} accounts share the address {address} but for case or spaces: "
        + ", ".join(f"{email!r} (id {user_id})" for user_id, email in accounts)
        + "; merge or change them, then adopt again"
        for address, accounts in sorted(groups.items())
        if len(accounts) > 1
    ]


def normalise_emails(conn: Connection) -> list[str]:
    """Store every address normalised; call only when :func:`email_collisions` found none."""
    changed = [
        (user_id, normalise_email(email))
        for user_id, email in conn.execute(text("SELECT id, email FROM users WHERE email IS NOT NULL"))
        if email != normalise_email(email)
    ]
    if changed:
        conn.execute(
            text(
                "UPDATE users u SET email = v.email "
                "FROM unnest(CAST(:ids AS text[]), CAST(:emails AS text[])) AS v(id, email) WHERE u.id = v.id"
            ),
            {"ids": [user_id for user_id, _ in changed], "emails": [email for _, email in changed]},
        )
    return [f"{len(changed)} email addresses stored in lower case"] if changed else []


def mark_legacy_password_hashes(conn: Connection) -> list[str]:
    """Mark the original's ``$2b$`` hashes as legacy (see above): the same hash, another prefix."""
    marked = conn.execute(
        text(
            'UPDATE users SET "passwordHash" = :legacy || substr("passwordHash", 5) '
            "WHERE \"passwordHash\" LIKE '$2b$%'"
        ),
        {"legacy": LEGACY_PREFIX},
    ).rowcount
    total = conn.execute(text('SELECT count(*) FROM users WHERE "passwordHash" IS NOT NULL')).scalar_one()
    if not total:
        return []
    return [
        f"{total} password hashes kept as the original's (bcryptjs; {marked} $2b$ marked {LEGACY_PREFIX})"
    ]


# Per balance: what the user's first transaction chains from (the balance itself when there is
# none) and when an opening row can go, just before that first row.
_OPENINGS = """
WITH first AS (
    SELECT DISTINCT ON ("userId") "userId", "balanceAfter" - amount AS opening, "createdAt"
    FROM token_transactions ORDER BY "userId", "createdAt", id
)
SELECT b."userId" AS user_id, coalesce(f.opening, b.balance) AS opening,
       CASE WHEN f."userId" IS NULL THEN b."createdAt"
            ELSE least(b."createdAt", f."createdAt" - interval '1 millisecond') END AS at
FROM user_token_balances b LEFT JOIN first f ON f."userId" = b."userId"
"""

_INSERT_OPENINGS = f"""
WITH openings AS ({_OPENINGS})
INSERT INTO token_transactions
    (id, "userId", amount, type, source, "sourceId", "balanceAfter", metadata, "createdAt")
SELECT v.id, o.user_id, o.opening, 'EARN_BONUS', 'initial_balance', NULL, o.opening,
       CAST(:metadata AS jsonb), o.at
FROM unnest(CAST(:ids AS text[]), CAST(:users AS text[])) AS v(id, user_id)
JOIN openings o ON o.user_id = v.user_id
"""


def write_opening_balances(conn: Connection) -> list[str]:
    """An opening row for each balance that starts from the original's implicit 10 tokens.

    A balance starting from another value is no known behaviour of the original: it is left for
    ``tokens verify`` to report rather than explained away.
    """
    rows = conn.execute(text(f"SELECT user_id, opening FROM ({_OPENINGS}) o WHERE opening <> 0")).all()
    users = [row.user_id for row in rows if row.opening == ORIGINAL_INITIAL_BALANCE]
    notes = []
    if users:
        conn.execute(
            text(_INSERT_OPENINGS),
            {
                "ids": [cuid() for _ in users],
                "users": users,
                "metadata": json.dumps({"openingBalance": "the original platform's initial balance"}),
            },
        )
        notes.append(
            f"{len(users)} opening ledger rows of {ORIGINAL_INITIAL_BALANCE} tokens written "
            "(the original created balances without one)"
        )
    if odd := len(rows) - len(users):
        notes.append(
            f"{odd} balances start from neither 0 nor {ORIGINAL_INITIAL_BALANCE}: left as they are; "
            "`spikeland tokens verify` lists them"
        )
    return notes


_MISSING_ALBUMS = """
SELECT u.id FROM users u
WHERE u.id <> :anonymous AND NOT EXISTS (
    SELECT 1 FROM albums a WHERE a."userId" = u.id AND a.name = :name AND a.privacy = 'UNLISTED'
)
ORDER BY u.id
"""

_INSERT_ALBUMS = """
INSERT INTO albums
    (id, "userId", name, description, privacy, "defaultTier", "shareToken", "sortOrder", "updatedAt")
SELECT v.id, v.user_id, :name, :description, 'UNLISTED', 'TIER_1K', v.token,
       coalesce((SELECT max(a."sortOrder") + 1 FROM albums a WHERE a."userId" = v.user_id), 0),
       CURRENT_TIMESTAMP
FROM unnest(CAST(:ids AS text[]), CAST(:users AS text[]), CAST(:tokens AS text[])) AS v(id, user_id, token)
"""


def add_unlisted_albums(conn: Connection) -> list[str]:
    """The default UNLISTED album for every user without it, after their own albums."""
    name, description = UNLISTED_ALBUM
    users = list(
        conn.execute(text(_MISSING_ALBUMS), {"anonymous": ANONYMOUS_USER_ID, "name": name}).scalars()
    )
    if not users:
        return []
    conn.execute(
        text(_INSERT_ALBUMS),
        {
            "ids": [cuid() for _ in users],
            "users": users,
            "tokens": [secrets.token_urlsafe(SHARE_TOKEN_BYTES) for _ in users],
            "name": name,
            "description": description,
        },
    )
    return [f"{len(users)} users given the default album {name!r} (UNLISTED)"]
