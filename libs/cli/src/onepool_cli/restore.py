"""`onepool restore check --since T`: after a database restore, the events that came from transactions the
restore lost (docs/operations.md, "Backup and restore").

Every event reaches its stream through its service's outbox, and the outbox keeps a published row for
ONEPOOL_OUTBOX_RETENTION_HOURS (24): an event published since T (the backup's time minus the rewind's margin)
whose id the restored outbox of its service does not hold was written by a transaction committed after the
backup. Its source state is gone (an order the restored orders database no longer has), but the event is out:
its consumers applied it before the restore, and a rewind applies it again to their restored databases. These
are the effects the operator must look at; nothing here changes anything.

Failure modes: NATS or PostgreSQL unreachable -> exit 1 with the reason; a service whose schema was never
migrated -> every event of its stream is listed (nothing shows it was committed); T more than the outbox
retention ago -> events older than the retention are listed too (their rows were purged, not lost): keep T
within it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import typer
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from onepool_runtime.consumer import EVENT_ID_HEADER, REPLAY_FOR_HEADER
from onepool_runtime.db import check_schema_name, connecting_engine
from onepool_runtime.messaging import STREAMS
from onepool_runtime.outbox import MSG_ID_HEADER
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.table import Table
from sqlalchemy import pool, text

from onepool_cli import config, consumers, events, natsconn, pg

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


async def published_since(nc: Client, since: datetime) -> list[Published]:
    """Every event of the services' streams published at or after `since`, in stream order per stream."""
    js = nc.jetstream()
    found = []
    for service, stream in STREAMS.items():
        first = await consumers.first_at(nc, stream, since)
        if first is None:
            continue
        last = (await js.stream_info(stream)).state.last_seq
        for seq in range(first[0], last + 1):
            try:
                raw = await js.get_msg(stream, seq=seq)
            except NotFoundError:  # deleted from the stream
                continue
            headers = dict(raw.headers or {})
            if headers.get(REPLAY_FOR_HEADER):  # a dead letter replayed: its original is checked, not the copy
                continue
            line = events.decode(raw.subject or "", raw.data or b"", headers)
            event_id = headers.get(EVENT_ID_HEADER) or headers.get(MSG_ID_HEADER, "")
            at = raw.time if isinstance(raw.time, datetime) else None
            found.append(
                Published(service, seq, at, raw.subject or "", line["type"], event_id, _about(line.get("event", {})))
            )
    return found


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


async def in_outboxes(database_url: str, ids_by_service: dict[str, list[str]]) -> set[str]:
    """The ids, of those given, that their service's outbox holds."""
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    held: set[str] = set()
    try:
        async with engine.connect() as conn:
            for service, ids in ids_by_service.items():
                schema = check_schema_name(service)
                if not ids or await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".outbox'}) is None:
                    continue
                rows = await conn.execute(text(f'SELECT id FROM "{schema}".outbox WHERE id = ANY(:ids)'), {"ids": ids})
                held.update(r[0] for r in rows)
    finally:
        await engine.dispose()
    return held


def lost(published: list[Published], held: set[str]) -> list[Published]:
    return [p for p in published if p.event_id not in held]


@app.command("check")
def check_command(
    since: Annotated[str, typer.Option("--since", help="The time the consumers were rewound to (RFC 3339).")],
    nats_url: natsconn.NatsUrl = "",
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
) -> None:
    """List the events published since --since that the restored databases never committed: their consumers
    hold (or, once rewound, hold again) effects whose source is gone. Exit 0 when there is none, 3 when some."""
    at = consumers.parse_since(since)
    url = database_url or config.load(ServiceSettings).database_url
    published = natsconn.run(natsconn.url(nats_url), lambda nc: published_since(nc, at))
    by_service: dict[str, list[str]] = {}
    for p in published:
        by_service.setdefault(p.service, []).append(p.event_id)
    with pg.reported(url):
        held = asyncio.run(in_outboxes(url, by_service))
    found = lost(published, held)
    table = Table(title=f"{len(found)} of {len(published)} event(s) since {at.isoformat()} from lost transactions")
    for column in ("stream seq", "time", "event", "about", "event id"):
        table.add_column(column, overflow="fold")
    for p in found:
        when = p.time.isoformat(timespec="seconds") if p.time else ""
        table.add_row(f"{STREAMS[p.service]} {p.seq}", when, p.event_type or p.subject, p.about, p.event_id)
    console.print(table)
    if found:
        raise typer.Exit(3)
