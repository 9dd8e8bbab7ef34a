"""Every saved change of an order counts one more revision, and its events carry it (OrderFacts.revision):
readers keep the state with the highest, since updated_at is the clock of whichever replica made the change."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as ev
from onepool_kernel.money import Money
from onepool_orders.domain import commands
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, OrderStatus
from onepool_orders.service_layer import handlers
from onepool_runtime.idempotency import run_in_transaction
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)

# Each subject's message; all of them carry `facts`.
MESSAGES = {
    "orders.order.placed": ev.OrderPlaced,
    "orders.order.paid": ev.OrderPaid,
    "orders.order.cancelled": ev.OrderCancelled,
}


def one_line(external_id: str) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="web",
        external_order_id=external_id,
        customer=CustomerInfo(phone="13800000000"),
        lines=(OrderLine("A", 2, Money("CNY", 100)),),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def published(saga: Saga, order_id: str) -> list[tuple[str, int]]:
    async with saga.uow() as uow:
        rows = (await uow.session.execute(text("SELECT subject, payload FROM outbox ORDER BY seq"))).all()
    found = [(r.subject, MESSAGES[r.subject].FromString(r.payload).facts) for r in rows if r.subject in MESSAGES]
    return [(subject, facts.revision) for subject, facts in found if facts.order_id == order_id]


async def stored_revision(saga: Saga, order_id: str) -> int:
    async with saga.uow() as uow:
        found = await uow.session.execute(text("SELECT revision FROM orders WHERE id = :id"), {"id": order_id})
        return int(found.scalar_one())


async def test_each_change_publishes_the_next_revision(saga: Saga) -> None:
    saga.inventory.stock = {"A": 10}
    order = await saga.placement.place(one_line("R1"))  # reserved by the one-statement save (pending path)
    assert order.status is OrderStatus.RESERVED
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "pay-1", order.total))
    )
    cancel = commands.CancelOrder(order.id, "buyer changed their mind")
    await run_in_transaction(saga.uow, lambda uow: handlers.cancel_order(uow, cancel, release=saga.release))
    assert await published(saga, order.id) == [
        ("orders.order.placed", 1),
        ("orders.order.paid", 2),
        ("orders.order.cancelled", 3),
    ]
    assert await stored_revision(saga, order.id) == 3


async def test_concurrent_changes_never_share_a_revision(saga: Saga) -> None:
    """A payment and a cancellation racing on two connections (two replicas): whichever waits for the order's
    lock counts on from the revision the other saved."""
    saga.inventory.stock = {"A": 10}
    order = await saga.placement.place(one_line("R2"))
    pay = commands.PayOrder(order.id, "pay-1", order.total)
    cancel = commands.CancelOrder(order.id, "buyer changed their mind")
    await asyncio.gather(
        run_in_transaction(saga.uow, lambda uow: handlers.pay_order(uow, pay)),
        run_in_transaction(saga.uow, lambda uow: handlers.cancel_order(uow, cancel, release=saga.release)),
        return_exceptions=True,
    )
    revisions = [revision for _, revision in await published(saga, order.id)]
    assert revisions == sorted(set(revisions)) and revisions[0] == 1, revisions
    assert await stored_revision(saga, order.id) == revisions[-1]
