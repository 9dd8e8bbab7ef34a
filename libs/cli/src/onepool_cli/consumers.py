"""`onepool consumers list|rewind`: the services' durable JetStream consumers, and delivering events again.

`rewind --since T` makes each chosen durable consumer deliver again every message of its stream from the first
one published at or after T: after a database restore, the consumers' positions are ahead of the restored
inboxes, and the events between were applied to state that is gone. It uses JetStream's consumer reset
(ADR-60, nats-server 2.14+): the durable keeps its name and its configuration (what the service's
`EventConsumer.ensure` created), only its ack floor moves back; so nothing here repeats that configuration,
a running service's bound subscription goes on fetching (no moment without the consumer in which its rebind
would create it again delivering the whole stream), and its next start finds the configuration it expects.

Safe while the services run: a message the consumer had in hand when the reset came is applied or not as
before, and comes again; its inbox, which keeps an event id with every effect, drops every event it still
has. Replaying from before what an inbox forgot is safe for the same reason, so T may be early (a margin
costs redeliveries, not effects). Never forward: a consumer whose ack floor is still before T is left as it
is (a reset there would skip what it has not acknowledged). Repeating a rewind delivers the same events again,
which the inboxes drop: the end state is the same.

T too late is one way to lose events silently: the messages between the backup and T are never delivered
again to the restored consumers. So each chosen service's restored database is read first: T after its newest
inbox/outbox instant (at or before its backup), with a message published in between that the consumer would
not get again, is refused (exit 2, naming the bound and the messages) unless --force (restored.py). The other
is lag, which no time shows: a consumer behind at the backup applied, after it, events published before it;
their effects are gone with the restore and a T at the backup's time starts after them. `save-positions`
right before pg_dump records each durable's ack floor, and `rewind --to-positions` resets each to it + 1,
which covers that (positions.py); --since stays for a backup taken without them, saying what it cannot see.

Failure modes: NATS unreachable or without JetStream, or PostgreSQL unreachable -> exit 1 with the reason; a
durable the services would create but that is not on the server -> listed as absent and left alone (its
service creates it on start, delivering its whole stream); T before the stream's oldest message (streams keep
7 days) -> rewound to the oldest, with a warning that the events before it are gone; a service whose restored
schema is empty or not migrated -> a warning that nothing bounds T for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from onepool_runtime.messaging import STREAMS
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.table import Table

from onepool_cli import config, natsconn, pg, positions, restored
from onepool_cli.services import BY_NAME, SERVICES
from onepool_cli.tables import print_table

app = typer.Typer(help="Durable event consumers: where each one is, and delivering events again.", no_args_is_help=True)
console = Console()


@dataclass(frozen=True)
class Durable:
    stream: str
    name: str
    delivered: int  # stream sequence of the last message delivered
    ack_floor: int  # every message up to this stream sequence is acknowledged
    pending: int  # messages not delivered yet
    ack_pending: int  # delivered, not acknowledged yet
    redelivered: int
    waiting: int  # pull requests waiting (a running service has one)
    subjects: tuple[str, ...] = ()  # its filter; () for the whole stream

    @property
    def service(self) -> str:
        return self.name.split("-", 1)[0]


@dataclass(frozen=True)
class Rewind:
    durable: Durable
    to_seq: int  # the first stream sequence delivered again (0: nothing to do)
    why: str  # what happens, for a person


def _ours(name: str) -> bool:
    return name.split("-", 1)[0] in BY_NAME


async def durables(js: JetStreamContext) -> list[Durable]:
    """Every durable consumer of the services' streams (ephemeral ones, `events tail`'s, are left out)."""
    found = []
    for stream in STREAMS.values():
        try:
            infos = await js.consumers_info(stream)
        except NotFoundError:
            continue
        for info in infos:
            if not info.config.durable_name:
                continue
            found.append(
                Durable(
                    stream=stream,
                    name=info.name,
                    delivered=(info.delivered.stream_seq or 0) if info.delivered else 0,
                    ack_floor=(info.ack_floor.stream_seq or 0) if info.ack_floor else 0,
                    pending=info.num_pending or 0,
                    ack_pending=info.num_ack_pending or 0,
                    redelivered=info.num_redelivered or 0,
                    waiting=info.num_waiting or 0,
                    subjects=tuple(info.config.filter_subjects or [])
                    or ((info.config.filter_subject,) if info.config.filter_subject else ()),
                )
            )
    return sorted(found, key=lambda d: (d.service, d.name))


def expected() -> dict[str, str]:
    """Durable name -> stream, of every consumer the five services create (built, never connected)."""
    return {c.durable: c.stream for svc in SERVICES for c in svc.event_consumers()}


async def plan(nc: Client, chosen: list[Durable], since: datetime) -> list[Rewind]:
    js = nc.jetstream()
    firsts: dict[str, tuple[int, datetime] | None] = {}
    trimmed: dict[str, datetime | None] = {}
    plans = []
    for d in chosen:
        if d.stream not in firsts:
            firsts[d.stream] = await restored.first_at(nc, d.stream, since)
            trimmed[d.stream] = await _trimmed(js, d.stream)
        first = firsts[d.stream]
        if first is not None and first[0] <= d.ack_floor:
            to, why = (
                first[0],
                f"delivers again from {first[0]} ({d.ack_floor - first[0] + 1} acknowledged message(s) again)",
            )
        elif d.delivered > d.ack_floor:
            # Some of what it was given past its floor may be acknowledged (out of order): from the floor on,
            # never from later, which would skip what it has not acknowledged.
            to, why = (
                d.ack_floor + 1,
                f"delivers again from {d.ack_floor + 1}, its ack floor (messages past it in hand)",
            )
        else:
            # Never forward: nothing it acknowledged was published since then.
            reason = "nothing published since then" if first is None else "acknowledged nothing published since then"
            plans.append(Rewind(d, 0, f"{reason} (ack floor {d.ack_floor}): left as it is"))
            continue
        gone = trimmed[d.stream]
        if gone is not None and gone > since:
            why += f"; the stream's oldest message is from {gone:%Y-%m-%dT%H:%M:%SZ}: events before it are gone"
        plans.append(Rewind(d, to, why))
    return plans


async def _trimmed(js: JetStreamContext, stream: str) -> datetime | None:
    """The time of the stream's oldest message when older ones were removed (its 7 days), else None."""
    info = await js.stream_info(stream)
    first = info.state.first_seq
    if first <= 1 or not info.state.messages:
        return None
    raw = await js.get_msg(stream, seq=first)
    return raw.time if isinstance(raw.time, datetime) else None


def plan_positions(
    chosen: list[Durable], saved: positions.Saved, now: dict[str, tuple[positions.Stream, int]]
) -> tuple[list[Rewind], list[str]]:
    """Each chosen durable reset to its saved ack floor + 1, never forward; and what cannot be (for a person)."""
    plans, notes = [], []
    for d in chosen:
        stream, floor = saved.floors.get(d.name, (d.stream, -1))
        kept, there = saved.streams.get(d.stream), now.get(d.stream)
        if floor < 0 or stream != d.stream:
            notes.append(
                f"{d.name} on {d.stream} is not in {saved.path} (created after the save?): left as it is; "
                "if it ran before the backup, rewind it with --since"
            )
        elif kept is None or there is None or kept.created != there[0].created:
            notes.append(
                f"{d.name}: {d.stream} was created again since the positions were saved (its sequences restarted):"
                " left as it is; rewind it with --since"
            )
        elif d.ack_floor < floor:
            why = f"ack floor {d.ack_floor}, before the saved {floor}: it delivers those again anyway; left as it is"
            plans.append(Rewind(d, 0, why))
        elif d.ack_floor == floor and d.delivered <= floor:
            plans.append(Rewind(d, 0, f"at its saved ack floor {floor}, nothing in hand: left as it is"))
        else:
            to = max(floor + 1, there[1])
            again = max(0, d.ack_floor - to + 1)
            why = f"delivers again from {to}, past its saved ack floor {floor} ({again} acknowledged message(s) again)"
            if to > floor + 1:
                why += f"; the stream's oldest message is {to}: events {floor + 1} to {to - 1} are gone"
            plans.append(Rewind(d, to, why))
    return plans, notes


def absent(saved: positions.Saved, found: list[Durable], service: list[str] | None) -> list[str]:
    """The saved durables (of the chosen services) the server does not have."""
    there = {d.name for d in found}
    return [
        f"{name} on {stream} (saved ack floor {floor}) is not on the server: its service creates it on start,"
        " delivering its whole stream"
        for name, (stream, floor) in sorted(saved.floors.items())
        if name not in there and (not service or name.split("-", 1)[0] in service)
    ]


async def apply(js: JetStreamContext, plans: list[Rewind]) -> list[Rewind]:
    done = []
    for p in plans:
        if p.to_seq:
            await js.reset_consumer(p.durable.stream, p.durable.name, seq=p.to_seq)
            done.append(p)
    return done


def parse_since(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an RFC 3339 time", param_hint="--since") from exc
    if at.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no UTC offset (give Z or +08:00: a time without one is ambiguous)", param_hint="--since"
        )
    return at


def _choose(found: list[Durable], service: list[str] | None, consumer: list[str] | None) -> list[Durable]:
    unknown = [s for s in service or [] if s not in BY_NAME]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}", param_hint="--service")
    names = {d.name for d in found}
    missing = [c for c in consumer or [] if c not in names]
    if missing:
        console.print(f"[red]no durable consumer named {', '.join(missing)} on the services' streams[/red]")
        raise typer.Exit(2)
    return [
        d
        for d in found
        if _ours(d.name) and (not service or d.service in service) and (not consumer or d.name in consumer)
    ]


@app.command("list")
def list_command(nats_url: natsconn.NatsUrl = "") -> None:
    """Each durable consumer: its stream, the last message delivered and the acknowledged floor (stream
    sequences), messages still to deliver, delivered but unacknowledged, redelivered, and pull requests
    waiting (0 when no replica of its service is running)."""
    found = natsconn.run(natsconn.url(nats_url), lambda nc: durables(nc.jetstream()))
    table = Table(title=f"{len(found)} durable consumer(s)")
    for column in ("consumer", "stream", "delivered", "ack floor", "pending", "unacked", "redelivered", "waiting"):
        table.add_column(column, overflow="fold")
    for d in found:
        numbers = (d.delivered, d.ack_floor, d.pending, d.ack_pending, d.redelivered, d.waiting)
        table.add_row(d.name, d.stream, *map(str, numbers))
    print_table(console, table)
    try:
        known = expected()
    except Exception:  # a service's settings refuse the environment: the table above is what matters
        known = {}
    absent = sorted(set(known) - {d.name for d in found})
    if absent:
        console.print(f"not on the server (created by their service when it starts): {', '.join(absent)}")


@app.command("save-positions")
def save_positions_command(
    file: Annotated[Path, typer.Argument(help="Where to write them (JSON), e.g. onepool-20250301T093000Z.positions.")],
    nats_url: natsconn.NatsUrl = "",
) -> None:
    """Write each durable consumer's ack floor, and each stream's last sequence, to FILE: run it right before
    pg_dump, and keep the file with the dump. After a restore, `consumers rewind --to-positions FILE` delivers
    again what each consumer had not acknowledged then, which the dump may lack even when a consumer was behind
    (a --since cannot see that), and `restore check --positions FILE` reads the streams from then."""

    async def read(nc: Client) -> dict[str, Any]:
        js = nc.jetstream()
        return await positions.document(js, [d for d in await durables(js) if _ours(d.name)])

    doc = natsconn.run(natsconn.url(nats_url), read)
    try:
        positions.write(file, doc)
    except OSError as exc:
        console.print(f"[red]cannot write {file}: {exc.strerror or exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"saved the ack floors of {len(doc['consumers'])} durable consumer(s) at {doc['saved_at']} to {file}")


@app.command("rewind")
def rewind_command(
    since: Annotated[str, typer.Option("--since", help="RFC 3339 time, e.g. 2025-03-01T09:30:00Z.")] = "",
    to_positions: Annotated[
        Path | None,
        typer.Option("--to-positions", help="A file of `consumers save-positions`, saved right before the backup."),
    ] = None,
    service: Annotated[list[str] | None, typer.Option("--service", "-s", help="Only this service's.")] = None,
    consumer: Annotated[list[str] | None, typer.Option("--consumer", "-c", help="Only this durable.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Go on with a --since later than what a restored database holds.")
    ] = False,
    nats_url: natsconn.NatsUrl = "",
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
) -> None:
    """Deliver again, to each chosen durable consumer, what the restored databases may lack. --to-positions
    FILE (saved by `save-positions` right before the backup): from each consumer's saved ack floor + 1, which
    holds even for a consumer that was behind. --since T, without such a file: every message published at or
    after T (the backup's time minus a margin); it cannot see a consumer that was behind at the backup, whose
    events published before T but applied after the backup are lost. The inboxes drop what they have already
    applied; safe while the services run; never moves a consumer forward. A --since later than a restored
    database's newest inbox/outbox row, that would skip messages, is refused (exit 2) unless --force."""
    if bool(since) == (to_positions is not None):
        raise typer.BadParameter("give exactly one of --since and --to-positions", param_hint="--since")
    url = natsconn.url(nats_url)
    if to_positions is not None:
        _rewind_to(positions.load(to_positions, "--to-positions"), url, service, consumer, yes)
        return
    at = parse_since(since)
    db_url = database_url or config.load(ServiceSettings).database_url
    with pg.reported(db_url):
        bounds = asyncio.run(restored.bounds(db_url, BY_NAME))

    async def look(nc: Client) -> tuple[list[Rewind], list[restored.Skip]]:
        plans = await plan(nc, _choose(await durables(nc.jetstream()), service, consumer), at)
        skips = []
        for p in plans:
            # Where the consumer starts after this command: a reset's sequence, else past its ack floor.
            start = p.to_seq or p.durable.ack_floor + 1
            bound = bounds[p.durable.service]
            subjects = list(p.durable.subjects)
            skip = await restored.skipped(nc, bound, p.durable.stream, at, start, p.durable.name, subjects)
            if skip is not None:
                skips.append(skip)
        return plans, skips

    plans, skips = natsconn.run(url, look)
    table = Table(title=f"rewind to {at.isoformat()}")
    for column in ("consumer", "stream", "ack floor", "from", "what happens"):
        table.add_column(column, overflow="fold")
    for p in plans:
        table.add_row(p.durable.name, p.durable.stream, str(p.durable.ack_floor), str(p.to_seq or "-"), p.why)
    print_table(console, table)
    restored.warn(restored.unbounded(bounds[s] for s in sorted({p.durable.service for p in plans})))
    restored.warn([restored.LAG])
    if restored.report(skips, at, "not be delivered again", force=force):
        raise typer.Exit(2)
    _confirm_and_apply(url, plans, yes)


def _rewind_to(
    saved: positions.Saved, url: str, service: list[str] | None, consumer: list[str] | None, yes: bool
) -> None:
    async def look(nc: Client) -> tuple[list[Rewind], list[str]]:
        js = nc.jetstream()
        found = await durables(js)
        plans, notes = plan_positions(_choose(found, service, consumer), saved, await positions.streams(js))
        return plans, notes + ([] if consumer else absent(saved, found, service))

    plans, notes = natsconn.run(url, look)
    table = Table(title=f"rewind to the positions saved at {saved.saved_at.isoformat()}")
    for column in ("consumer", "stream", "ack floor", "from", "what happens"):
        table.add_column(column, overflow="fold")
    for p in plans:
        table.add_row(p.durable.name, p.durable.stream, str(p.durable.ack_floor), str(p.to_seq or "-"), p.why)
    print_table(console, table)
    restored.warn(notes)
    _confirm_and_apply(url, plans, yes)


def _confirm_and_apply(url: str, plans: list[Rewind], yes: bool) -> None:
    todo = [p for p in plans if p.to_seq]
    if not todo:
        console.print("nothing to rewind")
        return
    if not yes and not typer.confirm(f"rewind {len(todo)} consumer(s)?"):
        raise typer.Exit(1)
    done = natsconn.run(url, lambda nc: apply(nc.jetstream(), todo))
    for p in done:
        console.print(f"rewound {p.durable.name} on {p.durable.stream} to {p.to_seq}")
