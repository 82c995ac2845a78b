"""Tend's settings: one validated object read from the environment, documented per field.

Every field is listed in `docs/settings.md`; a test fails when one is missing there.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"
MINIMUM_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """Raised at start-up when the settings cannot run Tend safely."""


class TendSettings(BaseSettings):
    """Everything Tend reads from its environment. Environment names are `TEND_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="TEND_", extra="ignore", frozen=True)

    env: Literal["development", "test", "production"] = Field(
        default="development",
        description="Deployment kind. `production` refuses to start without an explicit "
        "secret key and allowed hosts, and turns debug off.",
    )
    data_dir: Path = Field(
        default=Path(".tend"),
        description="Folder for the embedded database, job queue, generated secret key and "
        "exports. Created on first use.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Django secret key. Outside production, generated once and kept in "
        "`<data_dir>/secret_key` when unset.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "TEND_DATABASE_URL"),
        description="Operational database, e.g. `postgres://user@host:5432/tend`. "
        "Default: SQLite in WAL mode at `<data_dir>/tend.sqlite3`. Read from `DATABASE_URL`.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis for the job queue, e.g. `redis://127.0.0.1:6379/0`. "
        "Default: the embedded SQLite job queue at `<data_dir>/jobs.sqlite3`.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description="Comma-separated host names this server answers for. Required in production.",
    )
    csrf_trusted_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins (scheme and host) trusted for form posts behind a "
        "proxy, e.g. `https://tend.example.com`.",
    )
    debug: bool = Field(
        default=False,
        description="Django debug pages. Never on in production.",
    )
    time_zone: str = Field(
        default="UTC",
        description="Time zone used to display times; everything is stored in UTC.",
    )
    reporting_currency: str = Field(
        default="USD",
        min_length=3,
        max_length=3,
        description="ISO 4217 currency that revenue KPIs are reported in.",
    )
    analytics_engine: Literal["duckdb", "pyspark"] = Field(
        default="duckdb",
        description="Engine that runs the analytics pipelines: in-process DuckDB, or PySpark.",
    )
    host: str = Field(default="127.0.0.1", description="Address `tend serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `tend serve` listens on.")
    worker_threads: int = Field(
        default=2, ge=1, le=64, description="Background job threads of `tend serve`/`tend worker`."
    )
    ingest_max_message_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest event message accepted by the event API (Segment's limit: 32 KB).",
    )
    ingest_max_batch_bytes: int = Field(
        default=500 * 1024,
        ge=1024,
        description="Largest request body accepted by the event API, after gunzip "
        "(Segment's limit: 500 KB).",
    )
    ingest_inbox_max_messages: int = Field(
        default=2_000_000,
        ge=1,
        description="Events acknowledged but not yet loaded beyond which the event API answers "
        "429 with Retry-After.",
    )
    ingest_loader: Literal["web_and_worker", "worker"] = Field(
        default="web_and_worker",
        description="Which processes move acknowledged events from the inbox into the events "
        "table: every web and worker process (one at a time), or only `tend worker` (and "
        "`tend serve` with its embedded worker), leaving web processes to acknowledge alone.",
    )
    health_rescore_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often the worker checks for new events, tickets, invoices and answers "
        "and re-scores the accounts they concern.",
    )
    health_backfill_days: int = Field(
        default=730,
        ge=1,
        description="Most days of history a new or edited scorecard is computed for at once.",
    )
    health_churn_jump: float = Field(
        default=0.15,
        gt=0,
        le=1,
        description="Rise of an account's churn probability over its previous one (0-1) that "
        "is recorded as a churn-probability jump signal.",
    )
    stripe_webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Stripe webhook signing secrets (`whsec_…`); several are "
        "accepted at once so a secret can be rotated without losing deliveries.",
    )
    stripe_webhook_tolerance: int = Field(
        default=300,
        ge=1,
        description="Seconds a Stripe signature timestamp may be old before it is refused.",
    )
    email_backend: Literal["console", "smtp"] = Field(
        default="console",
        description="`console` prints outgoing mail (development); `smtp` sends it.",
    )
    email_host: str = Field(default="127.0.0.1", description="SMTP server host.")
    email_port: int = Field(default=25, ge=1, le=65535, description="SMTP server port.")
    email_host_user: str = Field(default="", description="SMTP user name, if the server asks.")
    email_host_password: SecretStr = Field(
        default=SecretStr(""), description="SMTP password, if the server asks."
    )
    email_use_tls: bool = Field(default=False, description="Use STARTTLS with the SMTP server.")
    default_from_email: str = Field(
        default="Tend <tend@localhost>", description="Sender of the emails Tend sends."
    )

    @field_validator(
        "allowed_hosts", "csrf_trusted_origins", "stripe_webhook_secrets", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("reporting_currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> TendSettings:
        if self.env != "production":
            return self
        if self.secret_key is None:
            raise SettingsError("TEND_ENV=production needs TEND_SECRET_KEY to be set.")
        if len(self.secret_key.get_secret_value()) < MINIMUM_SECRET_LENGTH:
            raise SettingsError(
                f"TEND_SECRET_KEY must be at least {MINIMUM_SECRET_LENGTH} characters long."
            )
        if not self.allowed_hosts or self.allowed_hosts == ["127.0.0.1", "localhost"]:
            raise SettingsError("TEND_ENV=production needs TEND_ALLOWED_HOSTS to be set.")
        if self.debug:
            raise SettingsError("TEND_DEBUG cannot be on with TEND_ENV=production.")
        return self

    @property
    def resolved_data_dir(self) -> Path:
        """The data directory as an absolute path."""
        return self.data_dir.expanduser().resolve()

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded SQLite database lives when no DATABASE_URL is set."""
        return self.resolved_data_dir / "tend.sqlite3"

    def effective_secret_key(self) -> str:
        """The explicit secret key, or one generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        key_file = self.resolved_data_dir / SECRET_KEY_FILE
        if key_file.exists():
            return key_file.read_text().strip()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key


@lru_cache(maxsize=1)
def get_settings() -> TendSettings:
    """The process-wide settings, validated once."""
    return TendSettings()
