"""`onepool outbox status|resend`: each service's transactional outbox in ONEPOOL_DATABASE_URL, read directly;
`resend` publishes again what JetStream lost (resend.py).

Per service: the backlog (events written and not yet published), the age of the oldest of them, how many of
them JetStream already refused at least once (the relay retries them) and the last such error. A backlog
that stays, or an age that grows, means that service's relay is not publishing (the process is down, NATS is
unreachable, or JetStream refuses): the same numbers as the onepool_outbox_backlog and
onepool_outbox_oldest_age_seconds metrics, without needing Prometheus.

Failure modes: the database unreachable -> exit 1 with the reason; a service whose schema was never migrated
-> shown as "not migrated".
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from nats.aio.client import Client
from onepool_runtime.db import check_schema_name, connecting_engine
from onepool_runtime.messaging import DUPLICATE_WINDOW_SECONDS
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import pool, text

from onepool_cli import config, natsconn, pg, resend
from onepool_cli.consumers import parse_since
from onepool_cli.services import BY_NAME, SERVICES
from onepool_cli.tables import print_table

app = typer.Typer(
    help="Transactional outboxes: what is waiting to be published; re-sending what JetStream lost.",
    no_args_is_help=True,
)
console = Console()


@dataclass(frozen=True)
class OutboxStatus:
    service: str
    migrated: bool
    backlog: int = 0
    oldest_age_seconds: float = 0.0
    retried: int = 0
    last_error: str = ""


_STATUS = """SELECT count(*),
       coalesce(extract(epoch FROM now() - min(created_at)), 0),
       count(*) FILTER (WHERE attempts > 0),
       (SELECT last_error FROM "{schema}".outbox
         WHERE published_at IS NULL AND last_error IS NOT NULL ORDER BY seq DESC LIMIT 1)
  FROM "{schema}".outbox WHERE published_at IS NULL"""


async def read(database_url: str, services: list[str]) -> list[OutboxStatus]:
    engine = connecting_engine(database_url, poolclass=pool.NullPool)
    found = []
    try:
        async with engine.connect() as conn:
            for service in services:
                schema = check_schema_name(service)
                if await conn.scalar(text("SELECT to_regclass(:t)"), {"t": f'"{schema}".outbox'}) is None:
                    found.append(OutboxStatus(service, migrated=False))
                    continue
                count, age, retried, error = (await conn.execute(text(_STATUS.format(schema=schema)))).one()
                found.append(OutboxStatus(service, True, int(count), round(float(age), 3), int(retried), error or ""))
    finally:
        await engine.dispose()
    return found


@app.command("status")
def status(
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per service instead of a table.")] = False,
) -> None:
    """Backlog and oldest unpublished event per service."""
    url = database_url or config.load(ServiceSettings).database_url
    with pg.reported(url):
        rows = asyncio.run(read(url, [s.name for s in SERVICES]))
    if as_json:
        for row in rows:
            print(json.dumps(asdict(row)))
        return
    table = Table(title="outboxes")
    for column in ("service", "backlog", "oldest age (s)", "retried", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if not row.migrated:
            table.add_row(row.service, "not migrated", "", "", "")
        else:
            age = f"{row.oldest_age_seconds:.1f}"
            table.add_row(row.service, str(row.backlog), age, str(row.retried), row.last_error)
    print_table(console, table)


@app.command("resend")
def resend_command(
    since: Annotated[str, typer.Option("--since", help="RFC 3339 time, e.g. 2025-03-01T09:30:00Z.")],
    service: Annotated[list[str] | None, typer.Option("--service", "-s", help="Only this service's.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be re-sent; send nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    nats_url: natsconn.NatsUrl = "",
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
) -> None:
    """Publish again every event each outbox published at or after T, in its order and with the relay's
    headers, after JetStream lost its data (a volume lost, a stream deleted or purged). The outboxes keep
    published events ONEPOOL_OUTBOX_RETENTION_HOURS (24 h). The streams drop an event they still hold within
    their duplicate window (10 min); beyond it, the consumers' inboxes drop the copy. Safe to repeat."""
    at = parse_since(since)
    unknown = [s for s in service or [] if s not in BY_NAME]
    if unknown:
        raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}", param_hint="--service")
    db_url = database_url or config.load(ServiceSettings).database_url
    url = natsconn.url(nats_url)
    with pg.reported(db_url):
        plans = asyncio.run(resend.read_plans(db_url, service or [s.name for s in SERVICES], at))

    async def look(nc: Client) -> list[resend.Plan]:
        return await resend.with_streams(nc.jetstream(), plans)

    plans = natsconn.run(url, look)
    _show_plans(plans, at)
    missing = [p for p in plans if p.events and not p.stream_there]
    if missing:
        names = ", ".join(f"{p.stream} ({p.service})" for p in missing)
        console.print(
            f"[red]no stream {names} on the server: start the service, which creates its stream, then run again[/red]"
        )
        raise typer.Exit(1)
    total = sum(p.events for p in plans)
    if dry_run or not total:
        console.print("nothing to re-send" if not total else f"dry run: {total} event(s) would be re-sent")
        return
    if not yes and not typer.confirm(f"re-send {total} event(s)?"):
        raise typer.Exit(1)
    outcomes = _send(url, db_url, plans, at, total)
    _show_outcomes(outcomes)
    forgotten = sum(o.forgotten for o in outcomes)
    if forgotten:
        after = datetime.now(UTC) + timedelta(seconds=DUPLICATE_WINDOW_SECONDS)
        console.print(
            f"[red]{forgotten} event(s) not stored: the stream was purged (or messages deleted) and still "
            f"remembers their ids for its duplicate window ({DUPLICATE_WINDOW_SECONDS / 60:g} min); run the same "
            f"command again after {after:%Y-%m-%dT%H:%M:%SZ} (what this run stored is then stored a second time: "
            "the consumers' inboxes drop the copies)[/red]"
        )
    if any(o.failed for o in outcomes):
        console.print("[red]some events were not acknowledged: run it again (the server drops what it stored)[/red]")
    if forgotten or any(o.failed for o in outcomes):
        raise typer.Exit(1)


def _send(url: str, db_url: str, plans: list[resend.Plan], at: datetime, total: int) -> list[resend.Outcome]:
    columns = (TextColumn("re-sending"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("re-send", total=total)

        async def work(nc: Client) -> list[resend.Outcome]:
            return await resend.resend(nc, db_url, plans, at, lambda n: progress.advance(bar, n))

        try:
            return natsconn.run(url, work)
        except resend.DatabaseFailed as exc:
            with pg.reported(db_url):
                raise exc.__cause__ or exc from None
            raise  # pg.reported exits for every database error; anything else is a bug to see


def _show_plans(plans: list[resend.Plan], at: datetime) -> None:
    table = Table(title=f"events published since {at.isoformat()}, still in the outboxes")
    for column in ("service", "stream", "events", "from seq"):
        table.add_column(column, overflow="fold")
    for p in plans:
        if not p.migrated:
            table.add_row(p.service, p.stream, "not migrated", "")
        else:
            stream = p.stream if p.stream_there else f"{p.stream} (not on the server)"
            table.add_row(p.service, stream, str(p.events), str(p.first_seq or "-"))
    print_table(console, table)
    hours = _retention_hours()
    if at < datetime.now(UTC) - timedelta(hours=hours):
        console.print(
            f"[yellow]the outboxes keep published events {hours:g} h: those published before "
            f"{datetime.now(UTC) - timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ} are gone and cannot be re-sent[/yellow]"
        )


def _retention_hours() -> float:
    try:
        return ServiceSettings().outbox_retention_hours
    except Exception:  # the environment refuses a setting (--database-url given): the services' default
        return 24.0


def _show_outcomes(outcomes: list[resend.Outcome]) -> None:
    table = Table(title="re-sent")
    columns = ("service", "re-sent (stored)", "duplicates (dropped by the server)", "forgotten", "failed", "last error")
    for column in columns:
        table.add_column(column, overflow="fold")
    for o in outcomes:
        numbers = (o.stored, o.duplicates, o.forgotten, o.failed)
        table.add_row(o.service, *map(str, numbers), o.last_error)
    print_table(console, table)
