"""`onepool channels`: operator commands for the channels service."""

from __future__ import annotations

import asyncio
from functools import partial

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn

from onepool_cli import pg

app = typer.Typer(help="The channels service: rebuild its stock read model.", no_args_is_help=True)
console = Console()


async def _rebuild(progress: Progress) -> object:
    from onepool_channels.adapters.inventory_client import InventoryReader
    from onepool_channels.adapters.repository import startup_lock
    from onepool_channels.service_layer.rebuild import STOCK_REBUILD, rebuild_on_demand
    from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
    from onepool_channels.settings import ChannelsSettings
    from onepool_runtime import db
    from onepool_runtime.clients import service_channel
    from onepool_runtime.idempotency import run_in_transaction

    settings = ChannelsSettings()
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

    columns = SpinnerColumn(), TextColumn("{task.description}: {task.completed} done")
    with pg.reported(ChannelsSettings().database_url), Progress(*columns, console=console) as p:
        try:
            report = asyncio.run(_rebuild(p))
        except grpc.aio.AioRpcError as exc:
            console.print(f"[red]inventory refused or is unreachable: {exc.code().name} {exc.details()}[/red]")
            raise typer.Exit(1) from exc
    console.print(f"rebuilt: {report}")
