"""What a restored database tells about its backup's time, and a --since too late for it
(`consumers rewind` and `restore check`, docs/operations.md "Backup and restore").

Each service's inbox row was committed after its event was applied, and each outbox row was written (and,
once out, marked published) by a transaction committed before the snapshot that holds it: the newest of those
instants in a restored schema is at or before the backup's time. A --since after that bound skips, for that
service, what was published between the bound and --since: a rewind would not deliver it again, a check would
not look at it. So a --since past the bound is refused when a message was published in between that would be
skipped (for a consumer, on the subjects it reads): a service idle before its backup is not a reason to refuse.
The bound means something only until the services write again: run the rewind and the check before starting
them (a service running on the restored database moves its bound to now, and nothing is refused then).

What the bound cannot see is lag: a consumer behind at the backup applied, after it, events published before
it, so the restored inbox's newest row is about the backup's time and a --since a minute before it passes,
though the events of the lag before that are lost. Positions saved before the backup (positions.py) see it;
the bound stays as a second check of a --since, and every --since rewind and check says so (LAG).

The bound is read with PostgreSQL's clock and compared with the stream's times, NATS's: clocks that differ by
more than the margin the runbook asks for (a minute) can hide a skip or refuse a --since that was right; --force
goes on after saying what was found. A schema that was never migrated, or whose inbox and outbox are empty,
bounds nothing: said as a warning, the --since is taken as given.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from onepool_runtime.db import check_schema_name, connecting_engine
from rich.console import Console
from rich.markup import escape
from sqlalchemy import pool, text

console = Console(stderr=True)

# Each part is an index read: the inbox's processed_at index, the outbox's primary key from its newest row
# (any instant the restored schema holds is a lower bound; the newest by seq is near enough the newest).
_NEWEST = """SELECT greatest(
    (SELECT max(processed_at) FROM "{s}".inbox),
    (SELECT greatest(created_at, published_at) FROM "{s}".outbox ORDER BY seq DESC LIMIT 1),
    (SELECT published_at FROM "{s}".outbox WHERE published_at IS NOT NULL ORDER BY seq DESC LIMIT 1))"""


LAG = (
    "a --since cannot see a consumer that was behind at the backup: the events it applied after the backup were"
    " published before it, are gone with the restore and are not delivered again from --since; positions saved"
    " right before the backup (`consumers save-positions`, then `rewind --to-positions`) cover that"
)


@dataclass(frozen=True)
class Bound:
    service: str
    at: datetime | None  # the newest inbox/outbox instant of the restored schema; None: nothing bounds it
    why: str = ""  # why `at` is None, for a person


@dataclass(frozen=True)
class Skip:
    """Messages of `stream` published after the restored `service`'s bound that a --since would skip."""

    service: str
    bound: datetime
    stream: str
    first_seq: int
    first_time: datetime
    count: int  # stream sequences from first_seq up to where the reader starts (deleted ones included)
    who: str  # the durable, or the command's reading, that would skip them

    def describe(self, since: datetime, effect: str) -> str:
        return (
            f"{self.who}: the restored {self.service} database's newest inbox/outbox row is from {_stamp(self.bound)}"
            f" (its backup was taken at or after it), --since is {_stamp(since)}: {self.count} message(s) of "
            f"{self.stream} published in between, from sequence {self.first_seq} ({_stamp(self.first_time)}), "
            f"would {effect}"
        )


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def bounds(database_url: str, services: Iterable[str]) -> dict[str, Bound]:
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    found = {}
    try:
        async with engine.connect() as conn:
            for service in services:
                schema = check_schema_name(service)
                tables = [f'"{schema}".inbox', f'"{schema}".outbox']
                if any([await conn.scalar(text("SELECT to_regclass(:t)"), {"t": t}) is None for t in tables]):
                    found[service] = Bound(service, None, "its schema has no inbox or outbox: never migrated")
                    continue
                at = await conn.scalar(text(_NEWEST.format(s=schema)))
                found[service] = Bound(service, at, "" if at else "its inbox and outbox are empty")
    finally:
        await engine.dispose()
    return found


async def first_at(nc: Client, stream: str, since: datetime) -> tuple[int, datetime] | None:
    """The sequence and time of the stream's first message published at or after `since`, None if none is.

    JetStream's message get by `start_time` answers the stream's first message when no message is that late
    (nats-server 2.15), so the time it gives is checked."""
    stamp = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
    reply = await nc.request(f"$JS.API.STREAM.MSG.GET.{stream}", json.dumps({"start_time": stamp}).encode(), 5.0)
    body = json.loads(reply.data)
    message = body.get("message")
    if not message:  # {"error": {"code": 404, ...}}: an empty stream
        return None
    at = _parse_time(message["time"])
    return (int(message["seq"]), at) if at >= since else None


def _parse_time(value: str) -> datetime:
    # JetStream gives nanoseconds; datetime keeps microseconds.
    head, _, rest = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(rest + '000000')[:6]}+00:00" if rest else f"{head}+00:00")


async def first_matching(nc: Client, stream: str, since: datetime, subjects: list[str]) -> tuple[int, datetime] | None:
    """`first_at`, of the messages on `subjects` only: a consumer's filter, so that what it never reads (another
    consumer's subjects of the same stream) is not taken for what it would skip. An ephemeral consumer finds it
    (a message get filters by one subject at most)."""
    js = nc.jetstream()
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since,
        ack_policy=AckPolicy.NONE,
        mem_storage=True,
        num_replicas=1,
        inactive_threshold=30.0,
        filter_subjects=subjects,
    )
    info = await js.add_consumer(stream, config)
    try:
        if not info.num_pending:
            return None
        sub = await js.pull_subscribe_bind(info.name, stream)
        try:
            [msg] = await sub.fetch(1, timeout=5.0)
        finally:
            await sub.unsubscribe()
        return msg.metadata.sequence.stream, msg.metadata.timestamp
    finally:
        with contextlib.suppress(NotFoundError, TimeoutError):
            await js.delete_consumer(stream, info.name)


async def skipped(
    nc: Client, bound: Bound, stream: str, since: datetime, start: int, who: str, subjects: list[str] | None = None
) -> Skip | None:
    """What a reader of `stream` (of its `subjects` only, when given) starting at sequence `start` (because of
    --since) skips of what was published at or after `bound`, if anything."""
    if bound.at is None or since <= bound.at:
        return None
    after = await (first_matching(nc, stream, bound.at, subjects) if subjects else first_at(nc, stream, bound.at))
    if after is None or after[0] >= start:
        return None
    return Skip(bound.service, bound.at, stream, after[0], after[1], start - after[0], who)


def unbounded(found: Iterable[Bound]) -> list[str]:
    return [
        f"the restored {b.service} database bounds no backup time ({b.why}): check --since yourself"
        for b in found
        if b.at is None
    ]


def report(skips: list[Skip], since: datetime, effect: str, *, force: bool) -> bool:
    """Say what a late --since skips; True when the command must stop (some, without --force)."""
    for s in skips:
        label = "[yellow]warning (--force)[/yellow]" if force else "[red]refused[/red]"
        console.print(f"{label}: {escape(s.describe(since, effect))}", soft_wrap=True, highlight=False)
    if skips and not force:
        console.print(
            "give a --since at or before each bound above (a minute earlier covers clocks that differ), "
            "or --force to go on anyway; a --since within each bound can still miss what a consumer behind at "
            "the backup applied after it (this check cannot see lag: use saved positions)",
            soft_wrap=True,
        )
        return True
    return False


def warn(lines: list[str]) -> None:
    for line in lines:
        console.print(f"[yellow]warning[/yellow]: {escape(line)}", soft_wrap=True, highlight=False)
