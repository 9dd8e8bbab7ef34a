"""A generic payload for pickup at a store that does not exist, offers no pickup, is disabled or is not one the
channel sells from (audit M): refused INVALID_ARGUMENT on payload.fulfillment.pickup_location_id before anything
is placed, so the corrected payload places the order under the same external id (it used to be answered OK
with a REJECTED order that kept the external id for ever)."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
PRICE = 10_000
FIELD = "payload.fulfillment.pickup_location_id"


@pytest.fixture(scope="module")
async def started(stack: Any) -> Any:
    await stack.start("inventory")
    await stack.start("orders")
    await stack.start("channels")
    return stack


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    return started.stub("orders")


def pickup(external_id: str, channel_sku: str, store: str) -> str:
    return json.dumps(
        {
            "external_order_id": external_id,
            "currency": "CNY",
            "lines": [{"channel_sku": channel_sku, "quantity": 1, "unit_price": "100.00"}],
            "fulfillment": {"mode": "PICKUP_IN_STORE", "pickup_location_id": store},
        }
    )


async def test_a_pickup_store_the_channel_cannot_use_is_bad_input(world: Any, orders: Any) -> None:
    sku = world.name("PU")
    store = await world.location("ST", type_=ipb.LOCATION_TYPE_STORE)
    warehouse = await world.location("WH")  # ships, no pickup
    elsewhere = await world.location("ST", type_=ipb.LOCATION_TYPE_STORE)  # pickup, not the channel's
    closed = await world.location("ST", type_=ipb.LOCATION_TYPE_STORE, disabled=True)
    for location in (store, warehouse, elsewhere):
        await world.stock(location, **{sku: 5})
    channel = (await world.channel(location_ids=(store, warehouse, closed))).id
    await world.listing(channel, sku, price=PRICE)
    await wait_until_inventory_knows(world.inventory, world.admin, channel)
    await wait_until_orders_knows(orders, world.admin, channel)
    await wait_until_orders_lists(
        orders, world.admin, channel, sku, common_pb2.Money(currency="CNY", amount_minor=PRICE)
    )

    async def imported(external_id: str, at: str) -> opb.Order:
        request = cpb.ImportOrderRequest(
            channel_id=channel, format="generic", payload=pickup(external_id, f"C-{sku}", at)
        )
        return (await world.channels.ImportOrder(request, metadata=world.admin)).order

    external_id = world.name("G")
    for wrong, why in (
        ("NO-SUCH-STORE", "no such location"),
        (warehouse, "does not offer pickup"),
        (elsewhere, "does not sell from"),
        (closed, "disabled"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await imported(external_id, wrong)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, wrong
        assert field_violations(bad.value) == [FIELD]
        assert why in (bad.value.details() or ""), bad.value.details()

    placed = await imported(external_id, store)  # the external id was not taken by a refused order
    assert placed.status == opb.ORDER_STATUS_RESERVED
    assert placed.fulfillment.pickup_location_id == store
    again = await imported(external_id, store)
    assert again.id == placed.id
