"""The one place that reads the environment (prefix HUB_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Development only: `check_production` refuses it.
DEVELOPMENT_MASTER_KEY = "credit-hub-development-master-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    # The server's connection (`serve` and every command that only reads and writes data), as the
    # server role: no DDL, owns nothing. Empty means: start the embedded PostgreSQL under `data_dir`.
    database_url: SecretStr = SecretStr("")
    # The connection of `credit-hub migrate`, as the owner of the hub's schema. Empty: HUB_DATABASE_URL
    # (one role for both, development only: production refuses it).
    migration_database_url: SecretStr = SecretStr("")
    # The role the migrations grant the server's rights to (and create, NOLOGIN, if it is missing):
    # the user of HUB_DATABASE_URL or a role that user is a member of. A plain lower-case identifier.
    server_role: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "credit_hub_server"
    data_dir: Path = PROJECT_ROOT / ".data"
    # Alembic scripts; an installed package (the Docker image) points this at its copy.
    migrations_dir: Path = PROJECT_ROOT / "migrations"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = 10
    # A request that waits longer than this for a connection is answered 503 (OVERLOADED).
    db_pool_timeout_seconds: float = 2.0

    # GraphQL endpoint hardening.
    introspection: bool = True
    graphiql: bool = True
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2000
    max_page_size: int = 100
    # Objects a request may make the hub build, estimated before it runs (schema/cost.py).
    max_cost: int = 5000
    # Characters of any String or ID argument (literal or variable); JSON arguments are checked by field.
    max_string_length: int = 4000
    request_timeout_seconds: float = 30.0
    max_push_records: int = 1000
    max_upload_bytes: int = 2 * 1024**3
    # Largest JSON request body; a multipart body may be max_upload_bytes + max_body_bytes.
    max_body_bytes: int = 1024**2
    # Requests served at once by one process; more are answered 503 at once (OVERLOADED). While the
    # event loop falls behind, the limit drops towards min_concurrent_requests (hub.web.limits).
    max_concurrent_requests: int = 100
    min_concurrent_requests: int = 1
    # The Retry-After of a 503 answer.
    retry_after_seconds: int = 1
    # Requests per minute per bearer token (the public: per client address), by role, e.g.
    # HUB_RATE_LIMITS='{"bank": 600, "public": 120}'; a role not named is not limited. Per process.
    rate_limits: dict[str, int] = {}
    # Open subscriptions allowed per WebSocket connection and per calling organisation (per process).
    max_subscriptions_per_connection: int = 10
    max_subscriptions_per_caller: int = 50
    # A bearer token that may read /metrics (the scraper's), besides credit-office tokens; empty: none.
    metrics_token: SecretStr = SecretStr("")
    # The access log (hub.audit): the checkpoints' origin line and key name; a checkpoint is signed
    # once this many entries or seconds have passed since the last one; how many entries one
    # sequencer run integrates at most, and how often each hub process tries to run it; how long
    # entries keep their details (5 years by default: Shenzhen's rule; Zhejiang keeps 10).
    access_log_origin: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.\-_/]{1,200}$")] = (
        "credit-hub.local/access-log"
    )
    access_log_checkpoint_entries: Annotated[int, Field(ge=1)] = 1000
    access_log_checkpoint_seconds: Annotated[float, Field(gt=0)] = 10.0
    access_log_batch: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    access_log_sequencer_seconds: Annotated[float, Field(ge=0)] = 0.5
    access_log_retention_days: Annotated[int, Field(ge=1)] = 5 * 365 + 1

    log_level: str = "INFO"
    # "production" refuses the development master key and needs a named database server.
    environment: str = "development"
    # Master secret for keyed pseudonyms of natural persons. Set it in production; changing it re-keys archives.
    master_key: SecretStr = SecretStr(DEVELOPMENT_MASTER_KEY)

    # Encryption at rest (README, Encryption at rest). The local key file of wrapping keys by version
    # (adapters/keyfile.py; `credit-hub keys init` writes it); unset: wrapping keys derived from
    # HUB_MASTER_KEY (development and tests only: production refuses it).
    key_file: Path | None = None
    # The cipher of new data keys: "aes-256-gcm", or "sm4-gcm" (GB/T 32907) for deployments assessed
    # for 密评. Rows sealed under the other stay readable; `credit-hub keys rotate` moves them.
    data_cipher: Literal["aes-256-gcm", "sm4-gcm"] = "aes-256-gcm"
    # The ID-number blind index: its bits L, for the planned number of indexed rows R. CipherSweet's
    # rule, 2 <= R / 2^L < sqrt(R), keeps it from narrowing nothing or identifying a row (a test checks).
    blind_index_bits: int = 16
    blind_index_planned_rows: int = 10_000_000
    # Rows re-encrypted per transaction by `credit-hub keys rotate`.
    rotation_batch_rows: int = 1000


def check_production(settings: Settings, *, migrating: bool = False) -> None:
    """Refuse to start in production with development defaults: the master key, the embedded
    database, one role for migrations and serving."""
    if settings.environment != "production":
        return
    if settings.master_key.get_secret_value() == DEVELOPMENT_MASTER_KEY or len(settings.master_key) < 32:
        raise SystemExit("HUB_MASTER_KEY must be set to a secret of at least 32 characters in production")
    if migrating:
        if not settings.migration_database_url.get_secret_value():
            raise SystemExit(
                "HUB_MIGRATION_DATABASE_URL must name the PostgreSQL server, as the schema's owner, in production"
            )
    elif not settings.database_url.get_secret_value():
        raise SystemExit(
            "HUB_DATABASE_URL must name the PostgreSQL server, as the server role, in production"
        )
    if 0 < len(settings.metrics_token) < 32:
        raise SystemExit("HUB_METRICS_TOKEN must be a secret of at least 32 characters in production")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
