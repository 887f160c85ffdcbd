"""Which constraint PostgreSQL named when it refused a write (a unique key, a foreign key)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError


def violated_constraint(exc: IntegrityError) -> str | None:
    """The constraint's name from asyncpg's error under SQLAlchemy's, or None."""
    name = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    return str(name) if name else None
