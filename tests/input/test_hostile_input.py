"""Issue 9 items 4 and 5 through the real gRPC APIs of all five services.

Item 4: control characters in text fields and out-of-range timestamps are INVALID_ARGUMENT naming the field
(they used to reach PostgreSQL or datetime arithmetic and answer INTERNAL), and the refused call changes
nothing stored. Item 5: an error naming thousands of violations still fits a default client's metadata
limit (it used to be RESOURCE_EXHAUSTED on the client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import field_violations, status_of
from onepool_runtime.validation import encode_page_token

from tests.support.hostile import PARKED_TIMERS, Seeded, Snapshots, cny, diff, seed, uid

NUL = "a\x00b"


@pytest.fixture(scope="module")
async def world(stack, admin, database_url):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement", **PARKED_TIMERS)
    seeded = await seed(stack, admin)
    snapshots = Snapshots(database_url)
    await snapshots.quiesce()
    yield stack, seeded, snapshots
    await snapshots.close()


def _ts(seconds: int) -> Timestamp:
    return Timestamp(seconds=seconds)


# (service, rpc, field path expected in the reply, request built from the seeded world)
Case = tuple[str, str, str, Callable[[Seeded], Any]]
CASES: list[Case] = [
    ("inventory", "ListLocations", "region", lambda w: ipb.ListLocationsRequest(region=NUL)),
    ("inventory", "ListLocations", "owner_dealer_id", lambda w: ipb.ListLocationsRequest(owner_dealer_id=NUL)),
    ("inventory", "ListLocations", "location_ids[0]", lambda w: ipb.ListLocationsRequest(location_ids=[NUL])),
    (
        "inventory",
        "ListChannelAllocations",
        "page_token",
        lambda w: ipb.ListChannelAllocationsRequest(page_token=NUL),
    ),
    (
        "inventory",
        "ReceiveStock",
        "reason",
        lambda w: ipb.ReceiveStockRequest(
            request_id=uid("r"), location_id=w.warehouse, lines=[ipb.StockLine(sku=w.skus[0], quantity=1)], reason=NUL
        ),
    ),
    (
        "inventory",
        "ReceiveStock",
        "reference",
        lambda w: ipb.ReceiveStockRequest(
            request_id=uid("r"),
            location_id=w.warehouse,
            lines=[ipb.StockLine(sku=w.skus[0], quantity=1)],
            reference=NUL,
        ),
    ),
    (
        "inventory",
        "Reserve",
        "request_id",
        lambda w: ipb.ReserveRequest(
            request_id=NUL,
            order_id=uid("o"),
            channel_id=w.channel_id,
            lines=[ipb.ReserveLine(sku=w.skus[0], quantity=1)],
        ),
    ),
    (
        "inventory",
        "AdjustStock",
        "request_id",
        lambda w: ipb.AdjustStockRequest(request_id=NUL, location_id=w.warehouse, sku=w.skus[0], delta=1, reason="x"),
    ),
    (
        "inventory",
        "AdjustStock",
        "reason",
        lambda w: ipb.AdjustStockRequest(
            request_id=uid("a"), location_id=w.warehouse, sku=w.skus[0], delta=1, reason="count\x1b[31m"
        ),
    ),
    (
        "inventory",
        "TransferStock",
        "reference",
        lambda w: ipb.TransferStockRequest(
            request_id=uid("t"),
            from_location_id=w.warehouse,
            to_location_id=w.shop,
            lines=[ipb.StockLine(sku=w.skus[0], quantity=1)],
            reference=NUL,
        ),
    ),
    ("inventory", "ListMovements", "sku", lambda w: ipb.ListMovementsRequest(location_id=w.warehouse, sku=NUL)),
    (
        "dealers",
        "RegisterDealer",
        "name",
        lambda w: dpb.RegisterDealerRequest(
            name=NUL, tier=dpb.DEALER_TIER_GOLD, credit_limit=cny(1), region="CN", request_id=uid("d")
        ),
    ),
    (
        "dealers",
        "RegisterDealer",
        "region",
        lambda w: dpb.RegisterDealerRequest(
            name="n", tier=dpb.DEALER_TIER_GOLD, credit_limit=cny(1), region="CN\x7f", request_id=uid("d")
        ),
    ),
    ("dealers", "ListDealers", "region", lambda w: dpb.ListDealersRequest(region=NUL)),
    (
        "dealers",
        "UpdateDealer",
        "dealer.name",
        lambda w: dpb.UpdateDealerRequest(dealer=dpb.Dealer(id=w.dealer_id, name="a\nb")),
    ),
    (
        "dealers",
        "RejectReplenishment",
        "reason",
        lambda w: dpb.RejectReplenishmentRequest(id=w.replenishment_id, reason=NUL),
    ),
    ("orders", "CancelOrder", "reason", lambda w: opb.CancelOrderRequest(order_id=w.order.id, reason=NUL)),
    (
        "orders",
        "ChangeDeliveryAddress",
        "address",
        lambda w: opb.ChangeDeliveryAddressRequest(request_id=uid("a"), order_id=w.order.id, address="1 Rd\x00"),
    ),
    (
        "orders",
        "ShipFulfillment",
        "tracking_no",
        lambda w: opb.ShipFulfillmentRequest(
            order_id=w.order.id, fulfillment_id=w.order.fulfillments[0].id, tracking_no=NUL
        ),
    ),
    (
        "orders",
        "ReturnItems",
        "request_id",
        lambda w: opb.ReturnItemsRequest(
            request_id=NUL,
            order_id=w.order.id,
            lines=[opb.ReturnLine(sku=w.skus[1], quantity=1)],
            return_location_id=w.warehouse,
        ),
    ),
    (
        "orders",
        "PayOrder",
        "payment_ref",
        lambda w: opb.PayOrderRequest(order_id=w.order.id, payment_ref=NUL, amount=w.order.total),
    ),
    (
        "orders",
        "PlaceOrder",
        "fulfillment.address",
        lambda w: opb.PlaceOrderRequest(
            channel_id=w.channel_id,
            external_order_id=uid("E"),
            lines=[opb.OrderLine(sku=w.skus[2], quantity=1, unit_price=cny(100))],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, address="1 Rd\x00"),
        ),
    ),
    (
        "orders",
        "PlaceOrder",
        "customer.name",
        lambda w: opb.PlaceOrderRequest(
            channel_id=w.channel_id,
            external_order_id=uid("E"),
            customer=opb.Customer(name=NUL),
            lines=[opb.OrderLine(sku=w.skus[2], quantity=1, unit_price=cny(100))],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP),
        ),
    ),
    ("orders", "ListOrders", "customer_id", lambda w: opb.ListOrdersRequest(customer_id=NUL)),
    (
        "channels",
        "CreateChannel",
        "name",
        lambda w: cpb.CreateChannelRequest(code=uid("c").lower(), name=NUL, type=cpb.CHANNEL_TYPE_ONLINE_STORE),
    ),
    (
        "channels",
        "UpsertListing",
        "channel_sku",
        lambda w: cpb.UpsertListingRequest(channel_id=w.channel_id, sku=w.skus[0], channel_sku=NUL, price=cny(1)),
    ),
    (
        "dealers",
        "GetDealerOverview",
        "period_end",
        lambda w: dpb.GetDealerOverviewRequest(dealer_id=w.dealer_id, period_end=_ts(-62_135_596_800)),  # 0001-01-01
    ),
    (
        "dealers",
        "GetDealerOverview",
        "period_start",
        lambda w: dpb.GetDealerOverviewRequest(dealer_id=w.dealer_id, period_start=_ts(253_402_300_799)),  # 9999-12-31
    ),
    (
        "settlement",
        "ListEntries",
        "to",
        lambda w: spb.ListEntriesRequest(party="brand", **{"to": Timestamp(seconds=0, nanos=-1)}),
    ),
]


@pytest.mark.parametrize(("service", "rpc", "path", "build"), CASES, ids=[f"{c[1]}.{c[2]}" for c in CASES])
async def test_hostile_text_and_times_are_invalid_argument_and_change_nothing(
    world, admin, service, rpc, path, build
) -> None:  # type: ignore[no-untyped-def]
    stack, seeded, snapshots = world
    before = await snapshots.take()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await getattr(stack.stub(service), rpc)(build(seeded), metadata=admin, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert path in field_violations(refused.value)
    assert diff(before, await snapshots.take()) == {}


@pytest.mark.parametrize("count", [200, 2000])
async def test_an_error_naming_thousands_of_violations_fits_a_default_client(world, admin, count) -> None:  # type: ignore[no-untyped-def]
    """A default channel (8 KiB metadata limit) gets INVALID_ARGUMENT with a bounded list, not RESOURCE_EXHAUSTED."""
    stack, seeded, _ = world
    request = opb.PlaceOrderRequest(
        channel_id=seeded.channel_id,
        external_order_id=uid("E"),
        lines=[
            opb.OrderLine(sku=f"bad sku {i} " + "\u4e2d" * 40, quantity=-1, unit_price=cny(-5)) for i in range(count)
        ],
        fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP),
    )
    async with grpc.aio.insecure_channel(f"127.0.0.1:{stack.ports['orders']}") as channel:
        call = channel.unary_unary(
            "/onepool.orders.v1.OrderService/PlaceOrder",
            request_serializer=opb.PlaceOrderRequest.SerializeToString,
            response_deserializer=opb.PlaceOrderResponse.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request, metadata=admin, timeout=10)
    error = refused.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    trailers = sum(len(k) + len(v) for k, v in error.trailing_metadata() or ())
    assert trailers + len((error.details() or "").encode()) < 6 * 1024
    status = status_of(error)
    assert status is not None
    bad = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad)
    assert 1 < len(bad.field_violations) <= 21
    assert bad.field_violations[-1].field == "request" and "more violations" in bad.field_violations[-1].description


def _token(cursor: object) -> str:
    return encode_page_token(cursor)  # type: ignore[arg-type]  # hostile cursors need not be dicts of ours


# Every list RPC whose page token carries a keyset position, with the request field holding it.
PAGED = [
    ("inventory", "ListMovements", lambda t, w: ipb.ListMovementsRequest(page_token=t)),
    ("inventory", "ListLocations", lambda t, w: ipb.ListLocationsRequest(page_token=t)),
    ("inventory", "ListChannelAllocations", lambda t, w: ipb.ListChannelAllocationsRequest(page_token=t)),
    ("inventory", "ListStockLevels", lambda t, w: ipb.ListStockLevelsRequest(page_token=t)),
    ("inventory", "ListExpectedReceipts", lambda t, w: ipb.ListExpectedReceiptsRequest(page_token=t)),
    ("dealers", "ListReplenishments", lambda t, w: dpb.ListReplenishmentsRequest(page_token=t)),
    ("dealers", "ListDealers", lambda t, w: dpb.ListDealersRequest(page_token=t)),
    ("channels", "ListChannels", lambda t, w: cpb.ListChannelsRequest(page_token=t)),
    ("channels", "ListListings", lambda t, w: cpb.ListListingsRequest(channel_id=w.channel_id, page_token=t)),
    ("settlement", "ListEntries", lambda t, w: spb.ListEntriesRequest(page_token=t)),
    ("settlement", "ListPayouts", lambda t, w: spb.ListPayoutsRequest(page_token=t)),
    ("settlement", "ListPeriods", lambda t, w: spb.ListPeriodsRequest(page_token=t)),
    ("orders", "ListOrders", lambda t, w: opb.ListOrdersRequest(page_token=t)),
]
BAD_CURSORS = [
    {"after": "x"},
    {"after": "a\x00b"},
    {"after": 1e300},
    {"after": -1},
    {"after": 2**70},
    {"after": ["x"]},
    # A (name or code, id) position whose text part holds what no name or code does (NUL, a lone surrogate).
    {"after": ["a\x00b", "x-1"]},
    {"after": ["a\ud800", "x-1"]},
    {"c": "2026-01-01", "i": "o-1"},
    {"c": "2026-01-01T00:00:00+00:00", "i": "o\x00"},
    [1, 2],
    # Instants that parse but fall outside datetime's range once in UTC: the database driver would fail on them.
    {"c": "0001-01-01T00:00:00+14:00", "i": "o-1"},
    {"c": "9999-12-31T23:59:59-14:00", "i": "o-1"},
    {"after": ["ch-1", "SKU-1", "0001-01-01T00:00:00+14:00", "a-1"]},
    {"after": ["ch-1", "SKU-1", "9999-12-31T23:59:59-14:00", "a-1"]},
    {"before": "0001-01-01T00:00:00+01:00", "id": "P-1"},
    {"before": "9999-12-31T23:59:59-14:00", "id": "P-1"},
    {"after": "0001-01-01T00:00:00+14:00"},
    {"after": "2026-01-01T00:00:00"},
]


def test_every_list_rpc_is_in_the_page_token_table() -> None:
    from tests.fuzz.generate import methods

    listed = {m.name for _, _, m in methods() if "page_token" in m.input_type.fields_by_name}
    assert listed == {rpc for _, rpc, _ in PAGED}


@pytest.mark.parametrize(("service", "rpc", "build"), PAGED, ids=[p[1] for p in PAGED])
async def test_page_tokens_that_are_not_ours_are_invalid_argument(world, admin, service, rpc, build) -> None:  # type: ignore[no-untyped-def]
    stack, seeded, _ = world
    for cursor in BAD_CURSORS:
        # Either the cursor means something here (a key is a key; unknown keys are ignored) or it is refused
        # as the page token; never INTERNAL.
        try:
            await getattr(stack.stub(service), rpc)(build(_token(cursor), seeded), metadata=admin, timeout=10)
        except grpc.aio.AioRpcError as refused:
            assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT, (cursor, refused.details())
            assert field_violations(refused) == ["page_token"], cursor


# What no list issues: no position at all (the dealer portal's audit sent {"x": 1}), or a null one.
POSITIONLESS = [{"x": 1}, {}, {"after": None}]


@pytest.mark.parametrize(("service", "rpc", "build"), PAGED, ids=[p[1] for p in PAGED])
async def test_a_page_token_without_a_position_is_refused_not_read_as_the_first_page(
    world, admin, service, rpc, build
) -> None:  # type: ignore[no-untyped-def]
    stack, seeded, _ = world
    for cursor in POSITIONLESS:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(stack.stub(service), rpc)(build(_token(cursor), seeded), metadata=admin, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (cursor, refused.value.details())
        assert field_violations(refused.value) == ["page_token"], cursor


def _rpcs_with_request_ids() -> list[Any]:
    from tests.fuzz.campaign import Rpc
    from tests.fuzz.generate import methods

    return [
        Rpc(service, descriptor, method)
        for service, descriptor, method in methods()
        if "request_id" in method.input_type.fields_by_name and not method.server_streaming
    ]


@pytest.mark.parametrize("rpc", _rpcs_with_request_ids(), ids=lambda rpc: rpc.name)
async def test_a_request_id_too_long_to_store_is_refused_not_internal(world, admin, rpc) -> None:  # type: ignore[no-untyped-def]
    """250 characters passes the generic 256-character bound, but with its operation's prefix it is longer than
    the idempotency key column: FulfillReservation without lines took it unchecked and answered INTERNAL."""
    from google.protobuf import message_factory

    from tests.fuzz.campaign import Request, send

    stack, _, _ = world
    request = message_factory.GetMessageClass(rpc.method.input_type)(request_id="r" * 250)
    for field in request.DESCRIPTOR.fields:  # other ids well-formed, so the request gets as far as its key
        if field.type == field.TYPE_STRING and not field.is_repeated and field.name != "request_id":
            setattr(request, field.name, "x1")
    outcome = await send(stack.channel(rpc.service), rpc, Request(request.SerializeToString(), raw=False), admin)
    assert outcome.code not in ("INTERNAL", "UNKNOWN"), (rpc.name, outcome)
