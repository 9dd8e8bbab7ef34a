"""Reserve calls pass admission but do not hold its slots while they wait for their batch (pipeline.py,
`coalesced`): the slots are sized to the database pool, and a Reserve waiting for the coalescer holds no
connection. Held slots capped every batch at the slot count and refused the rest of a burst on a hot SKU."""

from __future__ import annotations

import asyncio
import contextlib
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
from onepool_runtime.testing.services import running_service, status_of, test_settings
from sqlalchemy import text

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


PENDING_LIMIT, FLOOD = 8, 40


@pytest.fixture(scope="module")
async def flood_host(database_url: str, nats_url: str) -> AsyncIterator[ServiceHost]:
    """Inventory taking at most PENDING_LIMIT Reserve calls waiting for (or in) a batch."""
    settings = test_settings(
        InventorySettings, database_url, nats_url, max_batched_rpcs=PENDING_LIMIT, db_schema="inv_flood"
    )
    async with running_service(settings, build, MIGRATIONS) as host:
        yield host


async def test_a_reserve_flood_beyond_the_batched_budget_is_shed_with_retry_advice(
    flood_host: ServiceHost, admin
) -> None:  # type: ignore[no-untyped-def]
    """A batch stuck on a row lock (a slow commit, a lock held elsewhere) must not let every Reserve that comes
    meanwhile pile up behind it: beyond the budget they are refused at once, with retry advice, as every other
    RPC is; those taken are answered once the batch moves again."""
    sku, loc = f"FLOOD-{uuid.uuid4().hex[:6]}", f"WH-{uuid.uuid4().hex[:6]}"
    assert flood_host.infra is not None
    async with grpc.aio.insecure_channel(f"127.0.0.1:{flood_host.port}") as channel:
        inventory = inventory_pb2_grpc.InventoryServiceStub(channel)
        await inventory.UpsertLocation(
            pb.UpsertLocationRequest(
                location=pb.Location(id=loc, name="flood", type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)
            ),
            metadata=admin,
        )
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(request_id=f"r-{sku}", location_id=loc, lines=[pb.StockLine(sku=sku, quantity=100)]),
            metadata=admin,
        )

        answered, enough_answered = 0, asyncio.Event()

        async def reserve(i: int) -> grpc.aio.AioRpcError | None:
            nonlocal answered
            request = pb.ReserveRequest(request_id=f"{sku}-{i}", lines=[pb.ReserveLine(sku=sku, quantity=1)])
            try:
                await inventory.Reserve(request, metadata=admin, timeout=30)
                return None
            except grpc.aio.AioRpcError as exc:
                return exc
            finally:
                answered += 1
                if answered == FLOOD - PENDING_LIMIT:
                    enough_answered.set()

        async with flood_host.infra.engine.connect() as locker:
            await locker.execute(text("SELECT 1 FROM stock_levels WHERE sku = :sku FOR UPDATE"), {"sku": sku})
            calls = [asyncio.create_task(reserve(i)) for i in range(FLOOD)]
            # Wait for the refusals (at once when bounded); unbounded, nothing is answered until the lock goes.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(enough_answered.wait(), 5)
            await asyncio.sleep(0.2)  # and no more than those
            answered_while_stuck = answered
            await locker.rollback()
        outcomes = await asyncio.gather(*calls)

    refused = [e for e in outcomes if e is not None]
    assert answered_while_stuck == FLOOD - PENDING_LIMIT, answered_while_stuck
    assert len(refused) == FLOOD - PENDING_LIMIT, [e and e.code() for e in outcomes]
    for error in refused:
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
        status = status_of(error)
        assert status is not None
        kinds = {d.TypeName() for d in status.details}
        assert {"google.rpc.RetryInfo", "google.rpc.ErrorInfo"} <= kinds, kinds
    gate = flood_host.admission.batched  # type: ignore[attr-defined]
    assert gate.peak_in_flight == PENDING_LIMIT and gate.in_flight == 0
