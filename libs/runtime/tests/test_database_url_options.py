"""A database URL's libpq options (`?sslmode=require` on managed PostgreSQL) mean the same to every connection:
the pool's, the read pool's, readiness's, the relay's and a migration's. SQLAlchemy's own way handed them to
asyncpg as keyword arguments, which it refuses: readiness said SERVING and reads worked while every write and
the relay failed (TypeError: connect() got an unexpected keyword argument 'sslmode')."""

from __future__ import annotations

import asyncio

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import db, messaging, migrations, readpool
from onepool_runtime.server import ServiceHost, ServiceParts
from onepool_runtime.uow import UnitOfWork


@pytest.fixture(autouse=True)
async def inventory_stream(env):  # type: ignore[no-untyped-def]
    await messaging.ensure_service_stream(env.js, "inventory")
    yield
    await env.js.delete_stream(messaging.STREAMS["inventory"])


def _with_sslmode(url: str) -> str:
    # Embedded PostgreSQL has no TLS: `disable` is the option it can answer (managed ones: `require`).
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


async def _nothing(_infra) -> ServiceParts:  # type: ignore[no-untyped-def]
    return ServiceParts(register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={})


@pytest.mark.asyncio
async def test_a_service_on_a_url_with_sslmode_writes_and_relays(env, host_settings) -> None:  # type: ignore[no-untyped-def]
    url = _with_sslmode(env.database_url)
    host = ServiceHost(host_settings(database_url=url, outbox_poll_seconds=0.2), _nothing)
    await host.start()
    try:
        assert host.infra is not None and host._serving
        async with UnitOfWork(host.infra.sessions, source="testsvc") as uow:
            event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
            event.level.sku = "SKU-SSLMODE"
            uow.publish(event)
            await uow.commit()
        async with readpool.read_pool(host.infra.engine).connection() as conn:
            assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
        for _ in range(200):
            if host.relay is not None and host.relay.stats.published >= 1:
                break
            await asyncio.sleep(0.05)
        sub = await env.js.pull_subscribe("inventory.>", stream=messaging.STREAMS["inventory"])
        [message] = await sub.fetch(1, timeout=10)
        assert events_pb2.StockChanged.FromString(message.data).level.sku == "SKU-SSLMODE"
    finally:
        await host.stop()


@pytest.mark.asyncio
async def test_a_migration_reads_a_url_with_sslmode(env) -> None:  # type: ignore[no-untyped-def]
    assert await migrations.current(_with_sslmode(env.database_url), env.schema) is None  # never migrated


@pytest.mark.parametrize(
    "url",
    [
        "foo",
        "mysql://onepool:hunter2@db/onepool",
        "postgresql://a:hunter2@h:port/d",
        "postgresql://a:hunter2/x@h:5432/d",  # '/' ends libpq's host part: asyncpg took "hunter2" for the port
        "postgresql://a:hunter2?x@h:5432/d",
        "postgresql://a:hunter2@b/c@h:5432/d",  # '@' then '/': libpq would connect to host "b"
    ],
)
def test_a_url_that_is_not_postgresql_is_refused_without_its_password(url: str) -> None:
    with pytest.raises(db.UnusableURL) as refused:
        db.create_engine(url, "orders")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://a:hunter2%2Fx%40y@h:5432/d",
        "postgresql://a:hunter2@[::1]:5432/d",
        "postgresql://a@/d?host=/tmp",
        "postgresql://h/d",
        "postgresql+asyncpg://a:hunter2@db.internal/d?sslmode=require",
    ],
)
def test_a_well_formed_url_is_read(url: str) -> None:
    assert db.dsn(url).startswith("postgresql://")
