"""Throwaway PostgreSQL databases and NATS servers for tests.

By default one embedded PostgreSQL per test session and a fresh database per request; NATS servers are
cheap (about 0.1 s), so each test module gets its own and streams never leak between modules. Set
ONEPOOL_TEST_DATABASE_URL / ONEPOOL_TEST_NATS_URL to use servers you run yourself instead.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import asyncpg
from pydantic_settings import BaseSettings, SettingsConfigDict

from onepool_runtime.db import plain_url
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres


class TestInfraSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEPOOL_TEST_", extra="ignore")

    database_url: str = ""
    nats_url: str = ""


class Postgres:
    """Either an embedded server owned by the session or an external one."""

    def __init__(self, base: Path, external_url: str = "") -> None:
        self.external = external_url
        self.server: EmbeddedPostgres | None = None
        if not external_url:
            self.server = EmbeddedPostgres(base / "pg", durable=False)

    def start(self) -> None:
        if self.server is not None:
            self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def admin_url(self) -> str:
        return plain_url(self.external) if self.external else self.server.url  # type: ignore[union-attr]

    async def new_database(self, prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"


class NatsServers:
    def __init__(self, base: Path, external_url: str = "") -> None:
        self.base = base
        self.external = external_url
        self.started: list[EmbeddedNats] = []

    def new_server(self) -> EmbeddedNats | None:
        if self.external:
            return None
        server = EmbeddedNats(Path(tempfile.mkdtemp(dir=self.base, prefix="nats-")))
        server.start()
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for s in self.started:
            s.stop()
        self.started.clear()
