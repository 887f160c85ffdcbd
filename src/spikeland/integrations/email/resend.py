"""Resend (https://resend.com/docs/api-reference/emails/send-email): ``POST {api_url}/emails``."""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import httpx

from spikeland.core.admission import outside
from spikeland.integrations.email import EmailMessage, EmailSendError, SentEmail

_log = logging.getLogger(__name__)
# 429 and 5xx may pass on a second try; any other refusal (bad address, bad key) will not.
_RETRYABLE = {429, 500, 502, 503, 504}


class ResendEmailSender:
    name = "resend"

    def __init__(
        self,
        *,
        api_key: str,
        api_url: str,
        sender: str,
        attempts: int = 3,
        backoff: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self._api_key = api_key
        self._endpoint = api_url.rstrip("/") + "/emails"
        self._sender = sender
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._timeout = timeout

    def _payload(self, message: EmailMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "from": self._sender,
            "to": [message.to],
            "subject": message.subject,
            "text": message.text,
            "tags": [{"name": "template", "value": message.template}],
        }
        if message.html is not None:
            payload["html"] = message.html
        return payload

    async def send(self, message: EmailMessage) -> SentEmail:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            # The same key on every attempt: a retry after a lost answer does not send twice.
            "Idempotency-Key": secrets.token_hex(16),
        }
        payload = self._payload(message)
        # The slot goes to other requests while the mail API answers (core.admission).
        async with outside(), httpx.AsyncClient(timeout=self._timeout) as client:
            for attempt in range(1, self._attempts + 1):
                try:
                    response = await client.post(self._endpoint, json=payload, headers=headers)
                except httpx.HTTPError as exc:
                    failure = f"Resend unreachable: {type(exc).__name__}"
                    retryable = True
                else:
                    if response.is_success:
                        return SentEmail(provider_id=_email_id(response))
                    failure = f"Resend answered {response.status_code}: {_error_message(response)}"
                    retryable = response.status_code in _RETRYABLE
                if not retryable or attempt == self._attempts:
                    raise EmailSendError(failure)
                _log.warning("email send attempt %d failed (%s); retrying", attempt, failure)
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # the loop returns or raises


def _email_id(response: httpx.Response) -> str:
    try:
        email_id = response.json().get("id")
    except ValueError:
        email_id = None
    if not isinstance(email_id, str) or not email_id:
        raise EmailSendError("Resend accepted the mail but returned no id")
    return email_id


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    message = body.get("message") if isinstance(body, dict) else None
    return str(message)[:200] if message else response.reason_phrase
