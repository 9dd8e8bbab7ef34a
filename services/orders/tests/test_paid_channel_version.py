"""A payment's events name the version of the channel's terms it was made under (OrderFacts.channel_version):
settlement splits the sale at that version's fee however late it reads the event (audit h4). Every later event of
the order states it too: settlement books the sale from whichever event reaches it first (helper h11)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as ev
from onepool_kernel.intake import Catalogue
from onepool_kernel.money import Money
from onepool_kernel.presale import PresaleTerms
from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, PaymentKind
from onepool_orders.service_layer import handlers
from onepool_runtime.idempotency import run_in_transaction
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


async def _channel(saga: Saga, version: int) -> None:
    async with saga.uow() as uow:
        await uow.channels.upsert(SalesChannel("tmall", "MARKETPLACE", version=version, currency="CNY",
                                               catalogue=Catalogue.POOL))  # fmt: skip
        await uow.commit()


def _place(external_id: str) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="tmall",
        external_order_id=external_id,
        customer=CustomerInfo(phone="13800000000"),
        lines=(OrderLine("A", 1, Money("CNY", 100)),),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def _facts(saga: Saga, subject: str, message: Any, order_id: str) -> list[int]:
    async with saga.uow() as uow:
        rows = (await uow.session.execute(text("SELECT payload FROM outbox WHERE subject = :s"), {"s": subject})).all()
    return [f.channel_version for r in rows if (f := message.FromString(r.payload).facts).order_id == order_id]


async def test_order_paid_states_the_channel_version_in_force_at_payment(saga: Saga) -> None:
    saga.inventory.stock = {"A": 10}
    await _channel(saga, 3)
    order = await saga.placement.place(
        commands.PlaceOrder(
            channel_id="tmall",
            external_order_id="CV1",
            customer=CustomerInfo(phone="13800000000"),
            lines=(OrderLine("A", 1, Money("CNY", 100)),),
            fulfillment=FulfillmentPreference(address="x"),
            dealer_id="",
            payment_ttl_seconds=0,
        )
    )
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "pay-1", order.total))
    )
    await _channel(saga, 4)  # a later change of terms restates nothing already published
    async with saga.uow() as uow:
        rows = (await uow.session.execute(text("SELECT payload FROM outbox WHERE subject = 'orders.order.paid'"))).all()
    assert [ev.OrderPaid.FromString(r.payload).facts.channel_version for r in rows] == [3]


async def test_a_later_event_of_a_paid_order_states_the_version_of_its_first_payment(saga: Saga) -> None:
    """The order is read back from the database before it ships, after the channel's terms changed: its
    OrderShipped names the version it was paid under (it stated 0, and a shipment that reached settlement before
    the delayed OrderPaid booked the sale at the newest fee)."""
    saga.inventory.stock = {"A": 10}
    await _channel(saga, 5)  # orders' copy keeps the newest version it heard of
    order = await saga.placement.place(_place("CV2"))
    pay = commands.PayOrder(order.id, "pay-1", order.total)
    await run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, pay))
    await _channel(saga, 6)
    await run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, pay))  # a retried payment changes nothing
    await saga.stock.send_for_order(order.id)  # nothing leaves before inventory confirmed the commit
    ship = commands.ShipFulfillment(order.id, order.fulfillments[0].id, "T-1")
    await run_in_transaction(saga.uow, lambda uow: handlers.ship_fulfillment(uow, ship, hand_over=saga.hand_over))
    assert await _facts(saga, "orders.order.shipped", ev.OrderShipped, order.id) == [5]
    async with saga.uow() as uow:
        stored = await uow.orders.get(order.id)
    assert stored is not None and stored.channel_version == 5


async def test_a_presale_balance_keeps_the_version_its_deposit_was_paid_under(saga: Saga) -> None:
    """The sale was made when the deposit was taken: the balance's OrderPaid names the deposit's version, not the
    one orders holds when the balance comes (settlement books the sale and a kept deposit at one version)."""
    saga.inventory.stock = {"A": 10}

    async def presale_channel(version: int) -> None:
        channel = SalesChannel("presale-cv", "ONLINE_STORE", version=version, currency="CNY",
                               catalogue=Catalogue.POOL, presale=PresaleTerms(balance_due_seconds=3600))  # fmt: skip
        await run_in_transaction(saga.uow, lambda uow: handlers.apply_channel(uow, channel))

    await presale_channel(7)
    order = await saga.placement.place(replace(_place("CV3"), channel_id="presale-cv"))
    deposit = commands.PayOrder(order.id, "dep-1", Money("CNY", 30), PaymentKind.DEPOSIT)
    await run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, deposit))
    await presale_channel(8)
    balance = commands.PayOrder(order.id, "bal-1", Money("CNY", 70), PaymentKind.BALANCE)
    await run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, balance))
    assert await _facts(saga, "orders.order.deposit_paid", ev.OrderDepositPaid, order.id) == [7]
    assert await _facts(saga, "orders.order.paid", ev.OrderPaid, order.id) == [7]
