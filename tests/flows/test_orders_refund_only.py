"""A refund with no goods coming back (Taobao/Tmall 仅退款, Shopify partially_refunded, a goodwill credit):
RefundOrder through the real gRPC API, with inventory, orders and settlement on PostgreSQL and NATS. Before it a
marketplace's refund-only had no way in: the ledger kept the whole sale while the marketplace remitted less."""

from __future__ import annotations

from typing import Any

import asyncpg
import grpc
import pytest
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.db import plain_url
from onepool_runtime.testing.services import error_info, field_violations, metadata

from tests.support.orders import World, cny, eventually, order_events, uid

pytestmark = pytest.mark.asyncio

RETURNED = "orders.order.returned"


@pytest.fixture(scope="module")
async def world(stack: Any, admin: Any) -> World:
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, recovery_after_seconds=1.0)
    await stack.start("settlement")
    w = World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)
    w.settlement = stack.stub("settlement")  # type: ignore[attr-defined]
    w.database_url = stack.database_url  # type: ignore[attr-defined]
    return w


def _refund(order: opb.Order, amount: int, *, request_id: str = "", late: bool = False) -> opb.RefundOrderRequest:
    return opb.RefundOrderRequest(
        request_id=request_id or uid("refund"),
        order_id=order.id,
        amount=cny(amount),
        reason="仅退款: scratched box",
        accept_after_window=late,
    )


async def _refused(world: World, request: opb.RefundOrderRequest, token: object = None) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.orders.RefundOrder(request, metadata=token or world.admin)
    return refused.value


def _reason(error: grpc.aio.AioRpcError) -> str:
    info = error_info(error)
    return info.reason if info is not None else ""


async def _sold(world: World, lines: dict[str, tuple[int, int]], *, ship: bool = True) -> tuple[str, str, opb.Order]:
    """A paid order (shipped unless `ship` is False) on a channel taking 10% commission."""
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5 for sku in lines})
    channel = await world.channel(location_ids=[warehouse], fee_rate_bps=1_000)
    order = await world.pay(await world.place(channel, lines))
    if ship:
        order = await world.ship_first(order)
    return channel, warehouse, order


async def _entries(world: World, order_id: str, rule: str, count: int) -> dict[str, list[spb.JournalLine]]:
    """Settlement's entries of `rule` for the order, by entry id, once there are `count` of them."""
    settlement = world.settlement  # type: ignore[attr-defined]

    async def lines() -> list[spb.JournalLine]:
        page = await settlement.ListEntries(
            spb.ListEntriesRequest(order_id=order_id, page_size=200), metadata=world.admin
        )
        return [ln for ln in page.entries if ln.rule == rule]

    found = await eventually(lines, lambda ls: len({ln.entry_id for ln in ls}) >= count, within=20)
    out: dict[str, list[spb.JournalLine]] = {}
    for ln in found:
        out.setdefault(ln.entry_id, []).append(ln)
    return out


def _sum(lines: list[spb.JournalLine], account: str) -> int:
    return sum(ln.amount.amount_minor for ln in lines if ln.account == account)


async def test_a_partial_refund_only_is_booked_and_a_full_return_then_refunds_exactly_the_rest(world: World) -> None:
    sku = uid("TEE")
    channel, warehouse, order = await _sold(world, {sku: (2, 5_000)})
    connector = metadata("channel", channel_id=channel)
    on_hand = (await world.level(sku, warehouse)).on_hand

    request = _refund(order, 3_000)
    first = await world.orders.RefundOrder(request, metadata=connector)

    assert (first.order.refunded.amount_minor, first.order.paid.amount_minor) == (3_000, 10_000)
    assert first.order.status == opb.ORDER_STATUS_SHIPPED
    refund = first.order_return
    assert (refund.refund, list(refund.lines), refund.return_location_id) == (cny(3_000), [], "")
    assert [ln.returned_quantity for ln in first.order.lines] == [0]
    assert (await world.level(sku, warehouse)).on_hand == on_hand  # no goods move
    # The same request again gets the first answer; the same id with another amount is refused.
    again = await world.orders.RefundOrder(request, metadata=connector)
    assert again.SerializeToString(deterministic=True) == first.SerializeToString(deterministic=True)
    other = _refund(order, 2_000, request_id=request.request_id)
    reused = await _refused(world, other, connector)
    assert reused.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (await world.get(order.id)).refunded.amount_minor == 3_000

    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: RETURNED in dict(evs))
    assert [s for s, _ in events].count(RETURNED) == 1
    event = dict(events)[RETURNED]
    assert (event.facts.refunded.amount_minor, event.facts.is_final) == (3_000, False)
    assert (event.order_return.refund.amount_minor, list(event.order_return.lines)) == (3_000, [])

    # The ledger: the refund reversed in proportion, the channel's 10% commission refunded with it.
    (sale,) = (await _entries(world, order.id, "sale", 1)).values()
    assert _sum(sale, "channel_fee") == 1_000
    (reversal,) = (await _entries(world, order.id, "return", 1)).values()
    assert sum(ln.amount.amount_minor for ln in reversal) == 0
    assert abs(_sum(reversal, "customer_refund")) == 3_000
    assert _sum(reversal, "channel_fee") == -300

    # Everything comes back afterwards: exactly the rest is refunded, never more than was paid.
    returned = await world.orders.ReturnItems(
        opb.ReturnItemsRequest(
            request_id=uid("RET"),
            order_id=order.id,
            return_location_id=warehouse,
            lines=[opb.ReturnLine(sku=sku, quantity=2)],
        ),
        metadata=connector,
    )
    assert returned.order_return.refund == cny(7_000)
    assert returned.order.refunded == returned.order.paid
    reversals = await _entries(world, order.id, "return", 2)
    assert sum(abs(_sum(lines, "customer_refund")) for lines in reversals.values()) == 10_000
    assert sum(_sum(lines, "channel_fee") for lines in reversals.values()) == -1_000
    nothing_left = await _refused(world, _refund(order, 1), connector)
    assert (nothing_left.code(), field_violations(nothing_left)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["amount.amount_minor"],
    )


async def test_a_refund_names_what_it_cannot_take(world: World) -> None:
    sku = uid("MUG")
    _, _, order = await _sold(world, {sku: (1, 10_000)}, ship=False)
    # Paid, not shipped yet: money may already go back (the marketplace's price protection, say).
    assert (await world.orders.RefundOrder(_refund(order, 4_000), metadata=world.admin)).order.refunded == cny(4_000)

    too_much = await _refused(world, _refund(order, 6_001))
    assert (too_much.code(), field_violations(too_much)) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount.amount_minor"])
    assert "6000" in (too_much.details() or "")
    zero = await _refused(world, _refund(order, 0))
    assert field_violations(zero) == ["amount.amount_minor"]
    foreign = _refund(order, 100)
    foreign.amount.CopyFrom(common_pb2.Money(currency="USD", amount_minor=100))
    assert field_violations(await _refused(world, foreign)) == ["amount.currency"]
    missing = _refund(order, 100)
    missing.ClearField("amount")
    assert field_violations(await _refused(world, missing)) == ["amount"]
    # The rest, while the goods are still to leave, is a cancellation (a refund alone would still ship them).
    everything = await _refused(world, _refund(order, 6_000))
    assert (everything.code(), error_info(everything).reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "INVALID_ORDER_STATE",
    )
    cancelled = await world.orders.CancelOrder(
        opb.CancelOrderRequest(order_id=order.id, reason="buyer"), metadata=world.admin
    )
    assert cancelled.order.refunded == cancelled.order.paid == cny(10_000)  # never more than was paid


async def test_an_unpaid_or_cancelled_order_is_not_refunded(world: World) -> None:
    sku = uid("CAP")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    unpaid = await world.place(channel, {sku: (1, 2_000)})

    refused = await _refused(world, _refund(unpaid, 500))
    assert (refused.code(), _reason(refused)) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_ORDER_STATE")

    cancelled = await world.pay(await world.place(channel, {sku: (1, 2_000)}))
    await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=cancelled.id, reason="buyer"), metadata=world.admin)
    refused = await _refused(world, _refund(cancelled, 500))
    assert (refused.code(), _reason(refused)) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_ORDER_STATE")


async def test_after_the_window_only_the_brand_refunds_and_only_the_selling_side_at_all(world: World) -> None:
    sku = uid("BAG")
    channel, warehouse, order = await _sold(world, {sku: (1, 8_000)})
    connector = metadata("channel", channel_id=channel)

    stranger = await _refused(world, _refund(order, 100), metadata("channel", channel_id=uid("CH")))
    assert stranger.code() == grpc.StatusCode.PERMISSION_DENIED
    counter = await _refused(world, _refund(order, 100), metadata("store", location_id=warehouse))
    assert counter.code() == grpc.StatusCode.PERMISSION_DENIED

    conn = await asyncpg.connect(plain_url(world.database_url), server_settings={"search_path": "orders"})  # type: ignore[attr-defined]
    try:  # time passes: the stored deadline is written back (no test waits 7 days)
        await conn.execute("UPDATE orders SET returnable_until = now() - interval '1 second' WHERE id = $1", order.id)
    finally:
        await conn.close()

    closed = await _refused(world, _refund(order, 100), connector)
    assert (closed.code(), _reason(closed)) == (grpc.StatusCode.FAILED_PRECONDITION, "RETURN_WINDOW_CLOSED")
    late = await _refused(world, _refund(order, 100, late=True), connector)
    assert late.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await world.get(order.id)).refunded.amount_minor == 0
    accepted = await world.orders.RefundOrder(_refund(order, 100, late=True), metadata=world.admin)
    assert accepted.order.refunded == cny(100)
