"""pytest plugin (enabled in pyproject's addopts): session-wide PostgreSQL, per-module NATS."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from onepool_runtime.testing import ast_lock
from onepool_runtime.testing.infra import NatsServers, Postgres, TestInfraSettings

# Before any test thread parses: Hypothesis state machines on worker threads race the event loop's thread.
ast_lock.install()


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="onepool-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres(infra_dir: Path) -> Iterator[Postgres]:
    pg = Postgres(infra_dir, TestInfraSettings().database_url)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def nats_servers(infra_dir: Path) -> Iterator[NatsServers]:
    servers = NatsServers(infra_dir, TestInfraSettings().nats_url)
    yield servers
    servers.stop_all()


@pytest.fixture(scope="module")
async def database_url(postgres: Postgres) -> str:
    """A fresh, empty database for this test module."""
    return await postgres.new_database()


@pytest.fixture(scope="module")
def nats_server(nats_servers: NatsServers):  # type: ignore[no-untyped-def]
    """This module's own nats-server (None when ONEPOOL_TEST_NATS_URL points at an external one)."""
    server = nats_servers.new_server()
    yield server
    if server is not None:
        server.stop()


@pytest.fixture(scope="module")
async def nats_url(nats_server, nats_servers: NatsServers) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    if nats_server is None:
        from onepool_runtime.testing.nats import purge_onepool_streams

        await purge_onepool_streams(nats_servers.external)
        yield nats_servers.external
    else:
        yield nats_server.url
