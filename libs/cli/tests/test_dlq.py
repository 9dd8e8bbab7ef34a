"""`onepool dlq list|show|replay` against a real nats-server and real consumers on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_cli import dlq
from onepool_cli.main import app
from onepool_runtime import db, messaging
from onepool_runtime.consumer import DLQ_STREAM, EventConsumer, PermanentError, Subscription
from onepool_runtime.embedded import free_port, nats_server_binary, port_open
from onepool_runtime.tables import metadata
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio
STREAM = "DLQTEST"


@dataclass
class Env:
    engine: AsyncEngine
    schema: str
    nats_url: str
    nc: Client
    js: JetStreamContext

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="dlqtest")

    async def applied(self) -> list[tuple[str, str]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT consumer, event_id FROM applied ORDER BY consumer, event_id"))
            return [(r[0], r[1]) for r in rows]


@pytest.fixture
async def env(database_url: str, nats_url: str) -> AsyncIterator[Env]:
    schema = f"dlq_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("CREATE TABLE applied (consumer text, event_id text)"))
    nc = await messaging.connect(nats_url, "dlq-cli-tests")
    js = nc.jetstream()
    await messaging.ensure_stream(js, STREAM, [f"{schema}.>"])
    await messaging.ensure_stream(js, DLQ_STREAM, ["dlq.>"])
    yield Env(engine, schema, nats_url, nc, js)
    await js.delete_stream(STREAM)
    await nc.close()
    await engine.dispose()


async def _cli(*args: str) -> str:
    """Run `onepool ...` as an operator would (in a thread: the command runs its own event loop)."""
    dlq.console.width = 400  # one table row per line, nothing folded
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def _until(probe, wait: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(wait / 0.1)):
        if await probe():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


async def test_list_show_and_replay_dead_letters(env: Env) -> None:
    broken = {"on": True}
    subject = f"{env.schema}.stock.changed"

    def handler(name: str, refuse: bool):  # type: ignore[no-untyped-def]
        async def handle(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
            if refuse and broken["on"]:
                raise PermanentError(f"sku {event.level.sku} is not known here")
            await uow.session.execute(
                text("INSERT INTO applied VALUES (:c, :e)"), {"c": name, "e": event.meta.event_id}
            )

        return handle

    def consumer(name: str, refuse: bool) -> EventConsumer:
        return EventConsumer(
            env.js,
            env.uow,
            service="dlqtest",
            name=f"{name}-{env.schema}",
            stream=STREAM,
            subscriptions=[Subscription(f"{env.schema}.>", events_pb2.StockChanged, handler(name, refuse))],
        )

    # "picky" dead-letters everything while broken; "steady" applies every event: a replay is not for it.
    picky, steady = consumer("picky", True), consumer("steady", False)
    tasks = [asyncio.create_task(picky.run()), asyncio.create_task(steady.run())]
    try:
        ids = [f"evt-{uuid.uuid4().hex[:8]}" for _ in range(2)]
        for i, event_id in enumerate(ids):
            event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id=event_id))
            event.level.sku = f"SKU-{i}"
            await env.js.publish(subject, event.SerializeToString(), headers={"Nats-Msg-Id": event_id})

        async def dead() -> list[dlq.DeadLetter]:
            return await dlq.read(env.js, consumer=picky.durable)

        await _until(lambda: _count(dead, 2))
        await _until(lambda: _has(env, [("steady", e) for e in ids]))
        letters = await dead()
        first = next(d for d in letters if d.event_id == ids[0])

        listing = await _cli("dlq", "list", "--nats-url", env.nats_url, "--consumer", picky.durable)
        rows = [line for line in listing.splitlines() if picky.durable in line]
        assert len(rows) == 2
        assert all(subject in row and picky.dlq_subject in row and "permanent: sku SKU-" in row for row in rows)
        assert "2 dead letter(s)" in listing

        shown = await _cli("dlq", "show", str(first.seq), "--nats-url", env.nats_url)
        assert f'"eventId": "{ids[0]}"' in shown  # decoded from protobuf by its Onepool-Event-Type
        assert '"sku": "SKU-0"' in shown
        assert "onepool.inventory.v1.StockChanged" in shown and "Onepool-Error" in shown

        broken["on"] = False  # the operator fixed the cause
        replayed = await _cli("dlq", "replay", str(first.seq), "--nats-url", env.nats_url)
        assert f"replayed 1 dead letter(s): {first.seq}" in replayed
        replayed = await _cli("dlq", "replay", "--all", "--consumer", picky.durable, "--nats-url", env.nats_url)
        assert "replayed 1 dead letter(s)" in replayed

        expected = sorted([("picky", e) for e in ids] + [("steady", e) for e in ids])
        await _until(lambda: _has(env, expected))
        await asyncio.sleep(1.0)  # a second application would show now
        assert await env.applied() == expected  # each event applied once by each consumer, replays included
        assert await dead() == []  # removed from the DLQ stream
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_show_falls_back_to_hex_and_unknown_sequences_are_refused(env: Env) -> None:
    await env.js.publish(
        f"dlq.dlqtest.{env.schema}",
        b"\xff\xfe not protobuf",
        headers={"Onepool-Event-Type": "onepool.inventory.v1.StockChanged", "Onepool-Consumer": env.schema},
    )
    [letter] = await dlq.read(env.js, consumer=env.schema)
    shown = await _cli("dlq", "show", str(letter.seq), "--nats-url", env.nats_url)
    assert b"\xff\xfe not protobuf".hex() in shown
    result = await asyncio.to_thread(CliRunner().invoke, app, ["dlq", "show", "999999", "--nats-url", env.nats_url])
    assert result.exit_code == 2 and "no dead letter 999999" in result.output
    result = await asyncio.to_thread(CliRunner().invoke, app, ["dlq", "list", "--nats-url", "nats://127.0.0.1:1"])
    assert result.exit_code == 1 and "not reachable" in result.output


def _three_consumers(env: Env, broken: dict[str, bool]) -> dict[str, EventConsumer]:
    """Three consumers of one subject, each refusing every event while `broken[its name]`."""

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
            if broken[name]:
                raise PermanentError(f"{name} cannot take {event.level.sku}")
            await uow.session.execute(
                text("INSERT INTO applied VALUES (:c, :e)"), {"c": name, "e": event.meta.event_id}
            )

        return handle

    return {
        name: EventConsumer(
            env.js,
            env.uow,
            service="dlqtest",
            name=f"{name}-{env.schema}",
            stream=STREAM,
            subscriptions=[Subscription(f"{env.schema}.>", events_pb2.StockChanged, handler(name))],
            # A message the server hands to a pull that the client has just given up on comes back after
            # ack_wait (30 s by default, twice the waits below: a CI failure); here within a few seconds.
            ack_wait=3.0,
        )
        for name in broken
    }


async def _publish_events(env: Env, n: int) -> list[str]:
    ids = [f"evt-{uuid.uuid4().hex[:8]}" for _ in range(n)]
    for i, event_id in enumerate(ids):
        event = events_pb2.StockChanged(meta=common_pb2.EventMeta(event_id=event_id))
        event.level.sku = f"SKU-{i}"
        await env.js.publish(
            f"{env.schema}.stock.changed", event.SerializeToString(), headers={"Nats-Msg-Id": event_id}
        )
    return ids


async def _letters(env: Env, consumers: dict[str, EventConsumer]) -> dict[str, list[int]]:
    return {name: [d.seq for d in await dlq.read(env.js, consumer=c.durable)] for name, c in consumers.items()}


async def _settled(env: Env, consumers: dict[str, EventConsumer], n: int) -> dict[str, list[int]]:
    """The letters once each consumer has dead-lettered `n` and one more second has shown nothing more."""

    async def enough() -> bool:
        return all(len(seqs) >= n for seqs in (await _letters(env, consumers)).values())

    await _until(enough)
    await asyncio.sleep(1.0)
    return await _letters(env, consumers)


async def test_a_replay_reaches_only_the_consumer_whose_letter_it_is(env: Env) -> None:
    """A poison event dead-lettered by three consumers: replaying one's letter leaves the others' letters as
    they were (it used to reach every consumer of the subject, which dead-lettered it again: 3 -> 5)."""
    broken = {"first": True, "second": True, "third": True}
    consumers = _three_consumers(env, broken)
    tasks = [asyncio.create_task(c.run()) for c in consumers.values()]
    try:
        [event_id] = await _publish_events(env, 1)
        before = await _settled(env, consumers, 1)
        assert all(len(seqs) == 1 for seqs in before.values()), before

        broken["first"] = False  # the operator fixed what the first consumer needed
        replayed = await _cli("dlq", "replay", str(before["first"][0]), "--nats-url", env.nats_url)
        assert f"replayed 1 dead letter(s): {before['first'][0]}" in replayed
        await _until(lambda: _has(env, [("first", event_id)]))
        after = await _settled(env, consumers, 0)
        assert after == {"first": [], "second": before["second"], "third": before["third"]}
        assert await env.applied() == [("first", event_id)]
        assert consumers["second"].others_replays == consumers["third"].others_replays == 1

        # A replay of an event its consumer already applied changes nothing (its inbox knows the event id).
        [letter] = await dlq.read(env.js, consumer=consumers["second"].durable)
        again = {**letter.headers, "Onepool-Consumer": consumers["first"].durable}
        await env.js.publish(letter.subject, letter.data, headers=again)
        [copy] = await dlq.read(env.js, consumer=consumers["first"].durable)
        await _cli("dlq", "replay", str(copy.seq), "--nats-url", env.nats_url)
        await _until(lambda: _at_least(lambda: consumers["first"].duplicates, 1))
        assert await env.applied() == [("first", event_id)]
        assert await _letters(env, consumers) == {"first": [], "second": before["second"], "third": before["third"]}
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_replay_all_leaves_the_letters_there_were_minus_those_applied(env: Env) -> None:
    """Two poison events, three consumers: 6 letters; one consumer fixed, `replay --all` leaves 4 (it used to
    republish each letter to every consumer: 6 -> 12, and again 12 -> 24)."""
    await env.js.purge_stream(DLQ_STREAM)  # the other tests' letters: this one counts the whole DLQ
    broken = {"first": True, "second": True, "third": True}
    consumers = _three_consumers(env, broken)
    tasks = [asyncio.create_task(c.run()) for c in consumers.values()]
    try:
        ids = await _publish_events(env, 2)
        await _settled(env, consumers, 2)
        assert len(await dlq.read(env.js)) == 6

        broken["first"] = False
        replayed = await _cli("dlq", "replay", "--all", "--nats-url", env.nats_url)
        assert "replayed 6 dead letter(s)" in replayed
        await _until(lambda: _has(env, [("first", e) for e in ids]))
        await _until(lambda: _count(lambda: dlq.read(env.js), 4))  # second's and third's, dead-lettered again
        letters = await _settled(env, consumers, 0)
        assert {name: len(seqs) for name, seqs in letters.items()} == {"first": 0, "second": 2, "third": 2}
        assert len(await dlq.read(env.js)) == 4
        assert sorted(await env.applied()) == sorted(("first", e) for e in ids)

        replayed = await _cli("dlq", "replay", "--all", "--nats-url", env.nats_url)  # nothing fixed: no growth
        assert "replayed 4 dead letter(s)" in replayed
        await _until(lambda: _at_least(lambda: sum(c.others_replays for c in consumers.values()), 12 + 8))
        await _until(lambda: _count(lambda: dlq.read(env.js), 4))
        letters = await _settled(env, consumers, 0)
        assert {name: len(seqs) for name, seqs in letters.items()} == {"first": 0, "second": 2, "third": 2}
        assert len(await dlq.read(env.js)) == 4
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize(("command", "seq"), [("show", ["0"]), ("show", ["--", "-1"]), ("replay", ["0"])])
async def test_a_sequence_below_one_is_no_dead_letter(env: Env, command: str, seq: list[str]) -> None:
    """JetStream answers such a sequence with a bad request, which was printed as a refusal (exit 1)."""
    result = await _run_cli("dlq", command, "--nats-url", env.nats_url, *seq)
    assert result.exit_code == 2, result.output
    assert f"no dead letter {seq[-1]}" in result.output and "BadRequest" not in result.output


async def _at_least(value, n: int) -> bool:  # type: ignore[no-untyped-def]
    return bool(value() >= n)


async def _count(probe, n: int) -> bool:  # type: ignore[no-untyped-def]
    return len(await probe()) >= n


async def _has(env: Env, rows: list[tuple[str, str]]) -> bool:
    return set(rows) <= set(await env.applied())


async def _letter(env: Env, original_subject: str, event_id: str) -> None:
    await env.js.publish(
        f"dlq.dlqtest.{env.schema}",
        b"payload",
        headers={
            "Onepool-Consumer": env.schema,
            "Onepool-Original-Subject": original_subject,
            "Onepool-Original-Msg-Id": event_id,
        },
    )


async def _run_cli(*args: str):  # type: ignore[no-untyped-def]
    dlq.console.width = 400
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_a_comma_separated_cluster_url_with_a_dead_server_still_connects(env: Env) -> None:
    """What deploy/components/nats-cluster sets ONEPOOL_NATS_URL to: every server, comma-separated."""
    await _letter(env, f"{env.schema}.x", "e-cluster")
    for url in (f"nats://127.0.0.1:1,{env.nats_url}", f"{env.nats_url}, nats://127.0.0.1:1"):
        shown = await _cli("dlq", "list", "--consumer", env.schema, "--nats-url", url)
        assert "1 dead letter(s)" in shown
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["dlq", "list"], env={"ONEPOOL_NATS_URL": f"nats://127.0.0.1:1,{env.nats_url}"}
    )
    assert result.exit_code == 0, result.output


async def test_replay_all_says_what_was_replayed_before_a_failure(env: Env) -> None:
    await _letter(env, f"{env.schema}.first", "e-first")
    await _letter(env, f"nostream{env.schema}.second", "e-second")  # no stream takes it: the publish fails
    await _letter(env, f"{env.schema}.third", "e-third")
    first, second, third = await dlq.read(env.js, consumer=env.schema)
    result = await _run_cli("dlq", "replay", "--all", "--consumer", env.schema, "--nats-url", env.nats_url)
    assert result.exit_code == 1, result.output
    assert f"replayed {first.seq} to {env.schema}.first" in result.output
    assert f"dead letter {second.seq} not replayed: no stream takes nostream{env.schema}.second" in result.output
    assert f"replayed 1 dead letter(s) before the failure: {first.seq}" in result.output
    assert "Traceback" not in result.output
    assert [d.seq for d in await dlq.read(env.js, consumer=env.schema)] == [second.seq, third.seq]


async def test_list_says_when_the_limit_cut_it(env: Env) -> None:
    for n in range(3):
        await _letter(env, f"{env.schema}.x", f"e-{n}")
    shown = await _cli("dlq", "list", "--consumer", env.schema, "--limit", "2", "--nats-url", env.nats_url)
    assert "first 2 dead letters (more may exist: --limit)" in shown
    shown = await _cli("dlq", "list", "--consumer", env.schema, "--limit", "5", "--nats-url", env.nats_url)
    assert "3 dead letter(s)" in shown


async def test_a_server_without_jetstream_is_named_so_not_unreachable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if port_open(port):
                break
            await asyncio.sleep(0.05)
        result = await _run_cli("dlq", "list", "--nats-url", f"nats://127.0.0.1:{port}")
        assert result.exit_code == 1 and "has no JetStream" in result.output, result.output
        assert "not reachable" not in result.output
    finally:
        server.kill()
        server.wait()


async def test_tail_names_a_subject_that_is_not_valid(env: Env) -> None:
    result = await _run_cli("events", "tail", "--nats-url", env.nats_url, "--count", "1", "orders. bad")
    assert result.exit_code == 2 and "subject 'orders. bad' is not valid" in result.output, result.output


async def test_credentials_in_the_nats_url_are_never_printed() -> None:
    """Operators paste what the CLI prints into tickets: user-info of every server in the URL is hidden."""
    url = "nats://ops:s3cret@127.0.0.1:1,nats://t0ken@127.0.0.1:2"
    result = await asyncio.to_thread(CliRunner().invoke, app, ["dlq", "list", "--nats-url", url])
    assert result.exit_code == 1
    assert "not reachable" in result.output and "127.0.0.1:1" in result.output
    assert "s3cret" not in result.output and "t0ken" not in result.output


async def test_discard_drops_one_letter_and_is_idempotent(env: Env) -> None:
    """There was no way to drop one bad letter: only replay it (to fail again) or wait out the stream's 7 days."""
    await _letter(env, f"{env.schema}.bad", "e-bad")
    await _letter(env, f"{env.schema}.kept", "e-kept")
    bad, kept = await dlq.read(env.js, consumer=env.schema)
    out = await _cli("dlq", "discard", str(bad.seq), "--nats-url", env.nats_url)
    assert f"discarded dead letter {bad.seq}: event e-bad on {env.schema}.bad for {env.schema}" in out, out
    assert [d.seq for d in await dlq.read(env.js, consumer=env.schema)] == [kept.seq]  # that one only

    again = await _cli("dlq", "discard", str(bad.seq), "--nats-url", env.nats_url)  # exit 0 (_cli checks)
    assert f"dead letter {bad.seq} is gone already" in again, again
    assert [d.seq for d in await dlq.read(env.js, consumer=env.schema)] == [kept.seq]

    last = (await env.js.stream_info(DLQ_STREAM)).state.last_seq
    for unknown in (str(last + 1000), "0"):
        result = await _run_cli("dlq", "discard", "--nats-url", env.nats_url, unknown)
        assert result.exit_code == 2 and f"no dead letter {unknown}" in result.output, result.output
