"""The balance sweeper on a real database (inventory faked): several sweepers running at once, as replicas do,
lapse each overdue presale order exactly once, with one release and one OrderCancelled per order; an order
whose balance was paid, or whose deadline has not come, is left alone."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as oev
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, OrderStatus, PaymentKind
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.balances import BalanceSweeper
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.servicer import UseCases
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


def place(external_id: str) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="presale-web",
        external_order_id=external_id,
        customer=CustomerInfo(phone="13800000000"),
        lines=(OrderLine("A", 2, Money("CNY", 1_000)),),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def pay(saga: Saga, order_id: str, kind: PaymentKind, amount: int) -> Any:
    cmd = commands.PayOrder(order_id, f"PAY-{kind}-{order_id}", Money("CNY", amount), kind)
    return await run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, cmd))


async def test_concurrent_sweepers_lapse_each_overdue_order_once(saga: Saga, sessions: Any) -> None:
    saga.inventory.stock = {"A": 1_000}
    terms = PresaleTerms(balance_due_seconds=3600, deposit_rule=DepositRule.KEEP)
    await run_in_transaction(
        saga.uow, lambda uow: handlers.apply_channel(uow, SalesChannel("presale-web", "ONLINE_STORE", presale=terms))
    )
    orders = [await saga.placement.place(place(f"E{i}")) for i in range(30)]
    for order in orders:
        assert (await pay(saga, order.id, PaymentKind.DEPOSIT, 500)).status is OrderStatus.DEPOSIT_PAID
    overdue, paid, not_due = orders[:24], orders[24:27], orders[27:]
    for order in paid:
        assert (await pay(saga, order.id, PaymentKind.BALANCE, 1_500)).status is OrderStatus.PAID
    async with sessions() as session:
        await session.execute(
            text("UPDATE orders SET balance_due_at = now() - interval '1 second' WHERE id = ANY(:ids)"),
            {"ids": [o.id for o in overdue + paid]},
        )
        await session.commit()

    replicas = [BalanceSweeper(saga.uow, saga.stock, interval_seconds=0.01, batch=4) for _ in range(3)]

    async def sweep(sweeper: BalanceSweeper) -> None:
        for _ in range(len(orders)):  # bounded: each pass lapses at least one order or ends the sweep
            if not await sweeper.run_once():
                return

    await asyncio.gather(*(sweep(s) for s in replicas))

    assert sum(s.lapsed for s in replicas) == len(overdue)
    assert sum(1 for s in replicas if s.lapsed) >= 2  # they really shared the work
    read = UseCases(saga.uow).read
    after = {o.id: await read(partial(handlers.get_order, order_id=o.id)) for o in orders}
    for order in overdue:
        lapsed = after[order.id]
        assert lapsed.status is OrderStatus.CANCELLED
        assert (lapsed.deposit_kept_minor, lapsed.refunded.amount_minor) == (500, 0)
    assert {after[o.id].status for o in paid} == {OrderStatus.PAID}
    assert {after[o.id].status for o in not_due} == {OrderStatus.DEPOSIT_PAID}
    # One release per lapsed order, and one cancellation event each.
    assert sorted(saga.inventory.released) == sorted(o.reservation_id for o in overdue)
    async with sessions() as session:
        rows = (
            await session.execute(text("SELECT payload FROM outbox WHERE subject = 'orders.order.cancelled'"))
        ).all()
    cancelled = [oev.OrderCancelled.FromString(r.payload).facts for r in rows]
    assert sorted(f.order_id for f in cancelled) == sorted(o.id for o in overdue)
    assert {(f.is_paid, f.deposit_kept.amount_minor, f.refunded.amount_minor) for f in cancelled} == {(False, 500, 0)}


async def test_a_lapse_applies_the_rule_the_deposit_was_paid_under_not_the_channels_rule_now(
    saga: Saga, sessions: Any
) -> None:
    saga.inventory.stock = {"A": 1_000}

    async def set_rule(rule: DepositRule, version: int) -> None:
        terms = PresaleTerms(balance_due_seconds=3600, deposit_rule=rule)
        channel = SalesChannel("presale-web", "ONLINE_STORE", version=version, presale=terms)
        await run_in_transaction(saga.uow, lambda uow: handlers.apply_channel(uow, channel))

    await set_rule(DepositRule.REFUND, 1)
    refund, legacy = [await saga.placement.place(place(f"T{i}")) for i in range(2)]
    for order in (refund, legacy):
        assert (await pay(saga, order.id, PaymentKind.DEPOSIT, 500)).status is OrderStatus.DEPOSIT_PAID
    await set_rule(DepositRule.KEEP, 2)  # the operator switches the channel: for deposits paid from now on
    keep = await saga.placement.place(place("T2"))
    assert (await pay(saga, keep.id, PaymentKind.DEPOSIT, 500)).status is OrderStatus.DEPOSIT_PAID
    async with sessions() as session:
        await session.execute(
            text("UPDATE orders SET balance_due_at = now() - interval '1 second' WHERE id = ANY(:ids)"),
            {"ids": [refund.id, legacy.id, keep.id]},
        )
        # A deposit paid before orders kept its rule: the channel's rule at the lapse applies, as it did.
        await session.execute(text("UPDATE orders SET deposit_rule = NULL WHERE id = :id"), {"id": legacy.id})
        await session.commit()

    assert await BalanceSweeper(saga.uow, saga.stock, interval_seconds=0.01, batch=10).run_once() == 3

    read = UseCases(saga.uow).read
    after = {o.id: await read(partial(handlers.get_order, order_id=o.id)) for o in (refund, legacy, keep)}
    assert {i: (o.status, o.refunded.amount_minor, o.deposit_kept_minor) for i, o in after.items()} == {
        refund.id: (OrderStatus.CANCELLED, 500, 0),
        legacy.id: (OrderStatus.CANCELLED, 0, 500),
        keep.id: (OrderStatus.CANCELLED, 0, 500),
    }


async def test_a_cancellation_after_the_deadline_is_the_lapse_the_sweeper_would_make(saga: Saga, sessions: Any) -> None:
    """CancelOrder of a DEPOSIT_PAID order past its deadline lapses it by the same rule as the sweeper: a KEEP
    deposit is kept, unless the seller broke its promise first (then refunded); before the deadline a
    cancellation refunds the deposit whatever the rule."""
    saga.inventory.stock = {"A": 1_000}
    terms = PresaleTerms(balance_due_seconds=3600, deposit_rule=DepositRule.KEEP)
    await run_in_transaction(
        saga.uow, lambda uow: handlers.apply_channel(uow, SalesChannel("presale-web", "ONLINE_STORE", presale=terms))
    )
    kept, broken, early = [await saga.placement.place(place(f"C{i}")) for i in range(3)]
    for order in (kept, broken, early):
        await pay(saga, order.id, PaymentKind.DEPOSIT, 500)
    async with sessions() as session:
        await session.execute(
            text("UPDATE orders SET balance_due_at = now() - interval '1 second' WHERE id = ANY(:ids)"),
            {"ids": [kept.id, broken.id]},
        )
        await session.execute(text("UPDATE orders SET promise_broken_at = now() WHERE id = :id"), {"id": broken.id})
        await session.commit()

    async def cancel(order_id: str) -> Any:
        cmd = commands.CancelOrder(order_id, "buyer walked")
        return await run_in_transaction(saga.uow, lambda uow: handlers.cancel_order(uow, cmd, release=saga.release))

    lapsed, refunded, cancelled = [await cancel(o.id) for o in (kept, broken, early)]
    assert (lapsed.status, lapsed.deposit_kept_minor, lapsed.refunded.amount_minor) == (OrderStatus.CANCELLED, 500, 0)
    assert lapsed.status_reason.endswith("deposit kept")
    assert (refunded.deposit_kept_minor, refunded.refunded.amount_minor) == (0, 500)
    assert "the seller moved a promised date" in refunded.status_reason
    assert (cancelled.deposit_kept_minor, cancelled.refunded.amount_minor) == (0, 500)
    assert cancelled.status_reason == "buyer walked"
    assert (await cancel(kept.id)).deposit_kept_minor == 500  # repeated: unchanged
    assert await BalanceSweeper(saga.uow, saga.stock, interval_seconds=1, batch=10).run_once() == 0
