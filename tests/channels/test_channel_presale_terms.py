"""A channel's presale terms (docs/presale.md) through the real channels, orders and inventory services: set on
CreateChannel / UpdateChannel (mask `presale`), refused with their field paths when they cannot be terms, and
followed by orders, which takes a deposit only on a channel whose terms allow it."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations

from tests.support.channels import wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    await started.start("orders")
    return started.stub("orders")


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


async def test_presale_terms_are_validated_stored_and_published(world: Any, channels: Any, admin: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=world.name("bad"),
                name="bad",
                type=cpb.CHANNEL_TYPE_MARKETPLACE,
                presale=cpb.PresaleTerms(balance_due_seconds=-1, min_deposit_bps=10_000, deposit_rule=7),
            ),
            metadata=admin,
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {"presale.balance_due_seconds", "presale.min_deposit_bps", "presale.deposit_rule"} <= set(
        field_violations(bad.value)
    )

    terms = cpb.PresaleTerms(balance_due_seconds=3600, min_deposit_bps=1000, deposit_rule=cpb.DEPOSIT_RULE_KEEP)
    created = (
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=world.name("pre"), name="pre", type=cpb.CHANNEL_TYPE_MARKETPLACE, presale=terms
            ),
            metadata=admin,
        )
    ).channel
    assert created.presale == terms
    got = (await channels.GetChannel(cpb.GetChannelRequest(channel_id=created.id), metadata=admin)).channel
    assert got.presale == terms

    changed = cpb.Channel(id=created.id, presale=cpb.PresaleTerms(balance_due_seconds=60))
    updated = (
        await channels.UpdateChannel(
            cpb.UpdateChannelRequest(channel=changed, update_mask=FieldMask(paths=["presale"])), metadata=admin
        )
    ).channel
    assert updated.presale == cpb.PresaleTerms(balance_due_seconds=60, deposit_rule=cpb.DEPOSIT_RULE_REFUND)
    assert updated.version == created.version + 1 and updated.name == created.name


async def test_orders_takes_a_deposit_once_the_channel_offers_presale_terms(
    world: Any, channels: Any, orders: Any, admin: Any
) -> None:
    sku = world.name("SKU")
    warehouse = await world.location()
    await world.stock(warehouse, **{sku: 5})
    channel = await world.channel(location_ids=(warehouse,), fee_rate_bps=0)
    await world.listing(channel.id, sku, price=10_000)
    await wait_until_orders_knows(orders, admin, channel.id)

    await wait_until_orders_lists(orders, admin, channel.id, sku, cny(10_000))
    order = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=channel.id,
                external_order_id=world.name("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=cny(10_000))],
                fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="x"),
            ),
            metadata=admin,
        )
    ).order
    assert order.status == opb.ORDER_STATUS_RESERVED

    async def deposit(order_id: str) -> Any:
        request = opb.PayOrderRequest(
            order_id=order_id, payment_ref=world.name("DEP"), amount=cny(3_000), kind=opb.PAYMENT_KIND_DEPOSIT
        )
        try:
            return (await orders.PayOrder(request, metadata=admin)).order
        except grpc.aio.AioRpcError as exc:
            return exc

    refused = await deposit(order.id)
    assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.FAILED_PRECONDITION

    changed = cpb.Channel(id=channel.id, presale=cpb.PresaleTerms(balance_due_seconds=3600))
    await channels.UpdateChannel(
        cpb.UpdateChannelRequest(channel=changed, update_mask=FieldMask(paths=["presale"])), metadata=admin
    )
    paid = await world.eventually(lambda: deposit(order.id), lambda r: isinstance(r, opb.Order))
    assert paid.status == opb.ORDER_STATUS_DEPOSIT_PAID and paid.deposit == cny(3_000)
