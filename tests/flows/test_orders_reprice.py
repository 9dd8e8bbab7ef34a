"""A marketplace adjusts an unpaid order's price before the buyer pays (Taobao 改价, a waived shipping fee):
RepriceOrder through the real gRPC API, with inventory, orders and settlement on PostgreSQL and NATS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import error_info, field_violations, metadata

from tests.support.orders import World, cny, eventually, order_events, uid

pytestmark = pytest.mark.asyncio

REPRICED = "orders.order.repriced"


@pytest.fixture(scope="module")
async def world(stack: Any, admin: Any) -> World:
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, recovery_after_seconds=1.0)
    await stack.start("settlement")
    w = World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)
    w.settlement = stack.stub("settlement")  # type: ignore[attr-defined]
    return w


def _ts(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def _reprice(
    order: opb.Order,
    discounts: dict[str, int],
    shipping_fee: int | None = None,
    *,
    as_of: datetime | None = None,
    request_id: str = "",
) -> opb.RepriceOrderRequest:
    return opb.RepriceOrderRequest(
        request_id=request_id or uid("reprice"),
        order_id=order.id,
        lines=[opb.RepriceLine(sku=sku, discount=cny(d)) for sku, d in discounts.items()],
        shipping_fee=None if shipping_fee is None else cny(shipping_fee),
        as_of=_ts(as_of),
    )


async def _refused(world: World, request: opb.RepriceOrderRequest, token: object = None) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.RepriceOrder(request, metadata=token or world.admin)
    return refused.value


async def _unpaid(world: World, lines: dict[str, tuple[int, int]], **fields: Any) -> tuple[str, opb.PlaceOrderRequest]:
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5 for sku in lines})
    channel = await world.channel(location_ids=[warehouse])
    return channel, world.place_request(channel, lines, **fields)


def _pay(order: opb.Order, amount: int) -> opb.PayOrderRequest:
    return opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=cny(amount))


async def test_a_repriced_order_is_paid_and_booked_at_its_new_total(world: World) -> None:
    sku = uid("TEE")
    placed_at = datetime.now(UTC) - timedelta(minutes=10)
    _, request = await _unpaid(world, {sku: (2, 11_250)}, shipping_fee=cny(1_000), address_as_of=_ts(placed_at))
    request.lines[0].discount.CopyFrom(cny(500))
    order = (await world.orders.PlaceOrder(request, metadata=world.admin)).order
    assert (order.status, order.total.amount_minor) == (opb.ORDER_STATUS_RESERVED, 22_000 + 1_000)
    assert order.prices_as_of.ToDatetime(UTC) == placed_at

    # The seller knocks 10.00 more off and waives shipping, before the buyer pays.
    adjusted_at = placed_at + timedelta(minutes=5)
    reprice = _reprice(order, {sku: 1_500}, 0, as_of=adjusted_at)
    first = await world.orders.RepriceOrder(reprice, metadata=world.admin)

    repriced = first.order
    assert (repriced.status, repriced.total.amount_minor, repriced.shipping_fee.amount_minor) == (
        opb.ORDER_STATUS_RESERVED,
        21_000,
        0,
    )
    assert [(ln.sku, ln.quantity, ln.unit_price.amount_minor, ln.discount.amount_minor) for ln in repriced.lines] == [
        (sku, 2, 11_250, 1_500)
    ]
    assert repriced.lines[0].line_total.amount_minor == 21_000
    assert repriced.reservation_id == order.reservation_id
    assert repriced.prices_as_of.ToDatetime(UTC) == adjusted_at
    assert (await world.get(order.id)).total.amount_minor == 21_000
    # The same request again gets the same answer; another request with the same prices changes nothing.
    again = await world.orders.RepriceOrder(reprice, metadata=world.admin)
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
    same = await world.orders.RepriceOrder(_reprice(order, {sku: 1_500}, 0), metadata=world.admin)
    assert (same.order.total.amount_minor, same.order.updated_at) == (21_000, repriced.updated_at)
    # A copy older than the adjustment (a re-send arriving late) prices nothing back.
    late = await world.orders.RepriceOrder(
        _reprice(order, {sku: 500}, 1_000, as_of=placed_at + timedelta(minutes=1)), metadata=world.admin
    )
    assert late.order.total.amount_minor == 21_000

    # PlaceOrder again: the copy as placed and the adjusted copy are both the same deal, answered as it is now.
    assert (await world.orders.PlaceOrder(request, metadata=world.admin)).order.total.amount_minor == 21_000
    adjusted = opb.PlaceOrderRequest()
    adjusted.CopyFrom(request)
    adjusted.lines[0].discount.CopyFrom(cny(1_500))
    adjusted.ClearField("shipping_fee")
    assert (await world.orders.PlaceOrder(adjusted, metadata=world.admin)).order.id == order.id
    other = opb.PlaceOrderRequest()
    other.CopyFrom(adjusted)
    other.lines[0].discount.CopyFrom(cny(2_500))
    with pytest.raises(grpc.aio.AioRpcError) as clash:
        await world.orders.PlaceOrder(other, metadata=world.admin)
    assert clash.value.code() == grpc.StatusCode.ALREADY_EXISTS

    # The old total is refused; the new one pays it.
    with pytest.raises(grpc.aio.AioRpcError) as old_total:
        await world.orders.PayOrder(_pay(order, 23_000), metadata=world.admin)
    assert (old_total.value.code(), field_violations(old_total.value)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["amount.amount_minor"],
    )
    paid = (await world.orders.PayOrder(_pay(order, 21_000), metadata=world.admin)).order
    assert (paid.status, paid.paid.amount_minor) == (opb.ORDER_STATUS_PAID, 21_000)

    # Paid: the price is the one paid.
    refused = await _refused(world, _reprice(order, {sku: 0}, 0))
    assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(refused)
    assert info is not None and info.reason == "INVALID_ORDER_STATE"

    events = await eventually(
        lambda: order_events(world.nats_url, order.id), lambda evs: "orders.order.paid" in dict(evs)
    )
    assert [s for s, _ in events] == ["orders.order.placed", REPRICED, "orders.order.paid"]
    _, event = events[1]
    assert (event.previous_total.amount_minor, event.facts.total.amount_minor) == (23_000, 21_000)
    assert (event.facts.shipping_fee.amount_minor, event.facts.is_paid) == (0, False)
    assert [(ln.sku, ln.discount.amount_minor) for ln in event.facts.lines] == [(sku, 1_500)]

    # Settlement books the sale at what was paid: the customer's payment is the new total.
    settlement = world.settlement  # type: ignore[attr-defined]

    async def booked() -> list[spb.JournalLine]:
        page = await settlement.ListEntries(
            spb.ListEntriesRequest(order_id=order.id, page_size=100), metadata=world.admin
        )
        return list(page.entries)

    lines = await eventually(booked, lambda ls: bool(ls), within=20)
    assert sum(ln.amount.amount_minor for ln in lines) == 0
    assert sum(ln.amount.amount_minor for ln in lines if ln.amount.amount_minor > 0) == 21_000
    assert [ln.amount.amount_minor for ln in lines if ln.account == "customer_payment"] == [-21_000]


async def test_a_reprice_names_what_it_cannot_take(world: World) -> None:
    a, b = uid("A"), uid("B")
    _, request = await _unpaid(world, {a: (1, 5_000), b: (2, 1_000)})
    order = (await world.orders.PlaceOrder(request, metadata=world.admin)).order

    missing = await _refused(world, _reprice(order, {a: 100}))
    assert (missing.code(), field_violations(missing)) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines"])
    too_much = await _refused(world, _reprice(order, {a: 5_001, b: 0}))
    assert field_violations(too_much) == ["lines[0].discount.amount_minor"]
    twice = opb.RepriceOrderRequest(
        request_id=uid("r"),
        order_id=order.id,
        lines=[opb.RepriceLine(sku=a), opb.RepriceLine(sku=a), opb.RepriceLine(sku=b)],
    )
    assert field_violations(await _refused(world, twice)) == ["lines[1].sku"]
    foreign = _reprice(order, {a: 0, b: 0})
    foreign.shipping_fee.CopyFrom(common_pb2.Money(currency="USD", amount_minor=100))
    assert field_violations(await _refused(world, foreign)) == ["shipping_fee.currency"]
    negative = _reprice(order, {a: 0, b: 0})
    negative.shipping_fee.CopyFrom(common_pb2.Money(currency="CNY", amount_minor=-1))
    assert field_violations(await _refused(world, negative)) == ["shipping_fee.amount_minor"]
    assert (await world.get(order.id)).total.amount_minor == 7_000


async def test_only_its_own_channel_or_dealer_reprices_and_never_once_closed(world: World) -> None:
    sku = uid("MUG")
    channel, request = await _unpaid(world, {sku: (1, 3_000)})
    order = (await world.orders.PlaceOrder(request, metadata=world.admin)).order

    stranger = await _refused(world, _reprice(order, {sku: 100}), metadata("channel", channel_id=uid("CH")))
    assert stranger.code() == grpc.StatusCode.PERMISSION_DENIED
    own = await world.orders.RepriceOrder(_reprice(order, {sku: 100}), metadata=metadata("channel", channel_id=channel))
    assert own.order.total.amount_minor == 2_900

    await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=order.id, reason="buyer left"), metadata=world.admin)
    cancelled = await _refused(world, _reprice(order, {sku: 200}))
    assert cancelled.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(cancelled)
    assert info is not None and info.reason == "INVALID_ORDER_STATE"
