"""Bad input gets INVALID_ARGUMENT naming the field, never INTERNAL, and changes nothing."""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import field_violations

pytestmark = pytest.mark.asyncio

CASES = [
    ("UpsertLocation", pb.UpsertLocationRequest(), ["location.id", "location.name", "location.type"]),
    ("UpsertLocation", pb.UpsertLocationRequest(location=pb.Location(id="bad id!", name="x", type=1)), ["location.id"]),
    ("ReceiveStock", pb.ReceiveStockRequest(), ["request_id", "location_id", "lines"]),
    (
        "ReceiveStock",
        pb.ReceiveStockRequest(request_id="r", location_id="WH", lines=[pb.StockLine(sku="A", quantity=0)]),
        ["lines[0].quantity"],
    ),
    (
        "ReceiveStock",
        pb.ReceiveStockRequest(request_id="r", location_id="WH", lines=[pb.StockLine(sku="A", quantity=-5)]),
        ["lines[0].quantity"],
    ),
    ("AdjustStock", pb.AdjustStockRequest(request_id="r", location_id="WH", sku="A"), ["delta", "reason"]),
    ("SetSafetyStock", pb.SetSafetyStockRequest(location_id="WH", sku="A", quantity=-1), ["quantity"]),
    ("GetAvailability", pb.GetAvailabilityRequest(), ["skus"]),
    ("Reserve", pb.ReserveRequest(), ["request_id", "lines"]),
    (
        "Reserve",
        pb.ReserveRequest(request_id="r", lines=[pb.ReserveLine(sku="A", quantity=1)], ttl_seconds=-1),
        ["ttl_seconds"],
    ),
    (
        "Reserve",
        pb.ReserveRequest(
            request_id="r",
            lines=[pb.ReserveLine(sku="A", quantity=1)],
            hint=pb.SourcingHint(mode=pb.SOURCING_MODE_PICKUP),
        ),
        ["hint.pickup_location_id"],
    ),
    ("GetReservation", pb.GetReservationRequest(), ["reservation_id"]),
    ("CommitReservation", pb.CommitReservationRequest(), ["reservation_id"]),
    ("ReleaseReservation", pb.ReleaseReservationRequest(), ["reservation_id"]),
    ("FulfillReservation", pb.FulfillReservationRequest(), ["reservation_id", "location_id"]),
    (
        "FulfillReservation",
        pb.FulfillReservationRequest(reservation_id="x", location_id="WH", lines=[pb.StockLine(sku="A", quantity=1)]),
        ["request_id"],
    ),
    (  # A request id too long for the key column (with its operation's prefix) was INTERNAL without lines (fuzz).
        "FulfillReservation",
        pb.FulfillReservationRequest(reservation_id="x", location_id="WH", request_id="r" * 250),
        ["request_id"],
    ),
    (
        "TransferStock",
        pb.TransferStockRequest(from_location_id="A", to_location_id="A"),
        ["request_id", "to_location_id", "lines"],
    ),
    ("ReceiveTransfer", pb.ReceiveTransferRequest(), ["transfer_id"]),
    ("GetTransfer", pb.GetTransferRequest(), ["transfer_id"]),
    ("ListMovements", pb.ListMovementsRequest(page_size=-1), ["page_size"]),
    ("ListMovements", pb.ListMovementsRequest(page_token="%%%not-a-token"), ["page_token"]),
    ("ListLocations", pb.ListLocationsRequest(type=99), ["type"]),
    ("ListLocations", pb.ListLocationsRequest(page_size=-1), ["page_size"]),
    ("ListLocations", pb.ListLocationsRequest(page_size=10, page_token="%%%not-a-token"), ["page_token"]),
    ("ListLocations", pb.ListLocationsRequest(location_ids=["WH", "not an id!"]), ["location_ids[1]"]),
    ("ListLocations", pb.ListLocationsRequest(location_ids=[f"L{i}" for i in range(501)]), ["location_ids"]),
    ("ListChannelAllocations", pb.ListChannelAllocationsRequest(page_size=-1), ["page_size"]),
    ("ListChannelAllocations", pb.ListChannelAllocationsRequest(page_token="%%%not-a-token"), ["page_token"]),
    # A token that decodes, but not to a position in the listing order.
    ("ListChannelAllocations", pb.ListChannelAllocationsRequest(page_token="eyJhZnRlciI6WzEsMl19"), ["page_token"]),
]


@pytest.mark.parametrize(("rpc", "request_message", "fields"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_bad_input_is_invalid_argument_naming_the_field(inventory, admin, rpc, request_message, fields) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(inventory, rpc)(request_message, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert set(fields) <= set(field_violations(caught.value))


async def test_malformed_protobuf_bytes_are_invalid_argument_not_internal(inventory_host, admin) -> None:  # type: ignore[no-untyped-def]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inventory_host.port}") as channel:
        raw = channel.unary_unary(
            "/onepool.inventory.v1.InventoryService/ReceiveStock",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await raw(b"\xff\xff\xff\xff garbage", metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_rejected_request_changes_nothing(inventory, admin) -> None:  # type: ignore[no-untyped-def]
    before = await inventory.ListMovements(pb.ListMovementsRequest(), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError):
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id="bad-1", location_id="NOWHERE", lines=[pb.StockLine(sku="A", quantity=-1)]
            ),
            metadata=admin,
        )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id="bad-2", location_id="NOWHERE", lines=[pb.StockLine(sku="A", quantity=1)]
            ),
            metadata=admin,
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    after = await inventory.ListMovements(pb.ListMovementsRequest(), metadata=admin)
    assert list(after.movements) == list(before.movements)
