"""A database that stops answering without closing its sockets (a fail-over, a partition; conftest's
StallingProxy), against real PostgreSQL: nothing waits on a dead socket for the ~15 minutes the kernel would
take. Readiness turns NOT_SERVING after its threshold of failed checks, each bounded by its ping timeout (and
only then: a pool busy with calls is not a database that is down, one slow ping not an outage), a pooled
connection's ping gives up within its own, and a relay pass, a consumer's transaction and any statement within
the command timeout, after which the next use connects afresh. The run with the default settings, against
the ~12 s docs/architecture.md promises, is in the long suite."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import db, infra, messaging, outbox, readpool
from onepool_runtime.consumer import Subscription
from onepool_runtime.relay_thread import RelayThread
from onepool_runtime.server import ServiceHost, ServiceParts
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.asyncio
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture(autouse=True)
async def inventory_stream(env):  # type: ignore[no-untyped-def]
    await messaging.ensure_service_stream(env.js, "inventory")
    yield
    await env.js.delete_stream(messaging.STREAMS["inventory"])


async def _nothing(_infra) -> ServiceParts:  # type: ignore[no-untyped-def]
    return ServiceParts(register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={})


async def _status(port: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return int(reply.status)


async def _seconds_until(port: int, status: int, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await _status(port) == status:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise AssertionError(f"health not {status} within {within} s")


async def _select(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


def _event(sku: str) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = sku
    return event


async def _write(env, sku: str) -> None:  # type: ignore[no-untyped-def]
    async with env.uow() as uow:
        await outbox.add_events(uow.session, "testsvc", [_event(sku)])
        await uow.commit()


async def _until(condition: Callable[[], bool], within: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_readiness_turns_not_serving_when_the_database_stops_answering_and_back(
    env, host_settings, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    settings = host_settings(database_url=proxy.url, health_check_seconds=0.5, db_ping_timeout_seconds=1.0)
    host = ServiceHost(settings, _nothing)
    await host.start()
    try:
        assert await _status(host.port) == SERVING
        proxy.stall()  # every socket open, nothing answered: the watcher's own ping included
        took = await _seconds_until(host.port, NOT_SERVING, within=10)
        assert took < 4.5, took  # health_check_seconds + 2 x (the ping timeout + the 0.25 s re-check), and slack
        proxy.resume()
        await _seconds_until(host.port, SERVING, within=10)
    finally:
        proxy.resume()
        await asyncio.wait_for(host.stop(), 30)


async def test_readiness_rides_out_one_failed_check_and_drops_on_the_threshold(
    env, host_settings, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    """One slow ping (a stall shorter than a re-check) keeps the pod in rotation; readiness_failure_threshold
    failed checks in a row take it out, and one good check brings it back."""
    proxy = await stalling_proxy(env.database_url)
    settings = host_settings(
        database_url=proxy.url, health_check_seconds=0.5, db_ping_timeout_seconds=2, readiness_failure_threshold=2
    )  # a wide window (2.5 s) to resume within, however loaded the box
    host = ServiceHost(settings, _nothing)
    await host.start()
    seen: list[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            seen.append(await _status(host.port))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        assert host.health_failures == 0
        proxy.stall()  # the next check's ping goes unanswered: one failed check
        await _until(lambda: host.health_failures == 1, within=5)
        proxy.resume()  # answered before the re-check's own ping times out
        await _until(lambda: host.health_failures == 0, within=5)
        await asyncio.sleep(0.3)
        sampling = False
        await sampler
        assert NOT_SERVING not in seen and seen, seen

        proxy.stall()
        await _until(lambda: host.health_failures == 1, within=5)
        assert await _status(host.port) == SERVING
        await _seconds_until(host.port, NOT_SERVING, within=10)
        assert host.health_failures >= 2
        proxy.resume()
        await _seconds_until(host.port, SERVING, within=5)
    finally:
        sampling = False
        proxy.resume()
        await asyncio.gather(sampler, return_exceptions=True)
        await asyncio.wait_for(host.stop(), 30)


async def test_readiness_stays_serving_while_calls_hold_every_pooled_connection(env, host_settings) -> None:  # type: ignore[no-untyped-def]
    settings = host_settings(health_check_seconds=0.2, db_pool_size=2, db_pool_timeout_seconds=0.5)
    host = ServiceHost(settings, _nothing)
    await host.start()
    assert host.infra is not None
    engine = host.infra.engine
    release = asyncio.Event()

    async def busy_call() -> None:  # a call holding its connection (a slow statement, a lock wait)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            await release.wait()

    calls = [asyncio.create_task(busy_call()) for _ in range(2)]
    try:
        await asyncio.sleep(0.1)
        seen = []
        for _ in range(12):  # several checks, each longer than the pool's wait
            await asyncio.sleep(0.25)
            seen.append(await _status(host.port))
        assert set(seen) == {SERVING}, seen
    finally:
        release.set()
        await asyncio.gather(*calls)
        await host.stop()


async def test_an_idle_connections_ping_gives_up_on_a_silent_socket_and_the_call_connects_afresh(
    env, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    engine = db.create_engine(proxy.url, env.schema, ping_idle_seconds=0.0, ping_timeout=0.5)
    try:
        assert await _select(engine, "SELECT 1") == 1
        proxy.fail_over()
        started = time.monotonic()
        assert await asyncio.wait_for(_select(engine, "SELECT 2"), 10) == 2
        assert time.monotonic() - started < 2  # the ping timeout, then a fresh connection
    finally:
        await engine.dispose()


async def test_a_statement_on_a_silent_socket_fails_within_the_command_timeout_and_the_next_connects_afresh(
    env, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    engine = db.create_engine(proxy.url, env.schema, command_timeout=0.5)
    pool = readpool.read_pool(engine)
    try:
        assert await _select(engine, "SELECT 1") == 1
        assert await pool.fetchrow("SELECT 1") is not None
        proxy.fail_over()
        for read in (lambda: _select(engine, "SELECT 2"), lambda: pool.fetchrow("SELECT 2")):
            started = time.monotonic()
            with pytest.raises(TimeoutError) as failed:
                await asyncio.wait_for(read(), 10)
            assert time.monotonic() - started < 2
            assert infra.is_infrastructure(failed.value)  # answered UNAVAILABLE, retried by consumers
        assert await asyncio.wait_for(_select(engine, "SELECT 3"), 5) == 3
        assert await asyncio.wait_for(pool.fetchrow("SELECT 3"), 5) is not None
        assert pool.open == 1
    finally:
        await readpool.close_read_pool(engine)
        await engine.dispose()


async def test_the_relay_publishes_what_was_committed_after_its_connection_went_dead(
    env, nats_url: str, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    settings = ServiceSettings(
        service_name="inventory",
        db_schema=env.schema,
        database_url=proxy.url,
        nats_url=nats_url,
        outbox_poll_seconds=0.2,
        outbox_command_timeout_seconds=1.0,
    )
    relay = RelayThread(settings, env.engine)
    relay.start()
    try:
        await _write(env, "before")
        await _until(lambda: relay.stats.published == 1, within=10)
        proxy.fail_over()  # the relay's connection goes silent; the service's own does not use the proxy
        await _write(env, "after")
        took = await _until(lambda: relay.stats.published == 2, within=15)
        assert took < 6, took  # the command timeout, the connection closed, a fresh one on the next pass
    finally:
        await relay.stop()


async def test_a_consumer_applies_what_comes_after_its_connection_went_dead(env, host_settings, stalling_proxy) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    applied: list[str] = []

    async def handle(event: events_pb2.StockChanged, _uow: UnitOfWork) -> None:
        applied.append(event.level.sku)

    async def build(infra_: Any) -> ServiceParts:
        subscription = Subscription.of(events_pb2.StockChanged, handle)
        consumer = infra_.consumer(
            lambda sessions: UnitOfWork(sessions, source="testsvc"),
            "stalls",
            "INVENTORY",
            [subscription],
            infra_backoff=lambda n: 0.2,
        )
        return ServiceParts(
            register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={}, consumers=[consumer]
        )

    settings = host_settings(database_url=proxy.url, db_command_timeout_seconds=1.0, consumer_linger_seconds=0)
    host = ServiceHost(settings, build)
    await host.start()
    try:

        async def publish(sku: str) -> None:
            event = _event(sku)
            event.meta.event_id = f"{sku}-{env.schema}"
            await env.js.publish("inventory.stock.changed", event.SerializeToString())

        await publish("before")
        await _until(lambda: "before" in applied, within=10)
        proxy.fail_over()
        await publish("after")
        took = await _until(lambda: "after" in applied, within=20)
        assert took < 8, took
    finally:
        await asyncio.wait_for(host.stop(), 30)


async def test_every_database_socket_has_keepalives_and_a_user_timeout(env) -> None:  # type: ignore[no-untyped-def]
    engine = db.create_engine(env.database_url, env.schema, tcp_keepalive=9, tcp_user_timeout=20)
    probe = db.DatabaseProbe(engine, 5)
    try:
        async with db.driver_connection(engine) as pooled, readpool.read_pool(engine).connection() as read:
            assert await probe.check()
            assert probe._conn is not None
            for conn in (pooled, read, probe._conn):
                sock = conn._transport.get_extra_info("socket")
                assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 9
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
                assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 20_000
    finally:
        await probe.close()
        await readpool.close_read_pool(engine)
        await engine.dispose()
    assert db.connection_class(0, 0) is db.asyncpg.Connection  # both off: asyncpg's own


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_with_the_default_settings_readiness_drops_within_15s_and_the_relay_recovers_within_30s(
    env, host_settings, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    """The promises of docs/architecture.md (readiness) and docs/reliability.md (relay), at the defaults."""
    proxy = await stalling_proxy(env.database_url)
    host = ServiceHost(host_settings(database_url=proxy.url), _nothing)
    await host.start()
    try:
        assert host.relay is not None
        relay = host.relay
        await _write(env, "before")
        await _until(lambda: relay.stats.published == 1, within=10)
        proxy.fail_over()  # every socket through the proxy goes silent, new ones work
        await _write(env, "after")
        took = await _until(lambda: relay.stats.published == 2, within=60)
        print(f"relay: published {took:.1f} s after the fail-over")
        assert took < 30, took
        await _seconds_until(host.port, SERVING, within=10)
        proxy.stall()
        took = await _seconds_until(host.port, NOT_SERVING, within=30)
        print(f"readiness: NOT_SERVING {took:.1f} s after the database stopped answering")
        assert took < 15, took  # 2 s + 2 x (5 s ping timeout + 0.25 s re-check), ~12.5 s
    finally:
        proxy.resume()
        await asyncio.wait_for(host.stop(), 60)
