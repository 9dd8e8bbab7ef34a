"""The return window over a real database (inventory faked): an order's returnable_until is fixed when its last
goods leave, from its channel's window then; a return after it is RETURN_WINDOW_CLOSED with nothing changed,
unless an operator accepts it late; the closer publishes each order's closing once, however many run."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as oev
from onepool_kernel.money import Money
from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, Order, OrderLine, OrderStatus
from onepool_orders.domain.stock_requests import StockLine
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.return_windows import ReturnWindowCloser
from onepool_runtime.errors import FailedPrecondition
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.servicer import UseCases
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


def _anyone(order: Order) -> None:
    """No scoping: the test is the operator."""


async def _shipped(saga: Saga, channel_id: str, external_id: str) -> Order:
    saga.inventory.stock = {"A": 1_000}
    order = await saga.placement.place(
        commands.PlaceOrder(
            channel_id=channel_id,
            external_order_id=external_id,
            customer=CustomerInfo(phone="13800000000"),
            lines=(OrderLine("A", 2, Money("CNY", 100)),),
            fulfillment=FulfillmentPreference(address="x"),
            dealer_id="",
            payment_ttl_seconds=0,
        )
    )
    paid = await saga.lifecycle.pay(commands.PayOrder(order.id, f"pay-{external_id}", order.total), _anyone)
    fid = paid.fulfillments[0].id
    return await saga.lifecycle.ship(commands.ShipFulfillment(order.id, fid, "SF"), _anyone)


async def _stored(saga: Saga, order_id: str) -> Order:
    return await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order_id))


async def _channel(saga: Saga, channel_id: str, version: int, days: int) -> None:
    channel = SalesChannel(channel_id, "ONLINE_STORE", version=version, currency="CNY", return_window_days=days)
    await run_in_transaction(saga.uow, lambda uow: handlers.apply_channel(uow, channel))


async def _sql(saga: Saga, statement: str, **params: Any) -> Any:
    async with saga.uow() as uow:
        result = await uow.session.execute(text(statement), params)
        await uow.session.commit()
        return result


async def _return(saga: Saga, order_id: str, request_id: str, *, late: bool = False) -> Any:
    cmd = commands.ReturnItems(request_id, order_id, (StockLine("A", 1),), "SHOP", "too small", late)
    return await run_in_transaction(saga.uow, lambda uow: handlers.return_items(uow, cmd))


async def test_the_window_is_fixed_when_the_goods_leave_and_a_late_return_is_refused(saga: Saga) -> None:
    await _channel(saga, "rw-two-days", 1, 2)
    shipped = await _shipped(saga, "rw-two-days", "RW-1")
    left_at = shipped.fulfillments[0].shipped_at
    assert shipped.status is OrderStatus.SHIPPED and left_at is not None
    assert shipped.returnable_until == left_at + timedelta(days=2)
    # The channel's window changes later: the order's deadline, fixed when its goods left, does not move.
    await _channel(saga, "rw-two-days", 2, 30)
    assert (await _stored(saga, shipped.id)).returnable_until == left_at + timedelta(days=2)

    order, _ = await _return(saga, shipped.id, "ret-in-time")  # within the window
    assert order.refunded.amount_minor == 100

    await _sql(saga, "UPDATE orders SET returnable_until = now() - interval '1 second' WHERE id = :id", id=shipped.id)
    events_before = (await _sql(saga, "SELECT count(*) FROM outbox")).scalar_one()
    with pytest.raises(FailedPrecondition) as refused:
        await _return(saga, shipped.id, "ret-late")
    assert refused.value.reason == "RETURN_WINDOW_CLOSED"
    assert refused.value.metadata["order_id"] == shipped.id
    after = await _stored(saga, shipped.id)
    assert (after.refunded.amount_minor, after.lines[0].returned) == (100, 1)  # nothing changed
    assert (await _sql(saga, "SELECT count(*) FROM outbox")).scalar_one() == events_before
    restocks = await _sql(saga, "SELECT count(*) FROM stock_requests WHERE payload::text LIKE '%ret-late%'")
    assert restocks.scalar_one() == 0

    # An operator's quality claim: accepted after the window.
    order, late = await _return(saga, shipped.id, "ret-claim", late=True)
    assert late.refund.amount_minor == 100 and order.refunded == order.paid


async def test_closers_racing_publish_each_orders_closing_once(saga: Saga) -> None:
    orders = [await _shipped(saga, "web", f"RWC-{i}") for i in range(12)]
    due, open_ = orders[:9], orders[9:]
    assert all(o.returnable_until is not None for o in orders)  # unknown channel: the 7-day default
    await _sql(
        saga,
        "UPDATE orders SET returnable_until = now() - interval '1 second' WHERE id = ANY(:ids)",
        ids=[o.id for o in due],
    )
    closers = [ReturnWindowCloser(saga.uow, interval_seconds=0.01, batch=2) for _ in range(3)]

    async def close(closer: ReturnWindowCloser) -> None:
        for _ in range(len(orders)):  # bounded: each pass closes at least one or ends
            if not await closer.run_once():
                return

    await asyncio.gather(*(close(c) for c in closers))
    await asyncio.gather(*(close(c) for c in closers))  # later passes find nothing more

    assert sum(c.closed for c in closers) == len(due)
    rows = (await _sql(saga, "SELECT payload FROM outbox WHERE subject = 'orders.order.return_window_closed'")).all()
    facts = [oev.OrderReturnWindowClosed.FromString(r.payload).facts for r in rows]
    assert sorted(f.order_id for f in facts) == sorted(o.id for o in due)
    assert all(f.is_final and f.HasField("returnable_until") for f in facts)
    for order in open_:
        stored = await _stored(saga, order.id)
        assert not stored.return_window_closed and not stored.is_final
