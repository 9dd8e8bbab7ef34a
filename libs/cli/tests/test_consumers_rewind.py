"""`onepool consumers list|rewind` on a real nats-server, with real consumers applying events into a real
PostgreSQL while the command runs: a restored database forgets effects (and their inbox rows) of events the
consumer had acknowledged; the rewind delivers them again, once, and nothing else twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_cli import consumers
from onepool_cli.main import app
from onepool_runtime import db, messaging
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.tables import metadata
from onepool_runtime.testing.infra import Postgres
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio
STREAM = "INVENTORY"  # one of the services' streams: `consumers` looks at those only


@dataclass
class Env:
    engine: AsyncEngine
    database_url: str  # its own database, whose "settlement" schema is what the rewind reads as restored
    nats_url: str
    nc: Client
    js: JetStreamContext

    @property
    def db(self) -> tuple[str, str]:
        return ("--database-url", self.database_url)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="rewindtest")

    async def applied(self) -> list[str]:
        async with self.engine.connect() as conn:
            return [r[0] for r in await conn.execute(text("SELECT event_id FROM applied ORDER BY event_id"))]

    def consumer(self, name: str) -> EventConsumer:
        async def handle(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
            await uow.session.execute(text("INSERT INTO applied VALUES (:e)"), {"e": event.meta.event_id})

        # "settlement-...": a durable name of a service, as every consumer the services create is.
        sub = Subscription("inventory.stock.changed", events_pb2.StockChanged, handle)
        return EventConsumer(self.js, self.uow, service="settlement", name=name, stream=STREAM, subscriptions=[sub])

    async def publish(self, n: int) -> list[str]:
        ids = [f"evt-{uuid.uuid4().hex[:12]}" for _ in range(n)]
        for event_id in ids:
            event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id=event_id))
            await self.js.publish(
                "inventory.stock.changed", event.SerializeToString(), headers={"Nats-Msg-Id": event_id}
            )
        return ids

    async def forget(self, ids: list[str]) -> None:
        """What restoring a backup taken before these events does to the consumer's database."""
        async with self.engine.begin() as conn:
            await conn.execute(text("DELETE FROM applied WHERE event_id = ANY(:i)"), {"i": ids})
            await conn.execute(text("DELETE FROM inbox WHERE event_id = ANY(:i)"), {"i": ids})


@pytest.fixture
async def env(postgres: Postgres, nats_url: str) -> AsyncIterator[Env]:
    database_url = await postgres.new_database("rw")
    engine = db.create_engine(database_url, "settlement")
    await db.ensure_schema(engine, "settlement")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("CREATE TABLE applied (event_id text)"))
    nc = await messaging.connect(nats_url, "rewind-tests")
    js = nc.jetstream()
    await messaging.ensure_service_stream(js, "inventory")
    yield Env(engine, database_url, nats_url, nc, js)
    await js.delete_stream(STREAM)
    await nc.close()
    await engine.dispose()


async def _cli(*args: str, code: int = 0, answer: str = "") -> str:
    consumers.console.width = 400  # one table row per line
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), input=answer)
    assert result.exit_code == code, result.output
    return result.output


async def _until(probe: Callable[[], Awaitable[bool]], wait: float = 15.0) -> None:
    for _ in range(int(wait / 0.1)):
        if await probe():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def _settled(env: Env, durable: str) -> bool:
    info = await env.js.consumer_info(STREAM, durable)
    return not info.num_pending and not info.num_ack_pending


async def test_rewind_while_running_redelivers_what_the_restore_forgot_once(env: Env) -> None:
    running = env.consumer("restored")
    task = asyncio.create_task(running.run())
    try:
        before = await env.publish(5)
        await asyncio.sleep(0.05)
        backup_time = datetime.now(UTC)
        after = await env.publish(5)
        await _until(lambda: _has(env, before + after))
        await _until(lambda: _settled(env, running.durable))
        await env.forget(after)  # the restore

        listing = await _cli("consumers", "list", "--nats-url", env.nats_url)
        row = next(line for line in listing.splitlines() if running.durable in line)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells[:5] == [running.durable, STREAM, "10", "10", "0"], row  # delivered and acknowledged up to 10

        cmd = ["consumers", "rewind", "--since", backup_time.isoformat(), "--nats-url", env.nats_url, *env.db]
        refused = await _cli(*cmd, code=1, answer="n\n")  # asked first; "no" changes nothing
        assert "delivers again from 6 (5 acknowledged message(s) again)" in refused
        assert (await env.js.consumer_info(STREAM, running.durable)).ack_floor.stream_seq == 10

        said = await _cli(*cmd, "--yes", "--service", "settlement")
        assert f"rewound {running.durable} on {STREAM} to 6" in said
        await _until(lambda: _has(env, before + after))
        await _until(lambda: _settled(env, running.durable))
        again = await _cli(*cmd, "--yes", "--consumer", running.durable)  # a second rewind: same end state
        assert f"rewound {running.durable} on {STREAM} to 6" in again
        await _until(lambda: _settled(env, running.durable))
        await asyncio.sleep(0.5)
        assert await env.applied() == sorted(before + after)  # each once: the inbox dropped the rest
        assert running.duplicates == 5  # the second rewind's; the first applied the forgotten five
        assert running.rebinds == 0  # the same durable throughout: the running service never lost it
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_rewind_never_moves_a_consumer_forward(env: Env) -> None:
    behind = env.consumer("behind")
    await behind.ensure()  # created, never run: nothing acknowledged
    early = await env.publish(3)
    await asyncio.sleep(0.05)
    since = datetime.now(UTC)
    await env.publish(3)
    said = await _cli("consumers", "rewind", "--since", since.isoformat(), "--yes", "--nats-url", env.nats_url, *env.db)
    assert "acknowledged nothing published since then (ack floor 0): left as it is" in said
    assert "the restored settlement database bounds no backup time (its inbox and outbox are empty)" in said
    assert "nothing to rewind" in said
    task = asyncio.create_task(behind.run())
    try:
        await _until(lambda: _has(env, early))  # what came before --since is still delivered
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    future = await _cli(
        "consumers", "rewind", "--since", "2999-01-01T00:00:00Z", "--yes", "--nats-url", env.nats_url, *env.db
    )
    assert "nothing published since then" in future


async def test_refusals_name_what_is_wrong(env: Env) -> None:
    naive = await _cli("consumers", "rewind", "--since", "2025-03-01T09:30:00", "--nats-url", env.nats_url, code=2)
    assert "--since" in naive and "no UTC offset" in naive
    garbage = await _cli("consumers", "rewind", "--since", "yesterday", "--nats-url", env.nats_url, code=2)
    assert "not an RFC 3339 time" in garbage
    unknown = await _cli(
        "consumers",
        "rewind",
        "--since",
        "2025-03-01T09:30:00Z",
        "-c",
        "nope",
        "--nats-url",
        env.nats_url,
        *env.db,
        code=2,
    )
    assert "no durable consumer named nope" in unknown


async def test_a_since_after_what_the_restored_database_holds_is_refused_naming_its_bound(env: Env) -> None:
    running = env.consumer("late")
    task = asyncio.create_task(running.run())
    try:
        before = await env.publish(5)
        await _until(lambda: _has(env, before))
        await asyncio.sleep(0.05)
        first_lost = await env.publish(3)  # 6..8: after the backup
        await asyncio.sleep(0.05)
        late = datetime.now(UTC)  # an operator's --since after the backup (a wrong note, a clock, a typo)
        second_lost = await env.publish(2)  # 9, 10
        await _until(lambda: _has(env, before + first_lost + second_lost))
        await _until(lambda: _settled(env, running.durable))
        await env.forget(first_lost + second_lost)  # the restore
        async with env.engine.connect() as conn:
            bound = await conn.scalar(text("SELECT max(processed_at) FROM inbox"))
        stamp = bound.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        cmd = ["consumers", "rewind", "--since", late.isoformat(), "--yes", "--nats-url", env.nats_url, *env.db]
        refused = await _cli(*cmd, code=2)
        assert (
            f"refused: {running.durable}: the restored settlement database's newest inbox/outbox row is from {stamp}"
            in refused
        )
        assert f"3 message(s) of {STREAM} published in between, from sequence 6" in refused, refused
        assert "would not be delivered again" in refused and "--force" in refused
        assert (await env.js.consumer_info(STREAM, running.durable)).ack_floor.stream_seq == 10  # left alone

        forced = await _cli(*cmd, "--force")
        assert f"warning (--force): {running.durable}: the restored settlement" in forced
        assert f"rewound {running.durable} on {STREAM} to 9" in forced
        await _until(lambda: _has(env, before + second_lost))
        await _until(lambda: _settled(env, running.durable))
        await asyncio.sleep(0.3)
        assert await env.applied() == sorted(before + second_lost)  # what --force was told it skips: 6..8

        early = await _cli(
            "consumers", "rewind", "--since", bound.isoformat(), "--yes", "--nats-url", env.nats_url, *env.db
        )
        assert f"rewound {running.durable} on {STREAM} to 6" in early and "refused" not in early
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_consumer_behind_at_the_backup_gets_back_what_only_its_saved_positions_show(
    env: Env, tmp_path: Path
) -> None:
    lagging = env.consumer("lagging")
    await lagging.ensure()
    early = await env.publish(5)  # 1..5 published before the backup
    sub = await env.js.pull_subscribe_bind(durable=lagging.durable, stream=STREAM)
    for msg in await sub.fetch(3, timeout=5.0):  # it has applied and acknowledged 1..3 only
        await lagging.process(msg)
    await sub.unsubscribe()
    await _until(lambda: _floor(env, lagging.durable, 3))
    other = env.consumer("newer")  # created after the save: not in the file
    saved = tmp_path / "onepool.positions"
    said = await _cli("consumers", "save-positions", str(saved), "--nats-url", env.nats_url)
    assert "saved the ack floors of 1 durable consumer(s) at" in said and str(saved) in said
    doc = json.loads(saved.read_text())
    assert doc["consumers"] == [{"stream": STREAM, "name": lagging.durable, "ack_floor": 3, "delivered": 3}]
    assert doc["streams"][STREAM]["last_seq"] == 5
    await asyncio.sleep(0.05)
    backup_time = datetime.now(UTC)  # the dump holds 1..3: what the database has now
    late = await env.publish(5)  # 6..10
    await other.ensure()
    task = asyncio.create_task(lagging.run())
    try:
        await _until(lambda: _has(env, early + late))  # it catches up on 4..10 after the backup
        await _until(lambda: _settled(env, lagging.durable))
        await env.forget(early[3:] + late)  # the restore: 1..3 only

        # The documented limit of --since: the restored inbox's newest row is from after 4 and 5 were
        # published, so a --since at the backup passes the bound check, and 4 and 5 never come again.
        since = ["consumers", "rewind", "--since", backup_time.isoformat(), "-c", lagging.durable, "--yes"]
        blind = await _cli(*since, "--nats-url", env.nats_url, *env.db)
        assert "refused" not in blind and f"rewound {lagging.durable} on {STREAM} to 6" in blind
        assert "a --since cannot see a consumer that was behind at the backup" in blind
        await _until(lambda: _has(env, early[:3] + late))
        await _until(lambda: _settled(env, lagging.durable))
        await asyncio.sleep(0.3)
        assert await env.applied() == sorted(early[:3] + late)  # 4 and 5: lost

        # The saved position covers it: from the floor + 1, each event once.
        cmd = ["consumers", "rewind", "--to-positions", str(saved), "--yes", "--nats-url", env.nats_url]
        for _ in range(2):  # a second rewind: the same end state
            done = await _cli(*cmd)
            assert f"rewound {lagging.durable} on {STREAM} to 4" in done, done
            assert "delivers again from 4, past its saved ack floor 3 (7 acknowledged message(s) again)" in done
            assert f"{other.durable} on {STREAM} is not in {saved}" in done
            await _until(lambda: _settled(env, lagging.durable))
        await asyncio.sleep(0.3)
        assert await env.applied() == sorted(early + late)  # each once: the inbox dropped the rest
        assert (await env.js.consumer_info(STREAM, other.durable)).ack_floor.stream_seq == 0  # left alone

        # A durable the file has but the server does not is said; one behind its saved floor is not moved.
        doc["consumers"] += [
            {"stream": STREAM, "name": "settlement-gone", "ack_floor": 2, "delivered": 2},
            {"stream": STREAM, "name": other.durable, "ack_floor": 8, "delivered": 8},
        ]
        saved.write_text(json.dumps(doc))
        said = await _cli(*cmd)
        assert "settlement-gone on INVENTORY (saved ack floor 2) is not on the server" in said
        assert "ack floor 0, before the saved 8: it delivers those again anyway; left as it is" in said
        assert (await env.js.consumer_info(STREAM, other.durable)).ack_floor.stream_seq == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    both = await _cli("consumers", "rewind", "--since", "2025-03-01T09:30:00Z", "--to-positions", str(saved), code=2)
    assert "exactly one of --since and --to-positions" in both
    saved.write_text("{}")
    bad = await _cli("consumers", "rewind", "--to-positions", str(saved), "--nats-url", env.nats_url, code=2)
    assert "--to-positions" in bad and "not a positions file" in bad


async def _floor(env: Env, durable: str, seq: int) -> bool:
    return (await env.js.consumer_info(STREAM, durable)).ack_floor.stream_seq == seq


async def _has(env: Env, ids: list[str]) -> bool:
    return set(ids) <= set(await env.applied())
