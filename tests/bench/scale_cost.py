"""CPU per call of inventory's hot paths as the brand grows in ways those calls should not notice: locations
holding none of the SKUs asked for (a franchise network's shops), and received transfers (the history every
replenishment shipped to a dealer leaves). A path whose cost follows either has a read that scans what it
does not need.

`python -m tests.bench.scale_cost [--shops 0,2000] [--history 0,20000] [--calls 2000]`

Starts PostgreSQL, NATS and inventory as production processes (`stack.py`), lays out a warehouse with 200
SKUs, then for each step adds shops (UpsertLocation, no stock) or received transfers of the SKUs (written in
SQL, as a receipt leaves them: thousands through the API would take minutes), ANALYZEs and VACUUMs as
autovacuum would on a database older than a minute, and prints the median CPU milliseconds per call of
inventory and PostgreSQL's whole tree (`cpu_per_call._measure`) for Reserve (one unit of a spread SKU, no
channel) and GetAvailability (one SKU). The steps right after a bulk insert carry PostgreSQL's background
work (hint bits, vacuum); repeat the last step (`--history 0,20000,20000,20000`) to see it settle.

Failure modes: a service that does not start raises RuntimeError naming its log.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import typer

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from onepool.inventory.v1 import inventory_pb2 as ipb

from tests.bench.cpu_per_call import _measure
from tests.bench.stack import BenchStack
from tests.bench.world import World

SKUS = 200


async def _add_shops(stack: BenchStack, start: int, stop: int) -> None:
    inventory, gate = stack.stub("inventory"), asyncio.Semaphore(32)

    async def add(n: int) -> None:
        shop = ipb.Location(id=f"SHOP-{n:05d}", name="shop", type=ipb.LOCATION_TYPE_STORE, region="CN-BJ", ships=True)
        async with gate:
            await inventory.UpsertLocation(ipb.UpsertLocationRequest(location=shop), metadata=stack.admin)

    await asyncio.gather(*(add(n) for n in range(start, stop)))


async def _add_history(conn: Any, world: World, start: int, stop: int) -> None:
    """Received transfers from the warehouse to a shop, one line each over the SKUs."""
    await conn.execute(
        "INSERT INTO transfers (id, from_location_id, to_location_id, status, reference, created_at)"
        " SELECT 'H' || n, $1, 'HISTORY-SHOP', 'RECEIVED', '', now() FROM generate_series($2::int, $3::int) AS n",
        world.location,
        start + 1,
        stop,
    )
    await conn.execute(
        "INSERT INTO transfer_lines (transfer_id, sku, quantity, in_transit)"
        " SELECT 'H' || n, $1 || lpad((n % $4)::text, 5, '0'), 1, false FROM generate_series($2::int, $3::int) AS n",
        f"S{world.run}-",
        start + 1,
        stop,
        SKUS,
    )


async def measure(shops: list[int], history: list[int], calls: int) -> None:
    with tempfile.TemporaryDirectory(prefix="onepool-scale-cost-") as tmp:
        stack = BenchStack(Path(tmp))
        try:
            await asyncio.to_thread(stack.start_infra)
            await stack.start_services("inventory")
            world = World()
            await world.stock_up(stack, SKUS)
            inventory, admin = stack.stub("inventory"), stack.admin
            history_shop = ipb.Location(id="HISTORY-SHOP", name="shop", type=ipb.LOCATION_TYPE_STORE, ships=True)
            await inventory.UpsertLocation(ipb.UpsertLocationRequest(location=history_shop), metadata=admin)
            pids = {"inventory": stack.pid("inventory"), "postgres": stack.pg.proc.pid}  # type: ignore[union-attr]

            def available(i: int) -> Any:
                request = ipb.GetAvailabilityRequest(skus=[world.spread[i % SKUS]])
                return inventory.GetAvailability(request, metadata=admin)

            def reserve(i: int) -> Any:
                line = ipb.ReserveLine(sku=world.spread[(i * 7919) % SKUS], quantity=1)
                request = ipb.ReserveRequest(request_id=f"scale-{i}-{os.urandom(4).hex()}", lines=[line])
                return inventory.Reserve(request, metadata=admin)

            had_shops = had_history = 0
            steps = [("shops", n) for n in shops] + [("history", n) for n in history]
            for kind, target in steps:
                conn = await asyncpg.connect(stack.database_url)
                try:
                    await conn.execute("SET search_path = inventory")
                    if kind == "shops" and target > had_shops:
                        await _add_shops(stack, had_shops, target)
                        had_shops = target
                    if kind == "history" and target > had_history:
                        await _add_history(conn, world, had_history, target)
                        had_history = target
                    await conn.execute("VACUUM ANALYZE")
                finally:
                    await conn.close()
                label = f"{had_shops} shops, {had_history} received transfers"
                await _measure(f"GetAvailability, {label}", available, pids, calls, 16, 3)
                await _measure(f"Reserve, {label}", reserve, pids, calls // 2, 16, 3)
        finally:
            await stack.close()


def _counts(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(
    shops: Annotated[str, typer.Option(help="Comma-separated shop counts, one step each.")] = "0,2000",
    history: Annotated[str, typer.Option(help="Comma-separated received-transfer counts.")] = "0,20000",
    calls: Annotated[int, typer.Option(help="GetAvailability calls per round (Reserve: half).")] = 2000,
) -> None:
    """Median CPU ms per call of GetAvailability and Reserve as unrelated shops and transfer history grow."""
    asyncio.run(measure(_counts(shops), _counts(history), calls))


if __name__ == "__main__":
    typer.run(main)
