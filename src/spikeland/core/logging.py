"""Logging that never carries a secret: a filter redacts tokens, keys and credentials in any record."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    # query parameters that carry secrets (magic links, OAuth callbacks)
    (re.compile(r"(?i)\b(token|code|state|password|key)=([^&\s\"']+)"), r"\1=[redacted]"),
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\bsk_live_[A-Za-z0-9_-]+"), "sk_live_[redacted]"),
    (re.compile(r"(?i)(spikeland_session=)[^;\s\"']+"), r"\1[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_redaction() -> None:
    """Attach the filter to every handler of the root and uvicorn loggers (idempotent)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "spikeland"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
