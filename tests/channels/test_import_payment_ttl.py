"""How long an imported unpaid marketplace order holds its stock (audit M): the channel's
`import_payment_ttl_seconds` (a day unless set, 60..604800), shortened to the marketplace's own payment deadline
when the payload carries one (generic `pay_by`, taobao `timeout_action_time`). Orders here runs with a 2-second
default TTL: an import that left the TTL to orders lost its order before the buyer's "paid" message came."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
PRICE = 10_000


@pytest.fixture(scope="module")
async def started(stack: Any) -> Any:
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", payment_ttl_seconds=2)
    await stack.start("channels")
    return stack


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    return started.stub("orders")


async def marketplace(world: Any, orders: Any, **terms: Any) -> tuple[str, str]:
    sku = world.name("TTL")
    warehouse = await world.location()
    await world.stock(warehouse, **{sku: 10})
    created = await world.channels.CreateChannel(
        cpb.CreateChannelRequest(
            code=world.name("mkt"),
            name="Marketplace",
            type=cpb.CHANNEL_TYPE_MARKETPLACE,
            allocation=cpb.AllocationPolicy(location_ids=[warehouse]),
            currency="CNY",
            **terms,
        ),
        metadata=world.admin,
    )
    channel_id = created.channel.id
    await world.listing(channel_id, sku, channel_sku=f"C-{sku}", price=PRICE)
    await wait_until_inventory_knows(world.inventory, world.admin, channel_id)
    await wait_until_orders_knows(orders, world.admin, channel_id)
    await wait_until_orders_lists(
        orders, world.admin, channel_id, sku, common_pb2.Money(currency="CNY", amount_minor=PRICE)
    )
    return channel_id, f"C-{sku}"


def generic(external_id: str, channel_sku: str, payment_ref: str = "", pay_by: datetime | None = None) -> str:
    body: dict[str, Any] = {
        "external_order_id": external_id,
        "currency": "CNY",
        "lines": [{"channel_sku": channel_sku, "quantity": 1, "unit_price": "100.00"}],
        "fulfillment": {"mode": "SHIP", "region": "CN-SH", "address": "1 Nanjing Rd"},
    }
    if payment_ref:
        body["payment_ref"] = payment_ref
    if pay_by is not None:
        body["pay_by"] = pay_by.isoformat()
    return json.dumps(body)


async def imported(world: Any, channel_id: str, text: str, format_: str = "generic") -> opb.Order:
    request = cpb.ImportOrderRequest(channel_id=channel_id, format=format_, payload=text)
    return (await world.channels.ImportOrder(request, metadata=world.admin)).order


def held_seconds(order: opb.Order) -> float:
    return order.reservation_expires_at.ToSeconds() - order.created_at.ToSeconds()  # type: ignore[no-any-return]


async def test_the_term_defaults_to_a_day_is_validated_and_changes(world: Any, started: Any) -> None:
    channels, admin = world.channels, world.admin

    def create(**fields: Any) -> cpb.CreateChannelRequest:
        return cpb.CreateChannelRequest(code=world.name("tt"), name="tt", type=cpb.CHANNEL_TYPE_MARKETPLACE, **fields)

    for wrong in (59, 7 * 24 * 3600 + 1):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await channels.CreateChannel(create(import_payment_ttl_seconds=wrong), metadata=admin)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "import_payment_ttl_seconds" in field_violations(bad.value)
    created = (await channels.CreateChannel(create(), metadata=admin)).channel
    assert created.HasField("import_payment_ttl_seconds") and created.import_payment_ttl_seconds == 86_400

    async def update(channel: cpb.Channel, *paths: str) -> cpb.Channel:
        request = cpb.UpdateChannelRequest(channel=channel, update_mask=FieldMask(paths=list(paths)))
        return (await channels.UpdateChannel(request, metadata=admin)).channel  # type: ignore[no-any-return]

    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await update(cpb.Channel(id=created.id, import_payment_ttl_seconds=10), "import_payment_ttl_seconds")
    assert "channel.import_payment_ttl_seconds" in field_violations(bad.value)
    masked = await update(cpb.Channel(id=created.id, import_payment_ttl_seconds=3 * 3600), "import_payment_ttl_seconds")
    assert (masked.import_payment_ttl_seconds, masked.version) == (3 * 3600, created.version + 1)
    read = (await channels.GetChannel(cpb.GetChannelRequest(channel_id=created.id), metadata=admin)).channel
    read.name = "renamed"
    assert (await update(read)).import_payment_ttl_seconds == 3 * 3600  # a read-modify-write keeps it


async def test_an_unpaid_import_waits_for_the_marketplaces_paid_message(world: Any, orders: Any) -> None:
    channel_id, channel_sku = await marketplace(world, orders)
    external_id = world.name("TB")
    placed = await imported(world, channel_id, generic(external_id, channel_sku))
    assert placed.status == opb.ORDER_STATUS_RESERVED
    assert held_seconds(placed) == pytest.approx(86_400, abs=5)
    await asyncio.sleep(3.5)  # past orders' own 2-second default, swept by inventory every 0.2 s
    paid = await imported(world, channel_id, generic(external_id, channel_sku, payment_ref="ALIPAY-1"))
    assert (paid.id, paid.status, paid.paid.amount_minor) == (placed.id, opb.ORDER_STATUS_PAID, PRICE)


async def test_the_marketplaces_deadline_holds_within_the_channels_term(world: Any, orders: Any) -> None:
    channel_id, channel_sku = await marketplace(world, orders, import_payment_ttl_seconds=7200)
    soon = datetime.now(UTC) + timedelta(minutes=10)
    placed = await imported(world, channel_id, generic(world.name("G"), channel_sku, pay_by=soon))
    assert held_seconds(placed) == pytest.approx(600, abs=5)
    later = datetime.now(UTC) + timedelta(days=2)
    capped = await imported(world, channel_id, generic(world.name("G"), channel_sku, pay_by=later))
    assert held_seconds(capped) == pytest.approx(7200, abs=5)
    # Taobao writes the deadline in Beijing time without an offset.
    beijing = (datetime.now(UTC) + timedelta(hours=8, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    trade = {
        "tid": world.name("T"),
        "status": "WAIT_BUYER_PAY",
        "buyer_nick": "buyer",
        "receiver_state": "上海",
        "receiver_address": "1 Nanjing Rd",
        "payment": "100.00",
        "timeout_action_time": beijing,
        "orders": {"order": [{"outer_sku_id": channel_sku, "num": 1, "price": "100.00"}]},
    }
    taobao = await imported(world, channel_id, json.dumps({"trade": trade}), "taobao")
    assert held_seconds(taobao) == pytest.approx(1800, abs=5)
