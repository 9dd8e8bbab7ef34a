"""An import right after a listing's price change: channels resolves the line at the price it just set, while
orders checks its own copy of the listing, which follows `channels.listing.upserted` a moment later.

Orders' copy is held back deterministically by pausing its durable consumer of the CHANNELS stream (a
JetStream consumer pause), so orders still lists the old price when the import arrives. The sale must never be
refused as bad input for that: the import waits for orders, or answers UNAVAILABLE (retryable) while it lags.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import nats
import pytest
from google.rpc import error_details_pb2
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.messaging import STREAMS
from onepool_runtime.testing.services import field_violations, status_of

from tests.support.channels import wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
ORDERS_LISTINGS = "orders-channel-view"  # orders' durable consumer of channels' events
WAIT = 3.0  # ChannelsSettings.import_listing_wait_seconds: how long an import waits for orders at most


@pytest.fixture(scope="module")
async def orders(started: Any) -> Any:
    await started.start("orders")
    return started.stub("orders")


class OrdersListings:
    """Holds back orders' copy of the listings (and lets it go)."""

    def __init__(self, jsm: Any) -> None:
        self._jsm = jsm

    async def hold(self, seconds: float) -> None:
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        await self._jsm.pause_consumer(STREAMS["channels"], ORDERS_LISTINGS, until.isoformat().replace("+00:00", "Z"))

    async def release(self) -> None:
        await self._jsm.resume_consumer(STREAMS["channels"], ORDERS_LISTINGS)


@pytest.fixture
async def orders_listings(started: Any, orders: Any) -> AsyncIterator[OrdersListings]:
    nc = await nats.connect(started.nats_url)
    held = OrdersListings(nc.jsm())
    try:
        yield held
    finally:
        await held.release()
        await nc.close()


def generic(external_id: str, channel_sku: str, price: str) -> str:
    return json.dumps(
        {
            "external_order_id": external_id,
            "currency": "CNY",
            "customer": {"id": "b1", "phone": "+8613800138000"},
            "lines": [{"channel_sku": channel_sku, "quantity": 1, "unit_price": price}],
            "fulfillment": {"mode": "SHIP", "region": "CN-SH", "address": "1 Road", "allow_split": True},
        }
    )


async def listed(world: Any, orders: Any, price: int = 9900) -> tuple[cpb.Channel, str]:
    """A channel selling a stocked SKU at `price`, with orders' copy of the listing caught up."""
    sku = world.name("SKU")
    await world.stock(await world.location("WH"), **{sku: 50})
    channel = await world.channel("mkt")
    listing = await world.listing(channel.id, sku, price=price)
    await wait_until_orders_knows(orders, world.admin, channel.id)
    await wait_until_orders_lists(orders, world.admin, channel.id, sku, listing.price)
    return channel, sku


async def import_(world: Any, channel_id: str, payload: str, **call: Any) -> Any:
    request = cpb.ImportOrderRequest(channel_id=channel_id, format="generic", payload=payload)
    return (await world.channels.ImportOrder(request, metadata=world.admin, **call)).order


async def test_an_import_at_a_price_just_set_waits_for_orders(world, orders, orders_listings) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    await orders_listings.hold(1.5)  # orders hears of the new price within the import's wait
    await world.listing(channel.id, sku, price=8000)
    order = await import_(world, channel.id, generic(world.name("E"), f"C-{sku}", "80.00"))
    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [(ln.sku, ln.unit_price.amount_minor, ln.discount.amount_minor) for ln in order.lines] == [(sku, 8000, 0)]


async def test_while_orders_lags_the_import_is_unavailable_then_succeeds_on_retry(
    world, orders, orders_listings
) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    await orders_listings.hold(120)
    listing = await world.listing(channel.id, sku, price=8000)
    external_id = world.name("E")
    payload = generic(external_id, f"C-{sku}", "80.00")
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        # A 3 s deadline: the import waits at most half of it, and answers before it runs out.
        await import_(world, channel.id, payload, timeout=3)
    error = exc.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    status = status_of(error)
    assert status is not None and any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    assert sku in (error.details() or "")
    assert time.monotonic() - started < 3
    placed = await orders.ListOrders(
        opb.ListOrdersRequest(channel_id=channel.id, external_order_id=external_id), metadata=world.admin
    )
    assert list(placed.orders) == []

    await orders_listings.release()
    await wait_until_orders_lists(orders, world.admin, channel.id, sku, listing.price)
    order = await import_(world, channel.id, payload)  # the connector's retry of the same payload
    assert [(ln.sku, ln.unit_price.amount_minor) for ln in order.lines] == [(sku, 8000)]
    assert (await import_(world, channel.id, payload)).id == order.id


async def test_a_price_above_channels_listing_is_still_refused_on_the_payload_at_once(
    world, orders, orders_listings
) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    await orders_listings.hold(120)
    await world.listing(channel.id, sku, price=8000)
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await import_(world, channel.id, generic(world.name("E"), f"C-{sku}", "99.00"))  # the old price
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(exc.value) == ["payload.lines[0].unit_price"]
    assert time.monotonic() - started < WAIT  # refused at once, not after waiting for orders


async def test_a_re_import_of_an_order_placed_before_the_change_is_answered_without_waiting(
    world, orders, orders_listings
) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    payload = generic(world.name("E"), f"C-{sku}", "70.00")  # below the listing: a discount of 29.00
    order = await import_(world, channel.id, payload)
    await orders_listings.hold(120)
    await world.listing(channel.id, sku, price=8000)  # the payload now maps to 80.00 less 10.00
    started = time.monotonic()
    again = await import_(world, channel.id, payload)
    assert again.id == order.id
    assert time.monotonic() - started < WAIT


# A listing orders has not heard of yet (new, or switched back on) is refused by orders on `lines[i].sku`, which
# a malformed or repeated SKU is too: orders names the cause (ErrorInfo LISTING_TERMS), so the import waits for
# it instead of losing the sale as bad input.


async def stocked(world: Any) -> str:
    sku = world.name("SKU")
    await world.stock(await world.location("WH"), **{sku: 50})
    return sku


async def wait_until_orders_lists_inactive(world: Any, orders: Any, channel_id: str, sku: str) -> None:
    """Poll orders until its copy of the listing is switched off. The probe is a fen off the price: refused on
    its price while orders still lists it active, on its SKU ("inactive") after; never placed."""
    probe = opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=f"probe-inactive-{sku}",
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=common_pb2.Money(currency="CNY", amount_minor=9901))],
        fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="probe"),
    )

    async def refusal() -> str:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await orders.PlaceOrder(probe, metadata=world.admin)
        return exc.value.details() or ""

    await world.eventually(refusal, lambda details: "inactive" in details)


async def test_an_import_of_a_listing_just_created_waits_for_orders(world, orders, orders_listings) -> None:  # type: ignore[no-untyped-def]
    channel, _ = await listed(world, orders)
    sku = await stocked(world)
    await orders_listings.hold(1.5)  # orders hears of the new listing within the import's wait
    await world.listing(channel.id, sku, price=8000)
    order = await import_(world, channel.id, generic(world.name("E"), f"C-{sku}", "80.00"))
    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [(ln.sku, ln.unit_price.amount_minor) for ln in order.lines] == [(sku, 8000)]


async def test_while_orders_has_not_heard_of_a_new_listing_the_import_is_unavailable_then_succeeds(
    world, orders, orders_listings
) -> None:  # type: ignore[no-untyped-def]
    channel, _ = await listed(world, orders)
    sku = await stocked(world)
    await orders_listings.hold(120)
    listing = await world.listing(channel.id, sku, price=8000)
    external_id = world.name("E")
    payload = generic(external_id, f"C-{sku}", "80.00")
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await import_(world, channel.id, payload, timeout=3)
    error = exc.value
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    status = status_of(error)
    assert status is not None and any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
    assert sku in (error.details() or "")
    assert time.monotonic() - started < 3
    placed = await orders.ListOrders(
        opb.ListOrdersRequest(channel_id=channel.id, external_order_id=external_id), metadata=world.admin
    )
    assert list(placed.orders) == []

    await orders_listings.release()
    await wait_until_orders_lists(orders, world.admin, channel.id, sku, listing.price)
    order = await import_(world, channel.id, payload)
    assert [(ln.sku, ln.unit_price.amount_minor) for ln in order.lines] == [(sku, 8000)]


async def test_an_import_of_a_listing_just_switched_back_on_waits_for_orders(world, orders, orders_listings) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    await world.listing(channel.id, sku, active=False)
    await wait_until_orders_lists_inactive(world, orders, channel.id, sku)
    await orders_listings.hold(1.5)
    await world.listing(channel.id, sku)
    order = await import_(world, channel.id, generic(world.name("E"), f"C-{sku}", "99.00"))
    assert order.status == opb.ORDER_STATUS_RESERVED
    assert [(ln.sku, ln.unit_price.amount_minor) for ln in order.lines] == [(sku, 9900)]


async def test_a_listing_switched_off_on_channels_is_still_refused_on_the_payload_at_once(
    world, orders, orders_listings
) -> None:  # type: ignore[no-untyped-def]
    channel, sku = await listed(world, orders)
    await orders_listings.hold(120)
    await world.listing(channel.id, sku, active=False)  # orders still lists it active
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await import_(world, channel.id, generic(world.name("E"), f"C-{sku}", "99.00"))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(exc.value) == ["payload.lines[0].channel_sku"]
    assert time.monotonic() - started < WAIT
