"""`onepool orders stuck`: the orders that stopped moving and the stock requests inventory refused, read from the
orders schema in ONEPOOL_DATABASE_URL directly (as `onepool outbox status` reads the outboxes), so it answers
while the orders service is down too. The same reads as the onepool_orders_waiting gauges
(onepool_orders.adapters.waiting says what each state waits on).

Three tables: how many orders wait per state and the oldest age (what the gauges show; the states are
awaiting_reservation, awaiting_payment, balance_overdue, awaiting_inventory and goods_overdue); the orders
waiting longer than --older-than, oldest first (order, channel, state, since, why; for goods_overdue "since" is
the date the goods were promised for); the stock requests inventory refused for good, newest first, whatever
their age (they stay until an operator settles them).

Failure modes: the database unreachable -> exit 1 with the reason; orders never migrated -> exit 1 saying so;
an --older-than that is not a duration -> exit 2 naming the option.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from onepool_orders.adapters.waiting import (
    RefusedRequest,
    StuckOrder,
    WaitingCount,
    refused_requests,
    stuck_orders,
    waiting_counts,
)
from onepool_runtime.db import connecting_engine
from onepool_runtime.settings import ServiceSettings
from rich.console import Console
from rich.table import Table
from sqlalchemy import pool, text

from onepool_cli import config, pg
from onepool_cli.tables import print_table

app = typer.Typer(help="Orders: the ones that stopped moving, and what inventory refused.", no_args_is_help=True)
console = Console()

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def seconds_of(duration: str) -> float:
    """`90`, `90s`, `5m`, `2h`, `1d` in seconds; anything else is refused naming the option."""
    found = _DURATION.match(duration)
    if found is None:
        raise typer.BadParameter(
            f"{duration!r} is not a duration: a number with s, m, h or d (5m, 90s)", param_hint="--older-than"
        )
    return float(found.group(1)) * _UNITS[found.group(2)]


@dataclass(frozen=True)
class Stuck:
    waiting: list[WaitingCount] = field(default_factory=list)
    orders: list[StuckOrder] = field(default_factory=list)
    refused: list[RefusedRequest] = field(default_factory=list)


class NotMigrated(Exception):
    pass


async def read(database_url: str, older_than_seconds: float, limit: int) -> Stuck:
    engine = connecting_engine(database_url, {"server_settings": {"search_path": "orders"}}, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            if await conn.scalar(text("SELECT to_regclass('orders.stock_requests')")) is None:
                raise NotMigrated
            return Stuck(
                await waiting_counts(conn),
                await stuck_orders(conn, older_than_seconds, limit),
                await refused_requests(conn, limit),
            )
    finally:
        await engine.dispose()


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d"


def _json(table: str, row: Any) -> str:
    values = {k: (_when(v) if isinstance(v, datetime) else v) for k, v in row._asdict().items()}
    return json.dumps({"row": table, **values})


@app.command("stuck")
def stuck(
    older_than: Annotated[
        str, typer.Option("--older-than", help="List orders waiting at least this long: 90s, 5m, 2h, 1d.")
    ] = "5m",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many orders, and refusals.")] = 50,
    database_url: Annotated[str, typer.Option("--database-url", help="Defaults to ONEPOOL_DATABASE_URL.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per row instead of tables.")] = False,
) -> None:
    """Orders waiting longer than --older-than (on a reservation, a payment, a lapse, inventory applying a change,
    or goods past their promised date), and the stock requests inventory refused."""
    wait = seconds_of(older_than)
    url = database_url or config.load(ServiceSettings).database_url
    with pg.reported(url):
        try:
            found = asyncio.run(read(url, wait, limit))
        except NotMigrated:
            said = f"[red]the orders schema at {pg.safe_url(url)} is not migrated (onepool migrate)[/red]"
            pg.console.print(said, soft_wrap=True)
            raise typer.Exit(1) from None
    if as_json:
        for kind, rows in (("waiting", found.waiting), ("order", found.orders), ("refused", found.refused)):
            for row in rows:
                print(_json(kind, row))
        return
    now = datetime.now(UTC)
    waiting = Table(title="orders waiting now")
    for column in ("state", "orders", "oldest"):
        waiting.add_column(column)
    for w in found.waiting:
        waiting.add_row(w.state.value, str(w.orders), _age(w.oldest_age_seconds) if w.orders else "-")
    print_table(console, waiting)

    orders = Table(title=f"orders waiting longer than {older_than.strip()} (oldest first)")
    for column in ("order", "channel", "state", "status", "since", "waited", "why"):
        orders.add_column(column, overflow="fold")
    for o in found.orders:
        since = (now - o.since).total_seconds()
        orders.add_row(o.order_id, o.channel_id, o.state.value, o.status, _when(o.since), _age(since), o.reason)
    if found.orders:
        print_table(console, orders)
    else:
        console.print(f"no order has waited longer than {older_than.strip()}")

    refused = Table(title="stock requests inventory refused (newest first)")
    for column in ("seq", "order", "channel", "request", "refused at", "order now", "inventory said"):
        refused.add_column(column, overflow="fold")
    for r in found.refused:
        refused.add_row(str(r.seq), r.order_id, r.channel_id, r.kind, _when(r.refused_at), r.order_status, r.error)
    if found.refused:
        print_table(console, refused)
    else:
        console.print("no stock request was refused")
