"""Amounts in a generic payload (audit M, docs/import-formats.md step 4): a JSON number is an amount in major
units exactly like the same decimal text (12.5, "12.5" and "12.50" are 1250 fen; 1000 is 1000.00, not 10.00);
text Python's Decimal would read but no marketplace writes ("1_00.00", "+100.00", "NaN") is INVALID_ARGUMENT
naming the field, never read as some number."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool_runtime.testing.services import field_violations

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
PRICE = 10_000


@pytest.fixture(scope="module")
async def started(stack: Any) -> Any:
    await stack.start("inventory")
    await stack.start("orders")
    await stack.start("channels")
    return stack


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    return started.stub("orders")


async def test_json_numbers_are_major_units_and_odd_decimal_text_is_refused(world: Any, orders: Any) -> None:
    sku = world.name("AM")
    warehouse = await world.location()
    await world.stock(warehouse, **{sku: 50})
    channel = (await world.channel(location_ids=(warehouse,))).id
    await world.listing(channel, sku, price=PRICE)
    await wait_until_inventory_knows(world.inventory, world.admin, channel)
    await wait_until_orders_knows(orders, world.admin, channel)
    await wait_until_orders_lists(
        orders, world.admin, channel, sku, common_pb2.Money(currency="CNY", amount_minor=PRICE)
    )

    async def imported(unit_price: Any, shipping_fee: Any) -> Any:
        body = {
            "external_order_id": world.name("G"),
            "currency": "CNY",
            "lines": [{"channel_sku": f"C-{sku}", "quantity": 1, "unit_price": unit_price}],
            "shipping_fee": shipping_fee,
            "fulfillment": {"mode": "SHIP", "region": "CN-SH", "address": "1 Nanjing Rd"},
        }
        request = cpb.ImportOrderRequest(channel_id=channel, format="generic", payload=json.dumps(body))
        return (await world.channels.ImportOrder(request, metadata=world.admin)).order

    for price, fee in ((100, 12.5), ("100", "12.5"), ("100.00", "12.50"), (100.0, " 12.50 ")):
        order = await imported(price, fee)
        assert (order.lines[0].unit_price.amount_minor, order.shipping_fee.amount_minor) == (PRICE, 1250)
    assert (await imported(100, 1000)).shipping_fee.amount_minor == 100_000  # 1000.00, not 10.00

    for odd in ("1_00.00", "+100.00", "NaN", "100 .00"):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await imported(odd, "0")
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, odd
        assert field_violations(bad.value) == ["payload.lines[0].unit_price"], odd
