"""Flow 5 with a presale deposit: a marketplace order imported unpaid, its deposit (定金) recorded by the
connector with PayOrder DEPOSIT, then re-imported once the marketplace collected everything (`payment_ref`).
The import pays what is left (the balance), not the total orders would refuse, so the order does not lapse
at its balance deadline although the buyer paid in full; a balance orders can no longer take is refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
PRICE = 10_000
DEPOSIT = 5_000


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount_minor)


@pytest.fixture(scope="module")
async def started(stack: Any) -> Any:
    await stack.start("inventory")
    # No sweep during a test: a balance past its deadline stays DEPOSIT_PAID until the import pays it.
    await stack.start("orders", balance_sweep_interval_seconds=3600)
    await stack.start("channels")
    return stack


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    return started.stub("orders")


async def presale_channel(world: Any, orders: Any, balance_due_seconds: int) -> tuple[str, str]:
    """A marketplace channel taking deposits, listing one SKU in stock; returns (channel id, channel SKU)."""
    sku = world.name("PRE")
    warehouse = await world.location()
    await world.stock(warehouse, **{sku: 10})
    created = await world.channels.CreateChannel(
        cpb.CreateChannelRequest(
            code=world.name("mkt"),
            name="Marketplace",
            type=cpb.CHANNEL_TYPE_MARKETPLACE,
            allocation=cpb.AllocationPolicy(location_ids=[warehouse]),
            currency="CNY",
            presale=cpb.PresaleTerms(balance_due_seconds=balance_due_seconds),
        ),
        metadata=world.admin,
    )
    channel_id = created.channel.id
    await world.listing(channel_id, sku, channel_sku=f"C-{sku}", price=PRICE)
    await wait_until_inventory_knows(world.inventory, world.admin, channel_id)
    await wait_until_orders_knows(orders, world.admin, channel_id)
    await wait_until_orders_lists(orders, world.admin, channel_id, sku, cny(PRICE))
    return channel_id, f"C-{sku}"


def payload(external_id: str, channel_sku: str, payment_ref: str = "") -> str:
    body: dict[str, Any] = {
        "external_order_id": external_id,
        "currency": "CNY",
        "lines": [{"channel_sku": channel_sku, "quantity": 2, "unit_price_minor": PRICE}],
        "total": "200.00",
        "customer": {"id": "buyer-1", "phone": "13800000000"},
        "fulfillment": {"mode": "SHIP", "region": "CN-SH", "address": "1 Nanjing Rd"},
    }
    if payment_ref:
        body["payment_ref"] = payment_ref
    return json.dumps(body)


async def imported(world: Any, channel_id: str, text: str) -> opb.Order:
    request = cpb.ImportOrderRequest(channel_id=channel_id, format="generic", payload=text)
    return (await world.channels.ImportOrder(request, metadata=world.admin)).order


async def deposit_paid(world: Any, orders: Any, channel_id: str, external_id: str, channel_sku: str) -> opb.Order:
    placed = await imported(world, channel_id, payload(external_id, channel_sku))
    assert placed.status == opb.ORDER_STATUS_RESERVED
    paid = await orders.PayOrder(
        opb.PayOrderRequest(
            order_id=placed.id, payment_ref=world.name("DEP"), amount=cny(DEPOSIT), kind=opb.PAYMENT_KIND_DEPOSIT
        ),
        metadata=world.admin,
    )
    assert paid.order.status == opb.ORDER_STATUS_DEPOSIT_PAID
    return paid.order


async def test_a_paid_reimport_after_a_deposit_pays_the_balance_once(world: Any, orders: Any) -> None:
    channel_id, channel_sku = await presale_channel(world, orders, balance_due_seconds=3600)
    external_id = world.name("TB")
    placed = await deposit_paid(world, orders, channel_id, external_id, channel_sku)

    text = payload(external_id, channel_sku, payment_ref="TB-FINAL")
    paid = await imported(world, channel_id, text)
    assert (paid.id, paid.status, paid.payment_ref) == (placed.id, opb.ORDER_STATUS_PAID, "TB-FINAL")
    assert (paid.paid, paid.deposit) == (paid.total, cny(DEPOSIT))

    # The marketplace re-sends it (a retry, or concurrent syncs): the balance is paid once, nothing refused.
    again = await asyncio.gather(*(imported(world, channel_id, text) for _ in range(3)))
    assert {(o.id, o.status, o.paid.amount_minor) for o in again} == {(placed.id, opb.ORDER_STATUS_PAID, 2 * PRICE)}
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=placed.id), metadata=world.admin)).order
    assert (stored.status, stored.paid, stored.payment_ref) == (opb.ORDER_STATUS_PAID, paid.total, "TB-FINAL")


async def test_a_balance_orders_can_no_longer_take_is_refused_not_answered_as_paid(world: Any, orders: Any) -> None:
    channel_id, channel_sku = await presale_channel(world, orders, balance_due_seconds=1)
    external_id = world.name("TB")
    placed = await deposit_paid(world, orders, channel_id, external_id, channel_sku)
    await asyncio.sleep(1.5)  # past the balance deadline (the order has not lapsed yet: no sweep runs)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await imported(world, channel_id, payload(external_id, channel_sku, payment_ref="TB-LATE"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(refused.value)
    assert info is not None and info.reason == "BALANCE_OVERDUE"
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=placed.id), metadata=world.admin)).order
    assert (stored.status, stored.paid) == (opb.ORDER_STATUS_DEPOSIT_PAID, cny(DEPOSIT))
