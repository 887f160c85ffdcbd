"""OAuth sign-in with GitHub and Google: the flow state, the providers, and linking to our users.

Authlib's ``AsyncOAuth2Client`` speaks the protocol (authorization URL with PKCE, the code exchange,
client authentication); Authlib's ``CodeIDToken`` with joserfc checks Google's ID token. Authlib's
Starlette integration is not used: it keeps the flow state in ``request.session`` and so needs
SessionMiddleware (a second, signed-cookie session beside ours). Instead the flow state (state,
PKCE verifier, nonce, where to go afterwards) travels in a short-lived HttpOnly cookie sealed with
the Keyring (AES-GCM: the browser can neither read the verifier nor forge the state).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.admission import outside
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ServiceUnavailable, SpikelandError
from spikeland.core.security import DecryptionError, Keyring
from spikeland.db.cuid import cuid
from spikeland.identity.models import Account, User
from spikeland.identity.service import (
    create_user,
    find_user_by_email,
    get_user,
    mark_email_verified,
    revoke_sessions,
)
from spikeland.integrations.oauth_client import USER_AGENT, oauth_client
from spikeland.settings import Settings

STATE_TTL_SECONDS = 600
_STATE_PURPOSE = "oauth-flow"
_MAX_NEXT = 512
_PROVIDER_ERROR = re.compile(r"[a-z_]{1,64}")  # shown back only when it is a plain error code
# Asymmetric algorithms only: "none" and HMAC (keyed with the client secret) are never accepted.
_ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OAuthFailed(SpikelandError):
    status_code = 400
    code = "oauth_failed"


class OAuthStateInvalid(OAuthFailed):
    code = "oauth_state_invalid"


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in; ``email_verified`` only when the provider asserts it."""

    provider: str
    account_id: str
    email: str | None
    email_verified: bool
    name: str | None
    image: str | None


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None = None
    id_token: str | None = None
    expires_at: int | None = None
    token_type: str | None = None
    scope: str | None = None
    session_state: str | None = None

    @classmethod
    def from_response(cls, token: dict[str, Any]) -> Tokens:
        def text(key: str) -> str | None:
            value = token.get(key)
            return str(value) if value not in (None, "") else None

        expires_at = token.get("expires_at")
        return cls(
            access_token=str(token["access_token"]),
            refresh_token=text("refresh_token"),
            id_token=text("id_token"),
            expires_at=int(expires_at) if isinstance(expires_at, int | float) else None,
            token_type=text("token_type"),
            scope=text("scope"),
            session_state=text("session_state"),
        )


# ----------------------------------------------------------------------------- providers


class Provider:
    name: str
    account_type: str
    scope: str
    auth_method: str

    def __init__(self, settings: Settings, client_id: str, client_secret: str) -> None:
        self.settings = settings
        self.client_id = client_id
        self.client_secret = client_secret

    def client(self, redirect_uri: str) -> Any:
        return oauth_client(
            self.client_id,
            self.client_secret,
            auth_method=self.auth_method,
            scope=self.scope,
            redirect_uri=redirect_uri,
            timeout=self.settings.oauth_timeout_seconds,
        )

    async def endpoints(self) -> tuple[str, str]:
        """The authorization and token endpoints."""
        raise NotImplementedError

    async def identity(self, client: Any, token: dict[str, Any], nonce: str) -> Identity:
        raise NotImplementedError


class GitHub(Provider):
    name = "github"
    account_type = "oauth"
    scope = "read:user user:email"
    auth_method = "client_secret_post"
    _headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}

    async def endpoints(self) -> tuple[str, str]:
        base = self.settings.github_oauth_url.rstrip("/")
        return f"{base}/authorize", f"{base}/access_token"

    async def identity(self, client: Any, token: dict[str, Any], nonce: str) -> Identity:
        api = self.settings.github_api_url.rstrip("/")
        profile = await client.get(f"{api}/user", headers=self._headers)
        profile.raise_for_status()
        # Without the user:email grant this is 403/404: the profile's public email, unverified, remains.
        emails = await client.get(f"{api}/user/emails", headers=self._headers)
        return github_identity(profile.json(), emails.json() if emails.status_code == 200 else [])


def github_identity(profile: Any, emails: Any) -> Identity:
    """Map GitHub's /user and /user/emails: only the primary *verified* address counts as verified."""
    if not isinstance(profile, dict) or not isinstance(profile.get("id"), int):
        raise OAuthFailed("GitHub did not return a user id.", code="oauth_identity_incomplete")
    listed = [e for e in emails if isinstance(e, dict)] if isinstance(emails, list) else []
    primary = next((e for e in listed if e.get("primary") is True and e.get("email")), None)
    email = _email(primary["email"] if primary is not None else profile.get("email"))
    return Identity(
        provider=GitHub.name,
        account_id=str(profile["id"]),
        email=email,
        email_verified=email is not None and primary is not None and primary.get("verified") is True,
        name=_text(profile.get("name"), 255) or _text(profile.get("login"), 255),
        image=_text(profile.get("avatar_url"), 2048),
    )


def _text(value: Any, limit: int) -> str | None:
    """A profile string fit to store: NUL removed (PostgreSQL refuses it), trimmed, bounded."""
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "").strip()[:limit] or None


def _email(value: Any) -> str | None:
    # An address we would have to alter to store is no address: linking must compare it exactly.
    if not isinstance(value, str) or "@" not in value or len(value) > 254:
        return None
    if any(ord(ch) < 0x21 for ch in value.strip()):
        return None
    return value.strip().lower()


class Google(Provider):
    """OpenID Connect by discovery; the metadata and signing keys are cached for the app's lifetime."""

    name = "google"
    account_type = "oidc"
    scope = "openid email profile"
    auth_method = "client_secret_basic"

    def __init__(self, settings: Settings, client_id: str, client_secret: str) -> None:
        super().__init__(settings, client_id, client_secret)
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None

    async def _get_json(self, url: str) -> Any:
        timeout = self.settings.oauth_timeout_seconds
        async with httpx.AsyncClient(timeout=timeout, headers={"User-Agent": USER_AGENT}) as http:
            response = await http.get(url)
            response.raise_for_status()
            return response.json()

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            document = await self._get_json(self.settings.google_metadata_url)
            if not isinstance(document, dict) or not {"issuer", "authorization_endpoint"} <= document.keys():
                raise OAuthFailed(
                    "The provider's discovery document is not usable.", code="oauth_exchange_failed"
                )
            self._metadata = document
        return self._metadata

    async def endpoints(self) -> tuple[str, str]:
        metadata = await self.metadata()
        return metadata["authorization_endpoint"], metadata["token_endpoint"]

    async def _keys(self, refresh: bool) -> KeySet:
        if self._jwks is None or refresh:
            self._jwks = await self._get_json((await self.metadata())["jwks_uri"])
        return KeySet.import_key_set(self._jwks)  # type: ignore[arg-type]

    async def id_token_claims(self, token: dict[str, Any], nonce: str) -> dict[str, Any]:
        raw = token.get("id_token")
        if not raw:
            raise OAuthFailed("The provider returned no ID token.", code="oauth_exchange_failed")
        metadata = await self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(
            algorithms=[a for a in offered if a in _ID_TOKEN_ALGS], strict_check_header=False
        )
        try:
            decoded = jwt.decode(raw, await self._keys(refresh=False), registry=registry)
        except InvalidKeyIdError:  # the provider rotated its signing keys
            decoded = jwt.decode(raw, await self._keys(refresh=True), registry=registry)
        options = {
            "iss": {"essential": True, "values": [metadata["issuer"]]},
            "aud": {"essential": True, "values": [self.client_id]},
        }
        params = {"nonce": nonce, "client_id": self.client_id, "access_token": token.get("access_token")}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=120)
        return dict(claims)

    async def identity(self, client: Any, token: dict[str, Any], nonce: str) -> Identity:
        claims = await self.id_token_claims(token, nonce)
        userinfo_url = (await self.metadata()).get("userinfo_endpoint")
        if not claims.get("email") and userinfo_url:
            response = await client.get(userinfo_url)
            response.raise_for_status()
            info = response.json()
            if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                claims = {**info, **claims}
        return oidc_identity(self.name, claims)


def oidc_identity(provider: str, claims: dict[str, Any]) -> Identity:
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255 or "\x00" in sub:
        raise OAuthFailed("The provider did not return a usable subject.", code="oauth_identity_incomplete")
    email = _email(claims.get("email"))
    # Some providers send the boolean as a string.
    verified = claims.get("email_verified") in (True, "true")
    return Identity(
        provider=provider,
        account_id=sub,
        email=email,
        email_verified=email is not None and verified,
        name=_text(claims.get("name"), 255),
        image=_text(claims.get("picture"), 2048),
    )


def configured_providers(settings: Settings) -> dict[str, Provider]:
    """The providers whose client id and secret are both set."""
    found: dict[str, Provider] = {}
    for cls, client_id, secret in (
        (GitHub, settings.github_client_id, settings.github_client_secret),
        (Google, settings.google_client_id, settings.google_client_secret),
    ):
        if client_id and secret is not None and secret.get_secret_value():
            found[cls.name] = cls(settings, client_id, secret.get_secret_value())
    return found


def get_provider(providers: dict[str, Provider], name: str) -> Provider:
    provider = providers.get(name)
    if provider is None:
        raise NotFound("No such sign-in provider.", code="oauth_provider_not_found")
    return provider


# ----------------------------------------------------------------------------- the flow state


@dataclass(frozen=True)
class FlowState:
    provider: str
    state: str
    verifier: str
    nonce: str
    next_path: str
    issued_at: int


def safe_next(value: str | None) -> str:
    """A same-site path to land on after sign-in; anything else (absolute, //host, \\) becomes '/'."""
    if (
        not value
        or len(value) > _MAX_NEXT
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(ch) < 0x20 or ch == "\\" for ch in value)
    ):
        return "/"
    return value


def new_flow(provider: str, next_path: str | None) -> FlowState:
    return FlowState(
        provider=provider,
        state=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        nonce=secrets.token_urlsafe(24),
        next_path=safe_next(next_path),
        issued_at=int(time.time()),
    )


def seal_flow(keyring: Keyring, flow: FlowState) -> str:
    return keyring.encrypt(json.dumps({"purpose": _STATE_PURPOSE, **asdict(flow)}))


def open_flow(keyring: Keyring, sealed: str | None, provider: str, state: str | None) -> FlowState:
    """The flow started in this browser, if ``state`` is the one it was started with."""
    invalid = OAuthStateInvalid("The sign-in attempt is not valid or has expired; start again.")
    if not sealed or not state:
        raise invalid
    try:
        data = json.loads(keyring.decrypt(sealed))
        if data.pop("purpose") != _STATE_PURPOSE:
            raise invalid
        flow = FlowState(**data)
    except (DecryptionError, ValueError, TypeError, KeyError, AttributeError):
        raise invalid from None
    fresh = 0 <= time.time() - flow.issued_at <= STATE_TTL_SECONDS
    if flow.provider != provider or not fresh or not secrets.compare_digest(flow.state, state):
        raise invalid
    return flow


async def authorization_url(provider: Provider, redirect_uri: str, flow: FlowState) -> str:
    async with _talking_to(provider):
        authorize, _token = await provider.endpoints()
        async with provider.client(redirect_uri) as client:
            extra = {"nonce": flow.nonce} if provider.account_type == "oidc" else {}
            url, _state = client.create_authorization_url(
                authorize, state=flow.state, code_verifier=flow.verifier, **extra
            )
    return str(url)


async def exchange(
    provider: Provider, redirect_uri: str, flow: FlowState, code: str
) -> tuple[Identity, Tokens]:
    """Trade the code for tokens and learn who signed in; every provider failure is a 4xx/503."""
    async with _talking_to(provider):
        _authorize, token_url = await provider.endpoints()
        async with provider.client(redirect_uri) as client:
            token = await client.fetch_token(
                token_url, grant_type="authorization_code", code=code, code_verifier=flow.verifier
            )
            if not token.get("access_token"):
                raise OAuthFailed("The provider returned no access token.", code="oauth_exchange_failed")
            identity = await provider.identity(client, dict(token), flow.nonce)
    return identity, Tokens.from_response(dict(token))


@asynccontextmanager
async def _talking_to(provider: Provider) -> AsyncIterator[None]:
    """Translate provider failures: unreachable → 503, refused or malformed → 400 (never a 500)."""
    try:
        async with outside():  # the provider's answers take their time: the slot goes to others
            yield
    except SpikelandError:
        raise
    except httpx.TransportError:
        raise ServiceUnavailable(
            f"The sign-in provider {provider.name} cannot be reached.", code="oauth_provider_unavailable"
        ) from None
    except (AuthlibBaseError, JoseError, httpx.HTTPStatusError, ValueError, KeyError, TypeError):
        raise OAuthFailed("The sign-in provider refused the sign-in.", code="oauth_exchange_failed") from None


async def complete(
    session: AsyncSession,
    keyring: Keyring,
    provider: Provider,
    redirect_uri: str,
    *,
    sealed: str | None,
    state: str | None,
    code: str | None,
    error: str | None,
    ip: str | None = None,
) -> tuple[User, FlowState]:
    """The callback: check the flow, exchange the code, and sign the user in (found, linked or new)."""
    if error is not None:
        # Nothing to protect in an error redirect (no code), and providers may omit the state there.
        shown = error if _PROVIDER_ERROR.fullmatch(error) else None
        raise OAuthFailed("The sign-in was not completed.", code="oauth_denied", details={"error": shown})
    flow = open_flow(keyring, sealed, provider.name, state)
    if not code:
        raise OAuthStateInvalid("The provider's answer carries no authorization code.")
    identity, tokens = await exchange(provider, redirect_uri, flow, code)
    return await sign_in(session, keyring, provider, identity, tokens, ip=ip), flow


# ----------------------------------------------------------------------------- accounts and users


async def sign_in(
    session: AsyncSession,
    keyring: Keyring,
    provider: Provider,
    identity: Identity,
    tokens: Tokens,
    ip: str | None = None,
) -> User:
    """The user behind this provider account: found, linked by verified email, or created.

    Tokens are stored encrypted and refreshed on every sign-in.
    """
    row = (
        await session.execute(
            select(Account.id, Account.user_id).where(
                Account.provider == identity.provider, Account.provider_account_id == identity.account_id
            )
        )
    ).one_or_none()
    if row is not None:
        await session.execute(
            update(Account).where(Account.id == row.id).values(**_token_values(keyring, tokens, refresh=True))
        )
        return await get_user(session, row.user_id)
    user = await _owner_for(session, identity, ip)
    try:
        async with session.begin_nested():
            await session.execute(
                insert(Account).values(
                    id=cuid(),
                    user_id=user.id,
                    type=provider.account_type,
                    provider=identity.provider,
                    provider_account_id=identity.account_id,
                    **_token_values(keyring, tokens, refresh=False),
                )
            )
    except IntegrityError:
        # The same provider account signing in twice at once: the other request links it.
        raise Conflict("This sign-in is already being completed; try again.", code="oauth_retry") from None
    return user


async def _owner_for(session: AsyncSession, identity: Identity, ip: str | None) -> User:
    email = identity.email
    existing = await find_user_by_email(session, email) if email else None
    if existing is None:
        return await create_user(
            session,
            email=email,
            name=identity.name,
            image=identity.image,
            email_verified=utcnow() if identity.email_verified and email else None,
            ip=ip,
        )
    if not identity.email_verified:
        # Linking on an address the provider does not vouch for would hand the account to whoever
        # typed that address into their provider profile.
        raise Conflict(
            "An account with this email already exists and this provider has not verified the "
            "address; sign in with your password or a provider that verifies it.",
            code="oauth_email_unverified",
        )
    if existing.email_verified is None:
        # Nobody had proved owning this address. A password set by whoever registered it could be an
        # attacker's (pre-registration hijack), so it stops working and their sessions end -- unless
        # a provider account is linked already. Only the original platform's data has a password,
        # a linked account and no emailVerified together (it never set that column, and linked the
        # provider account that signed in with this address); here linking marks the user verified,
        # and a password reaches an unverified OAuth user only through the mailbox, which verifies.
        # So such an account proves the address and the password stays.
        if existing.password_hash is not None and not await _has_linked_account(session, existing.id):
            existing.password_hash = None
            await revoke_sessions(session, existing.id)
        await mark_email_verified(session, existing)
    return existing


async def _has_linked_account(session: AsyncSession, user_id: str) -> bool:
    found = await session.scalar(select(Account.id).where(Account.user_id == user_id).limit(1))
    return found is not None


def _token_values(keyring: Keyring, tokens: Tokens, *, refresh: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "access_token": keyring.encrypt(tokens.access_token),
        "expires_at": tokens.expires_at,
        "token_type": tokens.token_type,
        "scope": tokens.scope,
        "session_state": tokens.session_state,
    }
    # Providers send a refresh token (Google) or ID token only sometimes: keep the stored one then.
    for key, value in (("refresh_token", tokens.refresh_token), ("id_token", tokens.id_token)):
        if value is not None or not refresh:
            values[key] = keyring.encrypt(value) if value is not None else None
    return values
