"""The one place that reads the wall clock, so tests and services agree on UTC."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ms(moment: datetime) -> datetime:
    """``moment`` as a ``timestamp(3)`` column stores it (whole milliseconds), so a value made now
    equals the one read back from its row later."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
