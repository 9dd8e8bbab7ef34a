"""What the order's writes touch, read from PostgreSQL's row versions: a transaction that rewrites a row (even
with the same values) gives it its own `xmin`. Recording a reservation or a payment changes the order row; it
must not rewrite lines or fulfillments that did not change (each rewrite is a row version, WAL and CPU)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool_kernel.money import Money
from onepool_orders.domain import commands
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, OrderStatus
from onepool_orders.service_layer import handlers
from onepool_runtime.idempotency import run_in_transaction
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


def three_lines(external_id: str) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="web",
        external_order_id=external_id,
        customer=CustomerInfo(phone="13800000000"),
        lines=tuple(OrderLine(sku, 2, Money("CNY", 100)) for sku in ("A", "B", "C")),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def rewritten_with_the_order(saga: Saga, table: str, order_id: str) -> int:
    """Rows of `table` that the transaction which last wrote the order row wrote too."""
    async with saga.uow() as uow:
        found = await uow.session.execute(
            text(
                f"SELECT count(*) FROM {table} t JOIN orders o ON o.id = t.order_id"
                " WHERE o.id = :id AND t.xmin = o.xmin"
            ),
            {"id": order_id},
        )
        return int(found.scalar_one())


async def test_recording_a_reservation_writes_the_order_and_its_fulfillments_but_not_its_lines(saga: Saga) -> None:
    saga.inventory.stock = {"A": 10, "B": 10, "C": 10}
    order = await saga.placement.place(three_lines("W1"))
    assert order.status is OrderStatus.RESERVED
    assert await rewritten_with_the_order(saga, "fulfillments", order.id) == 1  # written by the same transaction
    assert await rewritten_with_the_order(saga, "order_lines", order.id) == 0


async def test_paying_rewrites_neither_lines_nor_fulfillments(saga: Saga) -> None:
    saga.inventory.stock = {"A": 10, "B": 10, "C": 10}
    order = await saga.placement.place(three_lines("W2"))
    paid = await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "pay-1", order.total))
    )
    assert paid.status is OrderStatus.PAID
    assert await rewritten_with_the_order(saga, "order_lines", order.id) == 0
    assert await rewritten_with_the_order(saga, "fulfillments", order.id) == 0


async def test_shipping_rewrites_the_fulfillment_that_left_and_nothing_else(saga: Saga) -> None:
    saga.inventory.stock = {"A": 10, "B": 10, "C": 10}
    order = await saga.placement.place(three_lines("W3"))
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "pay-1", order.total))
    )
    await saga.stock.send_for_order(order.id)  # nothing leaves before inventory confirmed the commit
    fulfillment = order.fulfillments[0].id
    shipped = await run_in_transaction(
        saga.uow,
        lambda uow: handlers.ship_fulfillment(
            uow, commands.ShipFulfillment(order.id, fulfillment, "T-1"), hand_over=saga.hand_over
        ),
    )
    assert shipped.status is OrderStatus.SHIPPED
    assert await rewritten_with_the_order(saga, "fulfillments", order.id) == 1
    assert await rewritten_with_the_order(saga, "order_lines", order.id) == 0
    reread = await run_in_transaction(saga.uow, lambda uow: handlers.get_order(uow, order.id))
    assert [(f.status.value, f.tracking_no) for f in reread.fulfillments] == [("SHIPPED", "T-1")]


async def test_a_command_that_waited_for_the_order_lock_reads_what_the_holder_wrote(saga: Saga) -> None:
    """The lock and the read are one statement; a statement that waited for the lock must not act on the lines
    and fulfillments of the snapshot it started with (here it would ship the same fulfillment a second time,
    and be refused, since the order it locked is SHIPPED already)."""
    saga.inventory.stock = {"A": 10, "B": 10, "C": 10}
    order = await saga.placement.place(three_lines("W4"))
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "pay-1", order.total))
    )
    await saga.stock.send_for_order(order.id)  # nothing leaves before inventory confirmed the commit
    ship = commands.ShipFulfillment(order.id, order.fulfillments[0].id, "T-1")
    async with saga.uow() as holder:
        await handlers.ship_fulfillment(holder, ship, hand_over=saga.hand_over)
        waiter = asyncio.create_task(
            run_in_transaction(saga.uow, lambda uow: handlers.ship_fulfillment(uow, ship, hand_over=saga.hand_over))
        )
        while not await waiting_on_a_lock(saga):
            assert not waiter.done(), waiter
            await asyncio.sleep(0.01)
        await holder.commit()
    repeated = await waiter
    assert repeated.status is OrderStatus.SHIPPED
    assert [(f.status.value, f.tracking_no) for f in repeated.fulfillments] == [("SHIPPED", "T-1")]
    # Inventory was told once (the waiter found it shipped), and nothing is queued: it was told before the commit.
    assert saga.inventory.fulfilled == [f"orders:fulfil:{order.fulfillments[0].id}"]
    async with saga.uow() as uow:
        queued = await uow.session.execute(text("SELECT count(*) FROM stock_requests WHERE kind = 'fulfil'"))
        assert queued.scalar_one() == 0


async def waiting_on_a_lock(saga: Saga) -> bool:
    async with saga.uow() as uow:
        found = await uow.session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one()) > 0
