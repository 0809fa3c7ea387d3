"""Configuration, read once from flags or PARTNERGRAPH_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
