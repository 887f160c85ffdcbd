"""All configuration in one typed class: environment variables with the ``SPIKELAND_`` prefix or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
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
    db_pool_size: int = Field(default=10, ge=1, le=100)
    db_connect_timeout: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
