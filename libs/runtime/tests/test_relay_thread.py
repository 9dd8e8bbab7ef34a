"""The service's outbox relay on its own thread: a busy service loop does not hold its events back."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import messaging
from onepool_runtime.relay import OutboxRelay
from onepool_runtime.relay_thread import RelayThread
from onepool_runtime.server import ServiceHost, ServiceParts
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.services import test_settings

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
async def inventory_stream(env):  # type: ignore[no-untyped-def]
    await messaging.ensure_service_stream(env.js, "inventory")
    yield
    await env.js.delete_stream(messaging.STREAMS["inventory"])


def _event(sku: str) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = sku
    return event


async def _started(env, nats_url: str, **settings: object) -> RelayThread:  # type: ignore[no-untyped-def]
    config = ServiceSettings(
        service_name="testsvc", db_schema=env.schema, database_url=env.database_url, nats_url=nats_url, **settings
    )
    relay = RelayThread(config, env.engine)
    relay.start()
    for _ in range(200):  # until its relay listens for commits (it connects first)
        if relay.relay is not None and relay.relay._loop is not None:
            return relay
        await asyncio.sleep(0.05)
    await relay.stop()
    raise AssertionError("the relay thread did not start within 10 s")


async def _nothing(_infra) -> ServiceParts:  # type: ignore[no-untyped-def]
    return ServiceParts(register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={})


def _busy_until(done: object, within: float) -> None:
    """Hold the calling event loop (as request handlers do under load) until `done()` or `within` seconds."""
    deadline = time.monotonic() + within
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.005)


async def test_a_commit_is_published_while_the_service_loop_is_busy(env, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    """The commit wakes the relay across threads (its poll is 30 s here) and the relay publishes on its own
    loop and connections while the committing loop does not yield at all."""
    relay = await _started(env, nats_url, outbox_poll_seconds=30.0)
    try:
        async with env.uow() as uow:
            uow.publish(_event("SKU-BUSY"))
            await uow.commit()
        _busy_until(lambda: relay.stats.published >= 1, within=30.0)
        assert relay.stats.published == 1
    finally:
        await relay.stop()
    sub = await env.js.pull_subscribe("inventory.>", stream=messaging.STREAMS["inventory"])
    [message] = await sub.fetch(1, timeout=5)
    assert events_pb2.StockChanged.FromString(message.data).level.sku == "SKU-BUSY"


async def test_stop_ends_the_thread_and_later_commits_do_not_fail(env, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    relay = await _started(env, nats_url)
    thread = relay._thread
    await relay.stop()
    assert thread is not None and not thread.is_alive()
    async with env.uow() as uow:  # the stopped relay is no longer woken: the commit itself is unaffected
        uow.publish(_event("SKU-AFTER"))
        await uow.commit()


async def test_a_service_hands_the_interpreter_lock_over_at_its_switch_interval(postgres, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    """A service runs its relay on a second thread: each step of a relay pass waits for a busy request handler
    to give the interpreter lock up, and Python's 5 ms default made a pass cost several of them."""
    database_url = await postgres.new_database("switch")
    assert ServiceSettings.model_fields["switch_interval_ms"].default < 5  # below Python's own default
    settings = test_settings(ServiceSettings, database_url, nats_url, service_name="inventory", switch_interval_ms=0.25)
    before = sys.getswitchinterval()
    host = ServiceHost(settings, _nothing)
    try:
        await host.start()
        assert sys.getswitchinterval() == pytest.approx(0.00025)
    finally:
        await host.stop()
        sys.setswitchinterval(before)


async def test_a_stop_landing_with_a_wake_up_still_stops_the_relay(env) -> None:  # type: ignore[no-untyped-def]
    """`RelayThread.stop` cancels the relay's task once. On Python 3.11 `asyncio.wait_for` returned the wake-up it
    waited for instead of a cancellation landing in the same pass of the loop (a commit during the stop): the
    relay went on, `stop` waited out its 10 s (every service stop, every test module's teardown), and the
    thread went on publishing after its service had stopped."""
    relay = OutboxRelay(env.engine, env.js, schema=env.schema, poll_seconds=30.0)
    task = asyncio.create_task(relay.run())
    try:
        for _ in range(200):  # until its first pass is done and it waits to be woken
            if relay._wake._waiters:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        relay._wake.set()  # a commit's wake-up...
        task.cancel()  # ...and the stop, before the relay's task runs again
        await asyncio.wait({task}, timeout=5)
        assert task.cancelled()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
