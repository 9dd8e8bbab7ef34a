"""The transactional outbox and its relay, against real PostgreSQL and JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Callable

import asyncpg
import pytest
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_contracts.events import subject_of
from onepool_runtime import db, messaging, outbox
from onepool_runtime.relay import PURGE_STATEMENTS, OutboxRelay
from onepool_runtime.testing.plans import generic_plan
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import event, text

pytestmark = pytest.mark.asyncio

# The outbox takes the subject from the event registry; this module's own NATS server gets inventory's stream.
SUBJECT = subject_of(events_pb2.StockChanged)


@pytest.fixture(autouse=True)
async def inventory_stream(env):  # type: ignore[no-untyped-def]
    await messaging.ensure_service_stream(env.js, "inventory")
    yield
    await env.js.delete_stream(messaging.STREAMS["inventory"])


class RelayKilled(Exception):
    pass


def _event(sku: str) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = sku
    event.level.on_hand = 5
    return event


async def _stream_messages(env, subject: str) -> list:  # type: ignore[no-untyped-def]
    sub = await env.js.pull_subscribe(subject, stream=messaging.STREAMS["inventory"])
    messages = []
    while True:
        try:
            batch = await sub.fetch(100, timeout=0.5)
        except TimeoutError:
            break
        for m in batch:
            await m.ack()
        messages.extend(batch)
    await sub.unsubscribe()
    return messages


def _relay(env, **kwargs) -> OutboxRelay:  # type: ignore[no-untyped-def]
    return OutboxRelay(env.engine, env.js, schema=env.schema, **kwargs)


async def test_committed_event_is_published_once_even_when_relay_dies_before_marking(env) -> None:  # type: ignore[no-untyped-def]
    subject = SUBJECT
    async with env.uow() as uow:
        uow.publish(_event("SKU-A"))
        await uow.commit()

    async def die(_ids: list[str]) -> None:
        raise RelayKilled("killed between PubAck and marking the row")

    with pytest.raises(RelayKilled):
        await _relay(env, after_publish=die).publish_pending()

    async with env.engine.connect() as conn:
        unpublished = (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
    assert unpublished == 1  # the mark was rolled back with the dead relay

    second = _relay(env)
    assert await second.publish_pending() == 1  # published again...
    assert await second.publish_pending() == 0

    messages = await _stream_messages(env, subject)
    assert len(messages) == 1  # ...and JetStream dropped the duplicate by Nats-Msg-Id
    received = events_pb2.StockChanged.FromString(messages[0].data)
    assert received.level.sku == "SKU-A"
    assert messages[0].headers["Nats-Msg-Id"] == received.meta.event_id
    assert received.meta.type == "onepool.inventory.v1.StockChanged"


async def test_rolled_back_transaction_publishes_nothing(env) -> None:  # type: ignore[no-untyped-def]
    subject = SUBJECT
    async with env.uow() as uow:
        uow.publish(_event("SKU-ROLLBACK"))
        await uow.flush_events()  # written to the outbox table inside the transaction...
        await uow.rollback()  # ...and undone with it

    assert await _relay(env).publish_pending() == 0
    assert await _stream_messages(env, subject) == []


async def test_running_relay_publishes_within_moments_of_commit(env) -> None:  # type: ignore[no-untyped-def]
    """A commit that wrote outbox rows wakes the relay, so it does not wait for its poll interval."""
    subject = SUBJECT
    relay = _relay(env, poll_seconds=30.0)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)
        async with env.uow() as uow:
            for i in range(3):
                uow.publish(_event(f"SKU-{i}"))
            await uow.commit()
        for _ in range(50):
            if relay.stats.published == 3:
                break
            await asyncio.sleep(0.1)
        assert relay.stats.published == 3
    finally:
        task.cancel()
    skus = [events_pb2.StockChanged.FromString(m.data).level.sku for m in await _stream_messages(env, subject)]
    assert skus == ["SKU-0", "SKU-1", "SKU-2"]  # commit order is publication order


async def test_a_message_that_is_not_an_event_is_refused_and_nothing_is_written(env) -> None:  # type: ignore[no-untyped-def]
    async with env.uow() as uow:
        uow.publish(_event("SKU-OK"))
        uow.publish(common_pb2.Money(currency="CNY", amount_minor=1))  # no subject option: not an event
        with pytest.raises(LookupError, match=r"onepool\.common\.v1\.Money is not an event"):
            await uow.commit()

    async with env.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0


async def _wait_published(relay: OutboxRelay, n: int, within: float = 5.0) -> None:
    await _until(lambda: relay.stats.published >= n, f"{n} events published", within)


async def _until(check: Callable[[], bool], what: str, within: float = 5.0) -> None:
    for _ in range(int(within / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not {what} within {within}s")


async def test_a_commit_made_while_the_relay_publishes_is_published_at_once(env) -> None:  # type: ignore[no-untyped-def]
    """The wake-up of a commit that lands during a relay pass starts the next pass: it is not lost until the
    next poll (30 s here)."""
    committed_during_pass = asyncio.Event()

    async def commit_another(_ids: list[str]) -> None:
        if not committed_during_pass.is_set():
            async with env.uow() as uow:
                uow.publish(_event("SKU-DURING"))
                await uow.commit()
            committed_during_pass.set()

    relay = _relay(env, poll_seconds=30.0, after_publish=commit_another)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)
        async with env.uow() as uow:
            uow.publish(_event("SKU-FIRST"))
            await uow.commit()
        await _wait_published(relay, 2)
    finally:
        task.cancel()
    skus = [events_pb2.StockChanged.FromString(m.data).level.sku for m in await _stream_messages(env, SUBJECT)]
    assert skus == ["SKU-FIRST", "SKU-DURING"]


async def test_writing_events_sends_no_notify(env) -> None:  # type: ignore[no-untyped-def]
    """NOTIFY would make every writing transaction queue on PostgreSQL's one notify lock at commit."""
    heard: list[str] = []
    listener = await asyncpg.connect(db.plain_url(env.database_url))
    try:
        for channel in (f"onepool_outbox_{env.schema}", "onepool_outbox"):
            await listener.add_listener(channel, lambda *args: heard.append(str(args[2])))
        async with env.uow() as uow:
            uow.publish(_event("SKU-QUIET"))
            await uow.commit()
        await listener.execute("SELECT 1")  # a round trip after the commit: any notification has arrived
        await asyncio.sleep(0.2)
    finally:
        await listener.close()
    assert heard == []


async def test_rows_another_process_wrote_are_found_by_the_poll(env) -> None:  # type: ignore[no-untyped-def]
    """A writer on another pool (another process or replica) cannot wake this relay; its poll finds them."""
    other = db.create_engine(env.database_url, env.schema)
    relay = _relay(env, poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.3)
        async with UnitOfWork(db.session_factory(other), source="testsvc") as uow:
            uow.publish(_event("SKU-ELSEWHERE"))
            await uow.commit()
        await _wait_published(relay, 1)
    finally:
        task.cancel()
        await other.dispose()


async def test_event_ids_come_from_the_buffered_random_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """No system call per event: os.urandom gives the interpreter lock up, to the relay's thread (ids.py)."""
    reads: list[int] = []
    real = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: reads.append(n) or real(n))
    made = {outbox.new_event_id() for _ in range(200)}
    assert len(made) == 200
    assert len(reads) <= 1


async def test_a_relay_pass_is_three_messages_to_the_database_and_marks_what_it_published(env) -> None:  # type: ignore[no-untyped-def]
    """BEGIN, the claim, and the mark sent with its COMMIT: each message is a wait for PostgreSQL and, on the
    relay's own thread, for the interpreter lock (relay.py)."""
    engine = db.create_engine(env.database_url, env.schema, pool_size=1, max_overflow=0)
    sent: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _log(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.driver_connection.add_query_logger(lambda record: sent.append(record.query.strip()))

    try:
        relay = OutboxRelay(engine, env.js, schema=env.schema)
        assert await relay.publish_pending() == 0  # connects (its first-connect queries are not the point)
        async with env.uow() as uow:
            for i in range(3):
                uow.publish(_event(f"SKU-PASS-{i}"))
            await uow.commit()
        await asyncio.sleep(0.05)  # asyncpg hands its log records over in a later loop iteration
        sent.clear()
        assert await relay.publish_pending() == 3
        await asyncio.sleep(0.05)
        assert len(sent) == 3, sent
        assert sent[-1].endswith("COMMIT")
        assert await relay.publish_pending() == 0  # marked: nothing left to claim
    finally:
        await engine.dispose()
    async with env.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar() == 0
    skus = [events_pb2.StockChanged.FromString(m.data).level.sku for m in await _stream_messages(env, SUBJECT)]
    assert skus == ["SKU-PASS-0", "SKU-PASS-1", "SKU-PASS-2"]


async def _outbox_rows(env, rows: list[tuple[str, str | None]]) -> None:  # type: ignore[no-untyped-def]
    """Rows in seq order, each (created_at, published_at) as SQL expressions (NULL: not published yet)."""
    async with env.engine.begin() as conn:
        for created, published in rows:
            await conn.execute(
                text(
                    "INSERT INTO outbox (id, subject, payload, created_at, published_at) "
                    f"VALUES (gen_random_uuid()::text, 'x.y', '', {created}, {published or 'NULL'})"
                )
            )


async def _outbox_ages(env) -> list[tuple[bool, bool]]:  # type: ignore[no-untyped-def]
    """What is left, in seq order: (published, published over a day ago) per row."""
    async with env.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT published_at IS NOT NULL, published_at < now() - interval '1 day' FROM outbox ORDER BY seq")
        )
        return [(bool(p), bool(old)) for p, old in rows]


OLD, RECENT = "now() - interval '2 days'", "now() - interval '1 hour'"


async def test_purge_deletes_only_rows_published_before_the_retention_chunk_by_chunk(env) -> None:  # type: ignore[no-untyped-def]
    # Seven old published rows around an old row never published (NATS refused it for two days), then rows
    # younger than the cut-off, one of them old enough by its published_at's clock skew alone.
    await _outbox_rows(
        env,
        [(OLD, OLD)] * 3 + [(OLD, None)] + [(OLD, OLD)] * 4 + [(RECENT, RECENT), (RECENT, None), (RECENT, RECENT)],
    )
    relay = _relay(env, retention_seconds=86400.0, purge_chunk=3)
    steps = 1
    while await relay.purge_step():
        steps += 1
    assert relay.stats.purged == 7
    assert steps == 3  # 3 rows a chunk: the third reaches the rows younger than the cut-off and ends the purge
    assert await _outbox_ages(env) == [(False, False), (True, False), (False, False), (True, False)]
    assert not await relay.purge_step()  # the next purge starts from the oldest row again: nothing to delete
    assert relay.stats.purged == 7


async def test_the_purge_reads_the_outbox_by_its_primary_key_never_the_whole_table(env) -> None:  # type: ignore[no-untyped-def]
    """Published rows stay a day: at campaign rates millions of them, read on every purge by a filter on
    published_at, which no index serves."""
    async with env.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox (id, subject, payload, published_at) "
                "SELECT 'e' || i, 'x.y', '', now() FROM generate_series(1, 20000) i"
            )
        )
        await conn.execute(text("ANALYZE outbox"))
    async with env.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            for sql in PURGE_STATEMENTS:
                plan = await generic_plan(driver, sql)
                assert "Seq Scan" not in plan and "outbox_pkey" in plan, plan


async def test_a_running_relay_purges_old_rows_and_goes_on_publishing(env) -> None:  # type: ignore[no-untyped-def]
    await _outbox_rows(env, [(OLD, OLD)] * 7)
    r = _relay(env, purge_chunk=3)
    task = asyncio.create_task(r.run())
    try:
        async with env.uow() as uow:
            uow.publish(_event("SKU-AFTER-PURGE"))
            await uow.commit()
        await _wait_published(r, 1)
        await _until(lambda: r.stats.purged == 7, "the 7 old rows purged")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await _outbox_ages(env) == [(True, False)]


async def test_a_deleted_stream_is_ensured_again_and_what_waits_is_published(env) -> None:  # type: ignore[no-untyped-def]
    """An operator deleted the stream, or a JetStream node came back without it: every publish finds no stream.
    The relay ensures it again (what the relay thread gives it) rather than fail the rows for good."""
    relay = _relay(
        env, poll_seconds=30.0, ensure_stream=functools.partial(messaging.ensure_service_stream, env.js, "inventory")
    )
    task = asyncio.create_task(relay.run())
    try:
        async with env.uow() as uow:
            uow.publish(_event("before"))
            await uow.commit()
        for _ in range(100):
            if relay.stats.published == 1:
                break
            await asyncio.sleep(0.05)
        await env.js.delete_stream(messaging.STREAMS["inventory"])
        async with env.uow() as uow:
            uow.publish(_event("after"))
            await uow.commit()
        for _ in range(100):
            if relay.stats.published == 2:
                break
            await asyncio.sleep(0.05)
        assert relay.stats.published == 2, relay.stats
        assert relay.stats.failed == 1  # the first try, with no stream
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    skus = [events_pb2.StockChanged.FromString(m.data).level.sku for m in await _stream_messages(env, SUBJECT)]
    assert skus == ["after"]
