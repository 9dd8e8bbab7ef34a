"""Reserve calls pass admission but do not hold its slots while they wait for their batch (pipeline.py,
`coalesced`): the slots are sized to the database pool, and a Reserve waiting for the coalescer holds no
connection. Held slots capped every batch at the slot count and refused the rest of a burst on a hot SKU."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings
from onepool_runtime.server import ServiceHost
from onepool_runtime.testing.services import running_service, test_settings

pytestmark = pytest.mark.asyncio

BURST = 24
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="module")
async def narrow_host(database_url: str, nats_url: str) -> AsyncIterator[ServiceHost]:
    """Inventory admitting one call at a time and queueing none."""
    settings = test_settings(
        InventorySettings, database_url, nats_url, max_concurrent_rpcs=1, max_queued_rpcs=0, db_schema="inv_narrow"
    )
    async with running_service(settings, build, MIGRATIONS) as host:
        yield host


async def test_a_burst_of_reservations_on_one_sku_is_admitted_and_batched(narrow_host: ServiceHost, admin) -> None:  # type: ignore[no-untyped-def]
    sku, loc = f"HOT-{uuid.uuid4().hex[:6]}", f"WH-{uuid.uuid4().hex[:6]}"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{narrow_host.port}") as channel:
        inventory = inventory_pb2_grpc.InventoryServiceStub(channel)
        await inventory.UpsertLocation(
            pb.UpsertLocationRequest(
                location=pb.Location(id=loc, name="hot", type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)
            ),
            metadata=admin,
        )
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(request_id=f"r-{sku}", location_id=loc, lines=[pb.StockLine(sku=sku, quantity=10)]),
            metadata=admin,
        )

        async def reserve(i: int) -> grpc.StatusCode:
            request = pb.ReserveRequest(request_id=f"{sku}-{i}", lines=[pb.ReserveLine(sku=sku, quantity=1)])
            try:
                await inventory.Reserve(request, metadata=admin)
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                return exc.code()

        codes = await asyncio.gather(*(reserve(i) for i in range(BURST)))
        available = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)

    # Every call was admitted; exactly the stock was reserved, the rest refused for lack of stock only.
    assert codes.count(grpc.StatusCode.OK) == 10, codes
    assert codes.count(grpc.StatusCode.FAILED_PRECONDITION) == BURST - 10, codes
    assert available.items[0].reserved == 10 and available.items[0].available == 0
    # The unary budget itself still held: never more than one call holding a slot.
    assert narrow_host.admission.unary.peak_in_flight <= 1
    coalescer = narrow_host.parts.components["reserve_coalescer"]  # type: ignore[union-attr]
    assert coalescer.largest_batch > 1  # type: ignore[attr-defined]
