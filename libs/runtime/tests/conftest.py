from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool_runtime import db, messaging
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.tables import metadata
from onepool_runtime.testing.services import TEST_SECRET
from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Env:
    engine: AsyncEngine
    schema: str
    database_url: str
    nc: Client
    js: JetStreamContext

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="testsvc")


@pytest.fixture
async def env(database_url: str, nats_url: str) -> AsyncIterator[Env]:
    """A fresh schema holding the runtime tables, and a NATS connection with the test stream."""
    schema = f"rt_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    nc = await messaging.connect(nats_url, "runtime-tests")
    js = nc.jetstream()
    await messaging.ensure_stream(js, "TESTSVC", [f"{schema}.>"])
    await messaging.ensure_stream(js, "DLQ", ["dlq.>"])
    yield Env(engine, schema, database_url, nc, js)
    await js.delete_stream("TESTSVC")
    await nc.close()
    await engine.dispose()


@pytest.fixture
def host_settings(env: Env, nats_url: str) -> Callable[..., ServiceSettings]:
    """Settings of a ServiceHost on the test's schema and NATS, on a free loopback port, with `overrides`."""

    def make(**overrides: Any) -> ServiceSettings:
        defaults: dict[str, Any] = {
            "service_name": "inventory",
            "db_schema": env.schema,
            "database_url": env.database_url,
            "nats_url": nats_url,
            "grpc_host": "127.0.0.1",
            "grpc_port": 0,
            "jwt_secret": TEST_SECRET,
            "log_json": False,
        }
        return ServiceSettings(**{**defaults, **overrides})

    return make


class StallingProxy:
    """A TCP proxy to PostgreSQL whose sockets can go silent without closing: no FIN, no RST, no answer, which
    is what a client sees of a network partition or of a primary lost in a fail-over, and what a kernel takes
    ~15 minutes to give up on. (A proxy in the process cannot drop the TCP acknowledgements too, so the
    keepalives of db.py do not notice it: what these tests hold is the bounds above TCP.)"""

    def __init__(self, database_url: str) -> None:
        u = urlparse(database_url)
        self._target = (u.hostname or "127.0.0.1", u.port or 5432)
        self._database_url = database_url
        self._stalled = False
        self._epoch = 0  # sockets opened before the last fail_over() have an older one, and stay silent
        self._changed = asyncio.Event()  # set (and replaced) whenever who may speak changes
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.url = ""

    async def start(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        host, target_port = self._target
        self.url = self._database_url.replace(f"{host}:{target_port}", f"127.0.0.1:{port}", 1)
        return self

    def stall(self) -> None:
        """Every socket, open or opened from now on, forwards nothing until `resume()`."""
        self._stalled = True
        self._tell()

    def resume(self) -> None:
        self._stalled = False
        self._tell()

    def fail_over(self) -> None:
        """The sockets open now go silent for good; new ones reach the database (a new primary)."""
        self._epoch += 1
        self._tell()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _tell(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _heard(self, epoch: int) -> None:
        """Until a socket of `epoch` may speak again."""
        while self._stalled or epoch != self._epoch:
            await self._changed.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        epoch = self._epoch
        upstream: asyncio.StreamWriter | None = None
        try:
            await self._heard(epoch)  # a connection accepted and never answered
            up_reader, upstream = await asyncio.open_connection(*self._target)
            await asyncio.gather(self._pipe(reader, upstream, epoch), self._pipe(up_reader, writer, epoch))
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, upstream):
                if w is not None:
                    w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, epoch: int) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._heard(epoch)
                writer.write(data)
                await writer.drain()
        writer.close()


@pytest.fixture
async def stalling_proxy() -> AsyncIterator[Callable[[str], Any]]:
    """`await stalling_proxy(database_url)`: a started StallingProxy to that database (closed after the test)."""
    proxies: list[StallingProxy] = []

    async def make(database_url: str) -> StallingProxy:
        proxy = await StallingProxy(database_url).start()
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        await proxy.close()
