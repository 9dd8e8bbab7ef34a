"""`onepool channels`: operator commands for the channels service."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

from onepool_cli import config, pg

if TYPE_CHECKING:
    from onepool_channels.service_layer.rebuild import RebuildReport
    from onepool_channels.settings import ChannelsSettings

app = typer.Typer(help="The channels service: rebuild its stock read model.", no_args_is_help=True)
console = Console()


async def _rebuild(settings: ChannelsSettings, progress: Progress) -> RebuildReport:
    from onepool_channels.adapters.inventory_client import InventoryReader
    from onepool_channels.adapters.repository import startup_lock
    from onepool_channels.service_layer.rebuild import STOCK_REBUILD, rebuild_on_demand
    from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
    from onepool_runtime import db
    from onepool_runtime.clients import service_channel
    from onepool_runtime.idempotency import run_in_transaction

    engine = db.create_engine(settings.database_url, settings.schema_name, pool_size=2, max_overflow=0)
    inventory = service_channel(settings.inventory_addr, settings)
    tasks: dict[str, TaskID] = {}

    def tick(step: str, units: int) -> None:
        if step not in tasks:
            tasks[step] = progress.add_task(step, total=None)
        progress.update(tasks[step], advance=units, description=f"{step}")

    try:
        # The database first: finding it down only after streaming all of inventory wastes the operator's time.
        async with engine.connect():
            pass
        uow_factory = partial(ChannelsUnitOfWork, db.session_factory(engine))
        # The start-up rebuild's lock: a replica rebuilding is waited for, never run beside.
        exclusive = partial(startup_lock, engine, STOCK_REBUILD, 1.0)
        in_transaction = partial(run_in_transaction, uow_factory)
        return await rebuild_on_demand(in_transaction, InventoryReader(inventory), exclusive, tick)
    finally:
        await inventory.close(None)
        await engine.dispose()


@app.command("rebuild")
def rebuild_command() -> None:
    """Rebuild the channel stock read model from inventory (ONEPOOL_DATABASE_URL, ONEPOOL_INVENTORY_ADDR):
    locations, every stock level, dedicated stock, sales and presale counts and expected receipts; changed listings
    are republished.
    Safe while the service runs (every row is version-guarded, like the events that feed it); it waits for a
    replica's start-up rebuild to end, and is recorded like one (a start-up rebuild left unfinished is done)."""
    import grpc
    from onepool_channels.settings import ChannelsSettings

    settings = config.load(ChannelsSettings)
    inventory = settings.inventory_addr
    columns = SpinnerColumn(), TextColumn("{task.description}: {task.completed} done")
    with pg.reported(settings.database_url), Progress(*columns, console=console) as p:
        try:
            report = asyncio.run(_rebuild(settings, p))
        except grpc.aio.AioRpcError as exc:
            console.print(
                f"[red]inventory at {inventory} (ONEPOOL_INVENTORY_ADDR) refused or is unreachable: "
                f"{exc.code().name} {exc.details()}[/red]",
                soft_wrap=True,
            )
            raise typer.Exit(1) from exc
    console.print(f"rebuilt from inventory at {inventory}: {describe(report)}", soft_wrap=True)


def describe(report: RebuildReport) -> str:
    counts = {
        "locations": report.locations,
        "stock levels": report.levels,
        "dedicated stock allocations": report.allocations,
        "sales counters": report.counters,
        "expected receipts": report.receipts,
    }
    rebuilt = ", ".join(f"{what}: {n}" for what, n in counts.items())
    return f"{rebuilt}; listing updates published: {report.published}"
