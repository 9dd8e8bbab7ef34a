"""Async SQLAlchemy engine on asyncpg, one PostgreSQL schema per service.

Every connection's search_path is the service's schema, so a service's tables, its outbox, inbox and
idempotency keys all live in its own schema and no service can read another's tables by accident.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def asyncpg_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// forms and point SQLAlchemy at asyncpg."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def plain_url(url: str) -> str:
    """The libpq form (for asyncpg.connect and tools)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


def create_engine(
    url: str, schema: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30.0
) -> AsyncEngine:
    check_schema_name(schema)
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": f"onepool-{schema}"},
            # Prepared statements are cached per connection; safe because each engine has one schema.
            "statement_cache_size": 256,
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without lazy loads (no IO in async code).
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)


async def ensure_schema(engine: AsyncEngine, schema: str) -> None:
    check_schema_name(schema)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
