"""Configuration, read once from flags or PARTNERGRAPH_* environment variables."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARTNERGRAPH_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite+aiosqlite:///partnergraph.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///file.db or postgresql+asyncpg://…",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    debug: bool = Field(False, description="Readable errors and SQL statement counts in responses.")
    default_page_size: int = Field(20, ge=1)
    max_page_size: int = Field(100, ge=1)
    max_batch_ids: int = Field(100, ge=1, description="Most ids accepted by nodes(ids:).")
    pool_size: int = Field(10, ge=1)
    sqlite_busy_timeout_ms: int = Field(5000, ge=0)
    graphiql: bool = Field(True, description="Serve GraphiQL to browsers at /graphql.")

    auth_required: bool = Field(
        True, description="Refuse requests without a valid API key or JWT (turn off only for local experiments)."
    )
    api_key_cache_seconds: float = Field(
        5,
        ge=0,
        le=300,
        description="How long a server process trusts an API key it has checked before checking it again "
        "(0: check on every request). A revocation through this process takes effect at once; "
        "in other server processes within this time.",
    )
    jwt_secret: str | None = Field(None, description="Shared secret for HS256 tokens from the identity provider.")
    jwt_public_key: str | None = Field(None, description="PEM public key for RS256/ES256 tokens.")
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "HS256"])
    jwt_issuer: str | None = Field(None, description="Required `iss` of bearer tokens.")
    jwt_audience: str | None = Field(None, description="Required `aud` of bearer tokens.")
    jwt_role_claim: str = Field("partnergraph_role", description="Claim holding the role (admin, customer, …).")
    jwt_organization_claim: str = Field("partnergraph_org", description="Claim holding the partner's organization id.")
    jwt_user_claim: str = Field("partnergraph_user", description="Claim holding the internal user id (sales reps).")

    # Bounded queries (graph/limits.py, graph/http_guards.py).
    max_query_cost: int = Field(
        5000, ge=1, description="Most cost points one request may have (see graph/limits.py for the pricing)."
    )
    cost_budget: int = Field(
        20000, ge=1, description="Points in each principal's bucket; every request spends its cost from it."
    )
    cost_refill_per_second: float = Field(
        1000, gt=0, description="Points a principal's bucket regains per second."
    )
    partner_introspection: bool = Field(
        True, description="Let partners query __schema and __type (internal users always may)."
    )
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted; larger is a 413."
    )
    execution_timeout_seconds: float = Field(
        15, gt=0, le=3600, description="Longest a request may execute before it is stopped with a TIMEOUT error"
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins browsers may call the API from, e.g. https://portal.example.com "
        "(comma-separated in the environment; empty: no cross-origin browser access).",
    )

    # Scale-out and faults (graph/db.py, graph/limits.py): pools, timeouts, replica, shared budgets.
    max_overflow: int = Field(10, ge=0, description="PostgreSQL connections opened beyond pool_size under load.")
    pool_timeout: float = Field(
        10, gt=0, description="Seconds a request waits for a free PostgreSQL connection before failing."
    )
    connect_timeout_seconds: float = Field(10, gt=0, description="Seconds to establish a PostgreSQL connection.")
    pool_ping_idle_seconds: float = Field(
        5,
        ge=0,
        description="A pooled PostgreSQL connection idle longer than this is pinged before use and replaced "
        "if dead (0: ping before every use). A busy connection the server dropped fails one request with "
        "DATABASE_UNAVAILABLE and the pool is renewed.",
    )
    statement_cache_size: int = Field(
        1000,
        ge=0,
        description="Built SELECT statements kept per process, by shape and caller (graph/reader.py); 0: none.",
    )
    statement_timeout_ms: int = Field(
        30000, ge=0, description="PostgreSQL statement_timeout for every connection (0: no limit)."
    )
    generic_read_plans: bool = Field(
        True,
        description="PostgreSQL: a request's reads use generic plans of their prepared statements "
        "(plan_cache_mode = force_generic_plan) instead of planning each run anew; writes keep the server's "
        "setting. See docs/performance.md.",
    )
    replica_database_url: str | None = Field(
        None,
        pattern=r"^postgresql\+asyncpg://",
        description="Read replica (postgresql+asyncpg://…): queries read from it, mutations use database_url.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:6379/0 to keep cost budgets in Redis, shared by every process "
        "(unset: in this process only, right for one process).",
    )
    redis_key_prefix: str = Field("partnergraph", description="Prefix of the Redis keys of the cost budgets.")

    # Operations: logs, metrics, tracing (graph/observability.py).
    log_format: Literal["json", "text"] = Field(
        "text", description="json: one JSON object per line (production); text: readable lines (development)."
    )
    log_level: str = Field(
        "INFO", pattern=r"(?i)^(debug|info|warning|error|critical)$", description="Root log level."
    )
    slow_query_ms: float = Field(
        200, ge=0, description="Log SQL statements taking at least this long (text and duration, never parameters)."
    )
    slow_request_ms: float = Field(
        1000, ge=0, description="Log a request's access line at WARNING, marked slow, from this duration on."
    )
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics (no credential needed).")
    otel_enabled: bool = Field(
        False, description="Trace operations and resolvers with OpenTelemetry (needs the [otel] extra)."
    )

    # Webhooks (graph/webhooks.py): push delivery of outbox events to partners' endpoints.
    webhooks_enabled: bool = Field(
        False, description="Run the webhook delivery worker inside the server process (or run `partnergraph webhooks run`)."
    )
    webhook_max_attempts: int = Field(12, ge=1, description="Attempts before a delivery is marked failed.")
    webhook_backoff_base_seconds: float = Field(
        10, gt=0, description="Retry delay after the first failed attempt; it doubles with each further attempt."
    )
    webhook_backoff_max_seconds: float = Field(3600, gt=0, description="Longest delay between two attempts.")
    webhook_timeout_seconds: float = Field(10, gt=0, le=300, description="Time a receiver has to answer one POST.")
    webhook_poll_interval_seconds: float = Field(
        1, gt=0, description="How often an idle worker looks for new events and due deliveries."
    )
    webhook_batch_size: int = Field(100, ge=1, le=10000, description="Events fanned out / deliveries claimed per round.")

    idempotency_ttl_hours: float = Field(24, gt=0, description="How long an idempotency key (syncOrders) is remembered.")
    subscription_poll_ms: int = Field(
        200, ge=10, le=60000,
        description="How often each process looks for new outbox events to push to its subscriptions.",
    )

    # Persisted queries and trusted documents (graph/persisted.py); caching of GET answers.
    persisted_queries_enabled: bool = Field(
        True, description="Accept Apollo automatic persisted queries (a hash first, the text on a miss)."
    )
    persisted_queries_cache_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Size of this process's LRU of persisted queries (without redis_url)."
    )
    persisted_queries_ttl_seconds: int = Field(
        7 * 24 * 3600, ge=60, description="How long Redis keeps a persisted query after it was last registered."
    )
    trusted_documents: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Paths of persisted-documents.json manifests (GraphQL Codegen client preset: "
        "{hash: document}), comma-separated in the environment.",
    )
    trusted_documents_only_for_partners: bool = Field(
        False, description="Partner keys may run only the trusted documents (internal users: any query)."
    )
    get_cache_max_age_seconds: int = Field(
        0, ge=0, le=3600, description="max-age of `Cache-Control: private` on error-free GET query answers."
    )

    # Early warnings (graph/crm/warnings.py): thresholds are [yellow, orange, red], ascending.
    warnings_sweep_enabled: bool = Field(
        False, description="Run the early-warning sweep inside the server process every warnings_sweep_interval_seconds."
    )
    warnings_sweep_interval_seconds: float = Field(3600, gt=0, description="Seconds between in-process sweeps.")
    warning_order_overdue_days: list[int] = Field(
        default_factory=lambda: [1, 7, 14], description="Days an open order is past its promised date: yellow, orange, red."
    )
    warning_shipment_late_days: list[int] = Field(
        default_factory=lambda: [1, 3, 7], description="Days a shipment is past its expected arrival: yellow, orange, red."
    )
    warning_quality_objections: list[int] = Field(
        default_factory=lambda: [2, 3, 5],
        description="Quality objections by one customer on one product within the window: yellow, orange, red.",
    )
    warning_quality_window_days: int = Field(90, ge=1, description="Window of the product-quality rule.")
    warning_complaints: list[int] = Field(
        default_factory=lambda: [2, 3, 5],
        description="A customer's complaints within the window (and above its baseline rate): yellow, orange, red.",
    )
    warning_complaint_window_days: int = Field(30, ge=1, description="Recent window of the complaints rule.")
    warning_complaint_baseline_days: int = Field(
        90, ge=1, description="The window before the recent one that sets a customer's usual complaint rate."
    )
    warning_trend_days: int = Field(7, ge=1, description="A warning's trend compares its measure with this many days earlier.")

    shutdown_timeout_seconds: float = Field(
        30, gt=0, le=600, description="On SIGTERM, how long in-flight requests may finish before connections are closed."
    )

    portal_dir: str | None = Field(
        default_factory=lambda: str(Path(__file__).resolve().parent.parent / "examples" / "portal" / "dist"),
        description="Built example portal (`npm run build` in examples/portal) served at /portal when the "
        "directory exists; empty: never serve it.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("cors_origins", "trusted_documents", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        # Browsers send Origin as scheme://host[:port]; anything else would silently never match.
        for origin in value:
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(f"cors_origins: {origin!r} is not an origin like https://portal.example.com")
        return value

    @model_validator(mode="after")
    def _partners_have_documents(self) -> Settings:
        if self.trusted_documents_only_for_partners and not self.trusted_documents:
            raise ValueError("trusted_documents_only_for_partners needs trusted_documents (manifest paths)")
        return self

    @field_validator(
        "warning_order_overdue_days", "warning_shipment_late_days", "warning_quality_objections", "warning_complaints"
    )
    @classmethod
    def _three_ascending_levels(cls, value: list[int]) -> list[int]:
        if len(value) != 3 or value[0] < 1 or not value[0] < value[1] < value[2]:
            raise ValueError("give three ascending positive thresholds: yellow, orange, red (e.g. [1, 7, 14])")
        return value

    @model_validator(mode="after")
    def _cost_fits_budget(self) -> Settings:
        if self.max_query_cost > self.cost_budget:
            raise ValueError(
                f"max_query_cost ({self.max_query_cost}) exceeds cost_budget ({self.cost_budget}): "
                "such a request could never run"
            )
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
