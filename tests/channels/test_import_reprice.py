"""A marketplace adjusts an unpaid order's price before the buyer pays (Taobao 改价: adjust_fee, a waived post_fee)
and re-sends the trade: the import reprices the order placed (orders' RepriceOrder) and pays the new total.
Every re-send used to be ALREADY_EXISTS ("differs in: lines"), the order lapsed, and the paid trade never shipped."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, metadata

from tests.channels import test_import_orders as documented
from tests.support.orders import order_events

pytestmark = pytest.mark.asyncio
EXAMPLES = documented.EXAMPLES
# Its fixtures: the orders service, and a channel listing every channel SKU of the documented examples.
orders, marketplace = documented.orders, documented.marketplace
BEIJING = timezone(timedelta(hours=8))
PAID, UNPAID = "WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_PAY"
REPRICED = "orders.order.repriced"
# The example: total_fee 237.00, discount_fee 20.00, adjust_fee -5.00, post_fee 8.00, payment 220.00.
AS_PLACED = 22_000
# Copies' modification times count from one moment, so that a copy sent twice is the same copy.
START = datetime.now(BEIJING)


def trade(tid: str, minutes: int, status: str = PAID, **fields: str) -> str:
    """The documented Taobao example as trade `tid`, modified `minutes` from START (Beijing time)."""
    payload = json.loads(EXAMPLES["taobao"])
    body = payload["trade_fullinfo_get_response"]["trade"]
    body.pop("tid")
    modified = f"{START + timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}"
    body.update(tid_str=tid, status=status, modified=modified, **fields)
    return json.dumps(payload)


def adjusted(tid: str, minutes: int, status: str = PAID) -> str:
    """The seller knocks 10.00 more off before the buyer pays: adjust_fee -15.00, payment 210.00."""
    return trade(tid, minutes, status, adjust_fee="-15.00", payment="210.00")


async def send(world: Any, channel: Any, payload: str) -> opb.Order:
    request = cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=payload)
    return (await world.channels.ImportOrder(request, metadata=world.admin)).order


async def refused(world: Any, channel: Any, payload: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await send(world, channel, payload)
    return exc.value


async def stored(service: Any, order_id: str) -> opb.Order:
    return (await service.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=metadata("admin"))).order


def amounts(order: opb.Order) -> tuple[int, int, int, int]:
    return order.status, order.total.amount_minor, order.shipping_fee.amount_minor, order.paid.amount_minor


async def test_a_trade_adjusted_before_payment_is_repriced_paid_and_booked_at_its_new_total(  # type: ignore[no-untyped-def]
    world, orders, marketplace, started
) -> None:
    from onepool.settlement.v1 import settlement_pb2 as spb

    await started.start("settlement")
    settlement = started.stub("settlement")
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await send(world, channel, trade(tid, -60, UNPAID))
    assert amounts(placed) == (opb.ORDER_STATUS_RESERVED, AS_PLACED, 800, 0)

    paid = await send(world, channel, adjusted(tid, -30))

    assert paid.id == placed.id
    assert amounts(paid) == (opb.ORDER_STATUS_PAID, 21_000, 800, 21_000)
    # 20.00 - (-15.00) = 35.00 spread over the lines' 99.00 and 138.00; unit prices and quantities stay.
    assert sorted((ln.quantity, ln.unit_price.amount_minor, ln.discount.amount_minor) for ln in paid.lines) == [
        (1, 9_900, 1_462),
        (2, 6_900, 2_038),
    ]
    assert paid.reservation_id == placed.reservation_id
    # The same copy again (a retry, the unpaid one late) is the order as it is: nothing changes, nothing is paid twice.
    assert (await send(world, channel, adjusted(tid, -30))).updated_at == paid.updated_at
    assert amounts(await send(world, channel, adjusted(tid, -40, UNPAID))) == amounts(paid)

    async def commission() -> int:
        party = f"channel:{channel.id}"
        balance = await settlement.GetBalance(spb.GetBalanceRequest(party=party), metadata=world.admin)
        return int(balance.balance.amount_minor)

    # The channel's 5% is of what the buyer paid, the adjusted total.
    assert await world.eventually(commission, lambda fee: fee != 0, within=30) == 21_000 * 500 // 10_000
    events = await world.eventually(
        lambda: order_events(started.nats_url, placed.id), lambda evs: "orders.order.paid" in dict(evs)
    )
    assert [s for s, _ in events].count(REPRICED) == 1


async def test_a_waived_shipping_fee_reprices_the_order(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await send(world, channel, trade(tid, -60, UNPAID))
    paid = await send(world, channel, trade(tid, -30, post_fee="0.00", payment="212.00"))
    assert (paid.id, *amounts(paid)) == (placed.id, opb.ORDER_STATUS_PAID, 21_200, 0, 21_200)
    assert [ln.discount for ln in paid.lines] == [ln.discount for ln in placed.lines]


async def test_an_old_copy_arriving_after_the_adjusted_one_prices_nothing_back(  # type: ignore[no-untyped-def]
    world, orders, marketplace
) -> None:
    """Placed from the old copy, adjusted, then the old copy re-sent late (unpaid, or even saying paid): the
    order keeps the adjusted prices and no payment of the old amount is taken. The seller taking the adjustment
    back (a newer copy at the old prices) reprices it back."""
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await send(world, channel, trade(tid, -60, UNPAID))
    repriced = await send(world, channel, adjusted(tid, -40, UNPAID))
    assert (repriced.id, *amounts(repriced)) == (placed.id, opb.ORDER_STATUS_RESERVED, 21_000, 800, 0)

    for late in (trade(tid, -60, UNPAID), trade(tid, -60)):
        assert amounts(await send(world, channel, late)) == amounts(repriced)
    assert amounts(await stored(orders, placed.id)) == amounts(repriced)

    taken_back = await send(world, channel, trade(tid, -20, UNPAID))
    assert amounts(taken_back) == (opb.ORDER_STATUS_RESERVED, AS_PLACED, 800, 0)
    assert amounts(await send(world, channel, adjusted(tid, -40))) == amounts(taken_back)  # older: no change, unpaid
    paid = await send(world, channel, trade(tid, -10))
    assert (paid.id, *amounts(paid)) == (placed.id, opb.ORDER_STATUS_PAID, AS_PLACED, 800, AS_PLACED)


async def test_an_old_copy_arriving_after_an_order_placed_from_the_adjusted_one_changes_nothing(  # type: ignore[no-untyped-def]
    world, orders, marketplace
) -> None:
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await send(world, channel, adjusted(tid, -40, UNPAID))
    assert amounts(placed) == (opb.ORDER_STATUS_RESERVED, 21_000, 800, 0)

    for late in (trade(tid, -60, UNPAID), trade(tid, -60)):
        answer = await send(world, channel, late)
        assert (answer.id, *amounts(answer), answer.updated_at) == (placed.id, *amounts(placed), placed.updated_at)

    paid = await send(world, channel, adjusted(tid, -30))
    assert amounts(paid) == (opb.ORDER_STATUS_PAID, 21_000, 800, 21_000)


async def test_concurrent_resends_of_the_adjusted_trade_reprice_and_pay_once(  # type: ignore[no-untyped-def]
    world, orders, marketplace, started
) -> None:
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await send(world, channel, trade(tid, -60, UNPAID))
    copies = [adjusted(tid, -30, UNPAID), adjusted(tid, -20)] * 4
    answers = await asyncio.gather(*(send(world, channel, copy) for copy in copies))

    assert {a.id for a in answers} == {placed.id}
    assert {a.total.amount_minor for a in answers} == {21_000}
    final = await stored(orders, placed.id)
    assert amounts(final) == (opb.ORDER_STATUS_PAID, 21_000, 800, 21_000)
    events = await world.eventually(
        lambda: order_events(started.nats_url, placed.id), lambda evs: "orders.order.paid" in dict(evs)
    )
    subjects = [s for s, _ in events]
    assert (subjects.count(REPRICED), subjects.count("orders.order.paid")) == (1, 1)


async def test_an_adjustment_after_payment_is_refused_naming_the_order(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """Paid (or cancelled) at the old price, the order cannot take another: refused clearly, never paid a
    different amount, rather than ALREADY_EXISTS as if it were another deal."""
    channel, _ = marketplace
    tid = world.name("tid")
    paid = await send(world, channel, trade(tid, -60))
    assert amounts(paid) == (opb.ORDER_STATUS_PAID, AS_PLACED, 800, AS_PLACED)

    for later in (adjusted(tid, -30), trade(tid, -30, post_fee="0.00", payment="212.00")):
        exc = await refused(world, channel, later)
        assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
        info = error_info(exc)
        assert (info.reason, info.metadata["order_id"]) == ("ORDER_PRICE_DIFFERS", paid.id)
        assert paid.id in exc.details()
    assert amounts(await stored(orders, paid.id)) == amounts(paid)

    cancelled_tid = world.name("tid")
    unpaid = await send(world, channel, trade(cancelled_tid, -60, UNPAID))
    await orders.CancelOrder(opb.CancelOrderRequest(order_id=unpaid.id, reason="buyer"), metadata=metadata("admin"))
    exc = await refused(world, channel, adjusted(cancelled_tid, -30))
    assert (exc.code(), error_info(exc).reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ORDER_PRICE_DIFFERS")
    assert (await stored(orders, unpaid.id)).paid.amount_minor == 0


async def test_other_goods_are_still_another_deal_after_an_adjustment(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """Only the reductions are repriced: another quantity (or a markup past the trade's discounts) is refused as
    before, and the adjusted order stays as it is."""
    channel, _ = marketplace
    tid = world.name("tid")
    await send(world, channel, trade(tid, -60, UNPAID))
    repriced = await send(world, channel, adjusted(tid, -40, UNPAID))
    assert amounts(repriced) == (opb.ORDER_STATUS_RESERVED, 21_000, 800, 0)

    more = json.loads(adjusted(tid, -30))
    body = more["trade_fullinfo_get_response"]["trade"]
    body["orders"]["order"][1]["num"] = 3
    body.update(total_fee="306.00", payment="279.00")
    exc = await refused(world, channel, json.dumps(more))
    assert exc.code() == grpc.StatusCode.ALREADY_EXISTS, exc.details()
    # Orders' ErrorInfo reaches the connector through ImportOrder: which order, and what differs.
    assert (error_info(exc).reason, dict(error_info(exc).metadata)) == (
        "ORDER_DIFFERS",
        {"order_id": repriced.id, "differs": "lines"},
    )
    markup = await refused(world, channel, trade(tid, -30, adjust_fee="30.00", payment="255.00"))
    assert markup.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert amounts(await stored(orders, repriced.id)) == amounts(repriced)
