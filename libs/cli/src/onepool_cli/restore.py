"""`onepool restore check --since T`: after a database restore, the events that came from transactions the
restore lost (docs/operations.md, "Backup and restore").

Every event reaches its stream through its service's outbox, and the outbox keeps a published row for
ONEPOOL_OUTBOX_RETENTION_HOURS (24): an event published since T (the backup's time minus the rewind's margin)
whose id the restored outbox of its service does not hold was written by a transaction committed after the
backup. Its source state is gone (an order the restored orders database no longer has), but the event is out:
its consumers applied it before the restore, and a rewind applies it again to their restored databases. These
are the effects the operator must look at; nothing here changes anything.

It reads each stream from T with an ephemeral pull consumer, a batch at a time, and asks the outbox about
each batch: a few requests per thousand events, and only the lost ones kept (reading 20,000 events: 1.4 s,
where a message get per event took 9.2 s and held them all).

With `--positions FILE` (`consumers save-positions`, right before the backup) each stream is read from past
its last sequence at the save instead: a lost transaction committed after the snapshot began, so after the
save, and its events were published after it committed (positions.py). No time, no guard to pass, and only
the events the backup could not have.

T after a restored schema's newest inbox/outbox row (at or before its backup) would miss what its stream
published between the two: refused, exit 2, naming the bound and the messages, unless --force (restored.py).

Failure modes: NATS or PostgreSQL unreachable -> exit 1 with the reason; a service whose schema was never
migrated -> a warning, and every event of its stream is listed (nothing shows it was committed); T more than
the outbox retention ago -> events older than the retention are listed too (their rows were purged, not
lost): keep T within it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from onepool_runtime.consumer import EVENT_ID_HEADER, REPLAY_FOR_HEADER
from onepool_runtime.db import check_schema_name, connecting_engine
from onepool_runtime.messaging import STREAMS
from onepool_runtime.outbox import MSG_ID_HEADER
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.table import Table
from sqlalchemy import pool, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from onepool_cli import config, consumers, events, natsconn, pg, positions, restored
from onepool_cli.tables import print_table

app = typer.Typer(
    help="After a database restore: what the lost transactions had already published.", no_args_is_help=True
)
console = Console()


@dataclass(frozen=True)
class Published:
    service: str
    seq: int
    time: datetime | None
    subject: str
    event_type: str
    event_id: str
    about: str  # the order (or other thing) it is about, for a person


BATCH = 1000  # messages per pull, and event ids per outbox query


async def published_since(nc: Client, since: datetime, batch: int = BATCH) -> AsyncIterator[list[Published]]:
    """Every event of the services' streams published at or after `since`, in stream order per stream, in
    batches of at most `batch`: an ephemeral pull consumer per stream reads them (a few requests per thousand
    messages, never more than a batch in hand), up to the stream's last message when the read began."""
    starts = {}
    for service, stream in STREAMS.items():
        first = await restored.first_at(nc, stream, since)
        if first is not None:
            starts[service] = first[0]
    async for found in published_from(nc, starts, batch):
        yield found


async def published_from(nc: Client, starts: dict[str, int], batch: int = BATCH) -> AsyncIterator[list[Published]]:
    """`published_since`, from a stream sequence per service (a service left out: its stream is not read)."""
    js = nc.jetstream()
    for service, start in starts.items():
        stream = STREAMS[service]
        try:
            last = (await js.stream_info(stream)).state.last_seq
        except NotFoundError:
            continue
        if start > last:
            continue
        # Unacknowledged, in memory, gone 30 s after this command is: it changes nothing on the server.
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=30.0,
        )
        info = await js.add_consumer(stream, config)
        sub = await js.pull_subscribe_bind(info.name, stream)
        try:
            pending = info.num_pending or 0
            while pending:
                try:
                    msgs = await sub.fetch(min(batch, pending), timeout=5.0)
                except TimeoutError:  # the rest was deleted (or aged out) since the last count
                    break
                found = [p for p in map(_published(service), msgs) if p is not None]
                meta = msgs[-1].metadata
                pending = 0 if meta.sequence.stream >= last else meta.num_pending
                if found:
                    yield found
        finally:
            await sub.unsubscribe()
            with contextlib.suppress(NotFoundError, TimeoutError):
                await js.delete_consumer(stream, info.name)


def _published(service: str) -> Callable[[Msg], Published | None]:
    def one(msg: Msg) -> Published | None:
        headers = dict(msg.headers or {})
        if headers.get(REPLAY_FOR_HEADER):  # a dead letter replayed: its original is checked, not the copy
            return None
        line = events.decode(msg.subject, msg.data, headers)
        event_id = headers.get(EVENT_ID_HEADER) or headers.get(MSG_ID_HEADER, "")
        meta = msg.metadata
        at = meta.timestamp if isinstance(meta.timestamp, datetime) else None
        return Published(
            service, meta.sequence.stream, at, msg.subject, line["type"], event_id, _about(line.get("event", {}))
        )

    return one


def _about(event: dict[str, Any]) -> str:
    """The order the event is about when it names one (`order.id`, `reservation.orderId`...), else the first
    id it names."""
    nested = [v for k, v in event.items() if k != "meta" and isinstance(v, dict)]
    for found in (event, *nested):
        if isinstance(found.get("orderId"), str) and found["orderId"]:
            return f"order {found['orderId']}"
    for key, value in event.items():
        if key == "meta":
            continue
        if isinstance(value, dict) and isinstance(value.get("id"), str):
            return f"{key} {value['id']}"
        if key.endswith("Id") and isinstance(value, str) and value:
            return f"{key[:-2]} {value}"
    return ""


async def held(conn: AsyncConnection, service: str, ids: list[str]) -> set[str]:
    """The ids, of those given, that `service`'s outbox holds (none when its schema was never migrated)."""
    schema = check_schema_name(service)
    if not ids or await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".outbox'}) is None:
        return set()
    rows = await conn.execute(text(f'SELECT id FROM "{schema}".outbox WHERE id = ANY(:ids)'), {"ids": ids})
    return {r[0] for r in rows}


class DatabaseFailed(Exception):
    """PostgreSQL failed while NATS was being read: reported as PostgreSQL's failure, not NATS's."""


async def lost_since(nc: Client, database_url: str, since: datetime) -> tuple[int, list[Published]]:
    return await lost_in(published_since(nc, since), database_url)


async def lost_in(batches: AsyncIterator[list[Published]], database_url: str) -> tuple[int, list[Published]]:
    """How many events the batches hold, and those their service's restored outbox does not hold; one outbox
    query per batch read, so only the lost ones are kept."""
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    seen = 0
    found: list[Published] = []
    failures = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DBAPIError)
    try:
        try:
            conn = await engine.connect()
        except failures as exc:
            raise DatabaseFailed from exc
        try:
            async for batch in batches:
                seen += len(batch)
                try:
                    have = await held(conn, batch[0].service, [p.event_id for p in batch])
                except failures as exc:
                    raise DatabaseFailed from exc
                found.extend(p for p in batch if p.event_id not in have)
        finally:
            await conn.close()
    finally:
        await engine.dispose()
    return seen, found


async def after_positions(nc: Client, saved: positions.Saved) -> tuple[dict[str, int], list[str]]:
    """Where to read each stream from: past its last sequence at the save; a stream the file does not have,
    or created again since, from its first message (said, for a person)."""
    now = await positions.streams(nc.jetstream())
    starts, notes = {}, []
    for service, stream in STREAMS.items():
        if stream not in now:
            continue
        kept = saved.streams.get(stream)
        if kept is not None and kept.created == now[stream][0].created:
            starts[service] = kept.last_seq + 1
            continue
        why = "is not in the positions file" if kept is None else "was created again since the positions were saved"
        notes.append(f"{stream} {why}: all of it is checked")
        starts[service] = now[stream][1]
    return starts, notes


async def _late(nc: Client, bounds: dict[str, restored.Bound], since: datetime) -> list[restored.Skip]:
    skips = []
    for service, stream in STREAMS.items():
        first = await restored.first_at(nc, stream, since)
        start = first[0] if first else (await nc.jetstream().stream_info(stream)).state.last_seq + 1
        skip = await restored.skipped(nc, bounds[service], stream, since, start, f"restore check of {stream}")
        if skip is not None:
            skips.append(skip)
    return skips


@app.command("check")
def check_command(
    since: Annotated[str, typer.Option("--since", help="The time the consumers were rewound to (RFC 3339).")] = "",
    saved_positions: Annotated[
        Path | None,
        typer.Option("--positions", help="A file of `consumers save-positions`, saved right before the backup."),
    ] = None,
    nats_url: natsconn.NatsUrl = "",
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Go on with a --since later than what a restored database holds.")
    ] = False,
) -> None:
    """List the events published since --since (or after the --positions saved right before the backup) that
    the restored databases never committed: their consumers hold (or, once rewound, hold again) effects whose
    source is gone. Exit 0 when there is none, 3 when some; 2 when --since is later than a restored database's
    newest inbox/outbox row and would miss events (unless --force)."""
    if bool(since) == (saved_positions is not None):
        raise typer.BadParameter("give exactly one of --since and --positions", param_hint="--since")
    url = database_url or config.load(ServiceSettings).database_url
    nats = natsconn.url(nats_url)
    if saved_positions is not None:
        saved = positions.load(saved_positions, "--positions")
        starts, notes = natsconn.run(nats, lambda nc: after_positions(nc, saved))
        restored.warn(notes)
        _listed(nats, url, lambda nc: published_from(nc, starts), f"after the positions saved at {saved.saved_at}")
        return
    at = consumers.parse_since(since)
    with pg.reported(url):
        bounds = asyncio.run(restored.bounds(url, STREAMS))
    restored.warn(restored.unbounded(bounds.values()))
    skips = natsconn.run(nats, lambda nc: _late(nc, bounds, at))
    if restored.report(skips, at, "not be checked", force=force):
        raise typer.Exit(2)
    _listed(nats, url, lambda nc: published_since(nc, at), f"since {at.isoformat()}")


def _listed(nats: str, url: str, read: Callable[[Client], AsyncIterator[list[Published]]], window: str) -> None:
    try:
        seen, found = natsconn.run(nats, lambda nc: lost_in(read(nc), url))
    except DatabaseFailed as exc:
        with pg.reported(url):
            raise exc.__cause__ or exc from None
    table = Table(title=f"{len(found)} of {seen} event(s) {window} from lost transactions")
    for column in ("stream seq", "time", "event", "about", "event id"):
        table.add_column(column, overflow="fold")
    for p in found:
        when = p.time.isoformat(timespec="seconds") if p.time else ""
        table.add_row(f"{STREAMS[p.service]} {p.seq}", when, p.event_type or p.subject, p.about, p.event_id)
    print_table(console, table)
    if found:
        raise typer.Exit(3)
