"""Presale payments end to end (issue 17, docs/presale.md): inventory, orders and settlement running on real
PostgreSQL and NATS, everything through gRPC. A deposit now and the balance by a deadline; a balance not paid
in time gives the units back to the pool and the deposit follows the channel's rule; the ledger is exact for
each case."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb

from tests.support.orders import World, cny, eventually, order_events, uid
from tests.support.presale import by_account, by_party, ledger

pytestmark = pytest.mark.asyncio

PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", balance_sweep_interval_seconds=0.2, recovery_interval_seconds=0.2)
    await stack.start("settlement")
    world = World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)
    world.settlement = stack.stub("settlement")  # type: ignore[attr-defined]
    return world


def presale(balance_due_seconds: int, rule: int = cpb.DEPOSIT_RULE_REFUND, min_deposit_bps: int = 0) -> Any:
    return cpb.PresaleTerms(balance_due_seconds=balance_due_seconds, min_deposit_bps=min_deposit_bps, deposit_rule=rule)


async def pay(world: World, order: opb.Order, kind: int, amount: int, ref: str = "") -> opb.Order:
    request = opb.PayOrderRequest(order_id=order.id, payment_ref=ref or uid("PAY"), amount=cny(amount), kind=kind)
    return (await world.orders.PayOrder(request, metadata=world.admin)).order


async def reservation(world: World, reservation_id: str) -> ipb.Reservation:
    reply = await world.inventory.GetReservation(
        ipb.GetReservationRequest(reservation_id=reservation_id), metadata=world.admin
    )
    return reply.reservation


async def presale_world(world: World, terms: Any, *, units: int = 10, fee_rate_bps: int = 0) -> tuple[str, str, str]:
    sku = uid("PRE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: units})
    channel = await world.channel(location_ids=[warehouse], presale=terms, fee_rate_bps=fee_rate_bps)
    return sku, warehouse, channel


async def test_deposit_then_balance_books_the_deposit_and_splits_the_whole_sale_once(world: World) -> None:
    sku, warehouse, channel = await presale_world(world, presale(3600, min_deposit_bps=2000), fee_rate_bps=500)
    order = await world.place(channel, {sku: (2, PRICE)})

    with pytest.raises(grpc.aio.AioRpcError) as too_small:
        await pay(world, order, opb.PAYMENT_KIND_DEPOSIT, 3_999)  # 20% of 20 000 is 4 000
    assert too_small.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as balance_first:
        await pay(world, order, opb.PAYMENT_KIND_BALANCE, 15_000)
    assert balance_first.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    deposited = await pay(world, order, opb.PAYMENT_KIND_DEPOSIT, 5_000, ref="DEP-1")
    assert deposited.status == opb.ORDER_STATUS_DEPOSIT_PAID
    assert (deposited.paid, deposited.deposit) == (cny(5_000), cny(5_000))
    assert deposited.HasField("balance_due_at")
    assert (await reservation(world, order.reservation_id)).status == ipb.RESERVATION_STATUS_COMMITTED
    again = await pay(world, order, opb.PAYMENT_KIND_DEPOSIT, 5_000, ref="DEP-1")  # a retried deposit
    assert again.status == opb.ORDER_STATUS_DEPOSIT_PAID and again.paid == cny(5_000)
    with pytest.raises(grpc.aio.AioRpcError) as not_shippable:
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
            metadata=world.admin,
        )
    assert not_shippable.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    held = await eventually(lambda: ledger(world, order.id), lambda ls: len(ls) >= 2)
    assert by_account(held) == {("clearing", "customer_deposit"): -5_000, ("clearing", "deposit_held"): 5_000}
    assert by_party(held) == {}  # received and held: nobody's money yet

    with pytest.raises(grpc.aio.AioRpcError) as wrong_balance:
        await pay(world, order, opb.PAYMENT_KIND_BALANCE, 20_000)
    assert wrong_balance.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    paid = await pay(world, order, opb.PAYMENT_KIND_BALANCE, 15_000)
    assert paid.status == opb.ORDER_STATUS_PAID
    assert (paid.paid, paid.deposit) == (cny(20_000), cny(5_000))

    sold = await eventually(lambda: ledger(world, order.id), lambda ls: len(ls) >= 7)
    assert by_party(sold) == {"clearing": -20_000, f"channel:{channel}": 1_000, "brand": 19_000}
    accounts = by_account(sold)
    assert accounts[("clearing", "customer_payment")] == -20_000
    assert accounts[("clearing", "customer_deposit")] == 0 and accounts[("clearing", "deposit_held")] == 0

    shipped = (
        await world.orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id),
            metadata=world.admin,
        )
    ).order
    assert shipped.status == opb.ORDER_STATUS_SHIPPED
    assert (await world.level(sku, warehouse)).on_hand == 8

    events = await eventually(lambda: order_events(world.nats_url, order.id), lambda evs: len(evs) >= 4)
    subjects = [s for s, _ in events]
    assert subjects[:3] == ["orders.order.placed", "orders.order.deposit_paid", "orders.order.paid"]
    facts = [e.facts for _, e in events]
    assert [(f.is_paid, f.deposit.amount_minor, f.paid.amount_minor) for f in facts[:3]] == [
        (False, 0, 0),
        (False, 5_000, 5_000),
        (True, 5_000, 20_000),
    ]


async def _lapse(world: World, rule: int) -> tuple[str, str, str, opb.Order]:
    sku, warehouse, channel = await presale_world(world, presale(1, rule))
    order = await world.place(channel, {sku: (3, PRICE)})
    assert (await world.level(sku, warehouse)).reserved == 3
    deposited = await pay(world, order, opb.PAYMENT_KIND_DEPOSIT, 6_000)
    assert deposited.status == opb.ORDER_STATUS_DEPOSIT_PAID
    lapsed = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED)
    assert "balance not paid" in lapsed.status_reason
    # The units went back to the pool.
    await eventually(lambda: world.level(sku, warehouse), lambda lv: lv.reserved == 0 and lv.available == 10)
    assert (await reservation(world, order.reservation_id)).status == ipb.RESERVATION_STATUS_RELEASED
    with pytest.raises(grpc.aio.AioRpcError) as too_late:
        await pay(world, order, opb.PAYMENT_KIND_BALANCE, 24_000)
    assert too_late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    return sku, warehouse, channel, lapsed


async def test_a_balance_not_paid_in_time_releases_the_units_and_refunds_the_deposit(world: World) -> None:
    _, _, _, lapsed = await _lapse(world, cpb.DEPOSIT_RULE_REFUND)
    assert (lapsed.paid, lapsed.refunded, lapsed.deposit_kept) == (cny(6_000), cny(6_000), cny(0))

    lines = await eventually(lambda: ledger(world, lapsed.id), lambda ls: len(ls) >= 4)
    assert by_party(lines) == {}  # a refunded deposit nets to zero
    assert by_account(lines) == {
        ("clearing", "customer_deposit"): -6_000,
        ("clearing", "deposit_held"): 0,
        ("clearing", "deposit_refund"): 6_000,
    }
    assert {ln.rule for ln in lines} == {"deposit"}  # nothing was sold

    events = await eventually(lambda: order_events(world.nats_url, lapsed.id), lambda evs: len(evs) >= 3)
    cancelled = [e for s, e in events if s == "orders.order.cancelled"]
    assert len(cancelled) == 1  # one effect per order
    facts = cancelled[0].facts
    assert (facts.is_paid, facts.refunded.amount_minor, facts.deposit_kept.amount_minor) == (False, 6_000, 0)


async def test_a_balance_not_paid_in_time_on_a_keeping_channel_books_the_deposit_as_the_sellers(world: World) -> None:
    _, _, _, lapsed = await _lapse(world, cpb.DEPOSIT_RULE_KEEP)
    assert (lapsed.paid, lapsed.refunded, lapsed.deposit_kept) == (cny(6_000), cny(0), cny(6_000))

    lines = await eventually(lambda: ledger(world, lapsed.id), lambda ls: len(ls) >= 4)
    assert by_party(lines) == {"clearing": -6_000, "brand": 6_000}
    assert by_account(lines) == {
        ("clearing", "customer_deposit"): -6_000,
        ("clearing", "deposit_held"): 0,
        ("brand", "deposit_kept"): 6_000,
    }


async def test_a_channel_without_presale_terms_takes_no_deposit(world: World) -> None:
    sku, _, channel = await presale_world(world, None)
    order = await world.place(channel, {sku: (1, PRICE)})
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await pay(world, order, opb.PAYMENT_KIND_DEPOSIT, 1_000)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await world.get(order.id)).status == opb.ORDER_STATUS_RESERVED
