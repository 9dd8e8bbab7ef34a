"""A payment's events name the version of the channel's terms it was made under (OrderFacts.channel_version):
settlement splits the sale at that version's fee however late it reads the event (audit h4)."""

from __future__ import annotations

from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as ev
from onepool_kernel.intake import Catalogue
from onepool_kernel.money import Money
from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine
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
