"""`onepool outbox resend` on a real nats-server and PostgreSQL: events published by the real relay, the
stream purged (JetStream lost its data), the outbox's rows re-sent in their order with the relay's headers; a
running consumer drops what it had applied, the server drops what it still holds within its duplicate window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_cli import outbox
from onepool_cli.main import app
from onepool_runtime import db, messaging
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.relay import OutboxRelay
from onepool_runtime.tables import metadata
from onepool_runtime.testing.infra import Postgres
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio
STREAM = "INVENTORY"
SUBJECT = "inventory.stock.changed"


@dataclass
class Env:
    engine: AsyncEngine  # its own database, whose "inventory" schema is the outbox the command reads
    database_url: str
    nats_url: str
    nc: Client
    js: JetStreamContext

    def args(self) -> list[str]:
        return ["--service", "inventory", "--database-url", self.database_url, "--nats-url", self.nats_url]

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="resendtest")

    async def publish(self, n: int) -> list[str]:
        """n events written to the outbox and published by the relay; their ids in outbox order."""
        ids = []
        for i in range(n):
            async with self.uow() as uow:
                event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
                event.level.sku = f"SKU-{i}"
                uow.publish(event)
                await uow.commit()
            ids.append(event.meta.event_id)
        assert await OutboxRelay(self.engine, self.js, schema="inventory").publish_pending() == n
        return ids

    async def stored(self) -> list[tuple[str, str, str]]:
        """(event id, Nats-Msg-Id, Onepool-Event-Type) of every message the stream holds, in its order."""
        info = await self.js.stream_info(STREAM)
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            if not info.state.messages:
                break
            raw = await self.js.get_msg(STREAM, seq=seq)
            event = events_pb2.StockChanged.FromString(raw.data or b"")
            headers = raw.headers or {}
            found.append((event.meta.event_id, headers["Nats-Msg-Id"], headers["Onepool-Event-Type"]))
        return found

    async def applied(self) -> list[str]:
        async with self.engine.connect() as conn:
            return [r[0] for r in await conn.execute(text("SELECT event_id FROM applied ORDER BY n"))]

    def consumer(self, name: str) -> EventConsumer:
        async def handle(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
            await uow.session.execute(text("INSERT INTO applied (event_id) VALUES (:e)"), {"e": event.meta.event_id})

        sub = Subscription(SUBJECT, events_pb2.StockChanged, handle)
        return EventConsumer(self.js, self.uow, service="settlement", name=name, stream=STREAM, subscriptions=[sub])


@pytest.fixture
async def env(postgres: Postgres, nats_url: str) -> AsyncIterator[Env]:
    database_url = await postgres.new_database("resend")
    engine = db.create_engine(database_url, "inventory")
    await db.ensure_schema(engine, "inventory")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("CREATE TABLE applied (n serial, event_id text)"))
    nc = await messaging.connect(nats_url, "resend-tests")
    js = nc.jetstream()
    await messaging.ensure_service_stream(js, "inventory")
    yield Env(engine, database_url, nats_url, nc, js)
    await js.delete_stream(STREAM)
    await nc.close()
    await engine.dispose()


async def _cli(*args: str, code: int = 0, answer: str = "") -> str:
    outbox.console.width = 400  # one table row per line
    result = await asyncio.to_thread(CliRunner().invoke, app, ["outbox", *args], input=answer)
    assert result.exit_code == code, result.output
    return result.output


def _rows(output: str, first: str) -> list[list[str]]:
    """The cells of every table row that starts with `first` (the plan's, then the summary's)."""
    lines = [line for line in output.splitlines() if line.strip("│ ").startswith(first + " ")]
    return [[c.strip() for c in line.strip("│ ").split("│")] for line in lines]


async def _until(probe: Callable[[], Awaitable[bool]], wait: float = 15.0) -> None:
    for _ in range(int(wait / 0.1)):
        if await probe():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def test_resend_after_the_stream_was_lost_restores_its_events_once(env: Env) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    running = env.consumer("applier")
    task = asyncio.create_task(running.run())
    try:
        ids = await env.publish(7)
        before = await env.stored()
        assert [m[0] for m in before] == ids
        await _until(lambda: _applied(env, 7))

        # The disaster: the stream is gone with its messages (and the ids of its duplicate window); a service
        # creates it again when it starts, the running consumer creates its durable again.
        await env.js.delete_stream(STREAM)
        await messaging.ensure_service_stream(env.js, "inventory")

        said = await _cli("resend", "--since", since, "--yes", *env.args())
        plan, summary = _rows(said, "inventory")
        assert plan[:3] == ["inventory", STREAM, "7"]
        assert summary[1:5] == ["7", "0", "0", "0"]  # stored again, duplicates, forgotten, failed
        assert await env.stored() == before  # the same events, in their order, with the relay's headers

        await _until(lambda: _dropped(running, 7))
        assert running.rebinds == 1
        assert await env.applied() == ids  # the consumer's inbox dropped every copy it had applied

        again = await _cli("resend", "--since", since, "--yes", *env.args())  # within the duplicate window
        assert _rows(again, "inventory")[-1][1:5] == ["0", "7", "0", "0"]
        assert await env.stored() == before
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    late = env.consumer("late")  # one created after the disaster applies each event once
    task = asyncio.create_task(late.run())
    try:
        await _until(lambda: _applied(env, 14))
        await asyncio.sleep(0.3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert sorted(await env.applied()) == sorted(ids + ids) and late.duplicates == 0


async def test_after_a_purge_the_ids_the_stream_still_remembers_are_sent_once_its_window_passed(env: Env) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    ids = await env.publish(4)
    before = await env.stored()
    await env.js.purge_stream(STREAM)  # a purge keeps the ids of the duplicate window

    said = await _cli("resend", "--since", since, "--yes", *env.args(), code=1)
    assert _rows(said, "inventory")[-1][1:5] == ["0", "0", "4", "0"]
    assert "4 event(s) not stored: the stream was purged" in said and "run the same command again after" in said
    assert await env.stored() == []

    # The window passing, made short: the server forgets the ids, and the same command stores them.
    info = await env.js.stream_info(STREAM)
    info.config.duplicate_window = 0.5
    await env.js.update_stream(info.config)
    await asyncio.sleep(1.5)
    said = await _cli("resend", "--since", since, "--yes", *env.args())
    assert _rows(said, "inventory")[-1][1:5] == ["4", "0", "0", "0"]
    assert [m[0] for m in await env.stored()] == ids and await env.stored() == before


async def test_messages_deleted_after_the_first_are_forgotten_not_taken_for_held(env: Env) -> None:
    """A subject purged or messages deleted one by one leave the stream's first sequence where it was: their
    events' duplicates name a sequence after it that the stream no longer holds (counted as held before)."""
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await env.publish(5)
    first = (await env.js.stream_info(STREAM)).state.first_seq
    for seq in (first + 1, first + 3):
        await env.js.delete_msg(STREAM, seq)

    said = await _cli("resend", "--since", since, "--yes", *env.args(), code=1)
    assert _rows(said, "inventory")[-1][1:5] == ["0", "3", "2", "0"]  # stored, duplicates, forgotten, failed


async def _applied(env: Env, n: int) -> bool:
    return len(await env.applied()) >= n


async def _dropped(consumer: EventConsumer, n: int) -> bool:
    return consumer.duplicates >= n


async def test_dry_run_and_a_refusal_send_nothing(env: Env) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    before = await env.publish(3)
    await env.js.purge_stream(STREAM)

    dry = await _cli("resend", "--since", since, "--dry-run", *env.args())
    assert "dry run: 3 event(s) would be re-sent" in dry
    no = await _cli("resend", "--since", since, *env.args(), code=1, answer="n\n")
    assert "re-send 3 event(s)?" in no
    assert await env.stored() == []

    later = await _cli("resend", "--since", datetime.now(UTC).isoformat(), "--yes", *env.args())
    assert "nothing to re-send" in later
    assert await env.stored() == []
    assert len(before) == 3


async def test_refusals_name_what_is_wrong(env: Env) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    await env.publish(2)
    await env.js.delete_stream(STREAM)  # gone, and no service running to create it again
    gone = await _cli("resend", "--since", since, "--yes", *env.args(), code=1)
    assert f"no stream {STREAM} (inventory) on the server" in gone
    await messaging.ensure_service_stream(env.js, "inventory")

    naive = await _cli("resend", "--since", "2025-03-01T09:30:00", *env.args(), code=2)
    assert "no UTC offset" in naive
    unknown = await _cli("resend", "--since", since, "--service", "nope", code=2)
    assert "unknown service(s) nope" in unknown
    old = await _cli("resend", "--since", "2020-01-01T00:00:00Z", "--dry-run", *env.args())
    assert "the outboxes keep published events 24 h" in old
