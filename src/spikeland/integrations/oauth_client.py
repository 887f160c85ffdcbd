"""Authlib's OAuth 2.0 client as every outside service here uses it (sign-in providers, ad
platforms): PKCE (S256) on every authorization, our User-Agent, the caller's timeout."""

from __future__ import annotations

import warnings
from typing import Any

import authlib.deprecate  # type: ignore[import-untyped]

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork and warns when it falls back to httpx, which we use.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

USER_AGENT = "spikeland"


def oauth_client(
    client_id: str,
    client_secret: str,
    *,
    auth_method: str,
    scope: str,
    redirect_uri: str | None,
    timeout: float,
) -> Any:
    """An ``AsyncOAuth2Client`` (use it in ``async with``)."""
    return AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=auth_method,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
    )
