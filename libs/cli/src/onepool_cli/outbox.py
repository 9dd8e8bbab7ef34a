"""`onepool outbox status`: each service's transactional outbox in ONEPOOL_DATABASE_URL, read directly.

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
from typing import Annotated

import typer
from onepool_runtime.db import check_schema_name, connecting_engine
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.table import Table
from sqlalchemy import pool, text

from onepool_cli import config, pg
from onepool_cli.services import SERVICES

app = typer.Typer(help="Transactional outboxes: what is waiting to be published.", no_args_is_help=True)
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
    console.print(table)
