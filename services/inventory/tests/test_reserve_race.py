"""No oversell, ever: many concurrent reservations of a hot SKU through the real gRPC API."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import error_info, status_of

pytestmark = pytest.mark.asyncio


async def test_256_concurrent_reservations_of_100_units_exactly_100_succeed(
    inventory, admin, check_invariants, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    sku, loc = f"HOT-{uuid.uuid4().hex[:6]}", f"WH-{uuid.uuid4().hex[:6]}"
    await inventory.UpsertLocation(
        pb.UpsertLocationRequest(location=pb.Location(id=loc, name="hot", type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id=f"rcv-{sku}", location_id=loc, lines=[pb.StockLine(sku=sku, quantity=100)]),
        metadata=admin,
    )

    async def reserve(i: int) -> object:
        try:
            return await inventory.Reserve(
                pb.ReserveRequest(
                    request_id=f"{sku}-{i}", order_id=f"o-{i}", lines=[pb.ReserveLine(sku=sku, quantity=1)]
                ),
                metadata=admin,
            )
        except grpc.aio.AioRpcError as exc:
            return exc

    results = await asyncio.gather(*(reserve(i) for i in range(256)))
    ok = [r for r in results if isinstance(r, pb.ReserveResponse)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(ok) == 100
    assert len(refused) == 156
    for exc in refused:
        assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION
        info = error_info(exc)
        assert info is not None and info.reason == "INSUFFICIENT_STOCK"
        assert info.metadata["sku"] == sku and info.metadata["available"] == "0"
        assert sku in exc.details() and "available 0" in exc.details()
        violations = error_details_pb2.PreconditionFailure()
        [packed] = [d for d in status_of(exc).details if d.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR)]
        packed.Unpack(violations)
        assert violations.violations[0].subject == sku

    availability = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)
    [item] = availability.items
    assert (item.on_hand, item.reserved, item.available) == (100, 100, 0)
    levels = await check_invariants()
    assert levels[(sku, loc)] == (100, 100)
    # The requests were coalesced: far fewer transactions than requests.
    coalescer = inventory_host.parts.components["reserve_coalescer"]
    assert coalescer.largest_batch > 1
