"""Register a sales channel with inventory (and orders) without running the channels service.

Inventory learns which part of the pool a channel may sell, and orders whose sale an order on it is, from
`channels.channel.created` / `.updated` events on the CHANNELS stream. These helpers publish such an event
exactly as the channels service would (protobuf payload, `Nats-Msg-Id` = a fresh event id) and wait until
inventory knows the channel (its GetAvailability stops answering NOT_FOUND for it), and orders too when given
(its ListOrders by channel stops answering NOT_FOUND), so a test can place orders through it right away.

    channel_id = await register_channel(stack.nats_url, stack.stub("inventory"), admin,
                                        location_ids=[warehouse, shop])
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any

import grpc
import nats
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import events_pb2 as cev
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.messaging import STREAMS, ensure_stream
from onepool_runtime.outbox import MSG_ID_HEADER
from onepool_runtime.testing.services import field_violations

CHANNELS_STREAM = STREAMS["channels"]
WAIT_SECONDS = 15.0  # an upper bound for set-up, not a performance assertion


def channel(
    channel_id: str = "",
    *,
    type_: int = cpb.CHANNEL_TYPE_ONLINE_STORE,
    location_ids: Sequence[str] = (),
    location_types: Sequence[int] = (),
    owner_dealer_id: str = "",
    max_share_bps: int = 0,
    buffer_units: int = 0,
    active: bool = True,
    version: int = 1,
    fee_rate_bps: int = 0,
    currency: str = "CNY",
    catalogue: int = cpb.CATALOGUE_POOL,
    own_stock: int = cpb.OWN_STOCK_RULE_UNSPECIFIED,
    presale: cpb.PresaleTerms | None = None,
) -> cpb.Channel:
    """A Channel message as the channels service would publish it (both location lists empty = every location).

    Its catalogue is the whole pool unless asked otherwise: tests built on these helpers place orders for
    stocked SKUs without listing them; the tests of a channel's terms ask for CATALOGUE_LISTINGS."""
    channel_id = channel_id or f"CH-{uuid.uuid4().hex[:10]}"
    return cpb.Channel(
        id=channel_id,
        code=channel_id.lower(),
        name=channel_id,
        type=type_,
        owner_dealer_id=owner_dealer_id,
        fee_rate_bps=fee_rate_bps,
        currency=currency,
        allocation=cpb.AllocationPolicy(
            location_ids=list(location_ids),
            location_types=list(location_types),
            max_share_bps=max_share_bps,
            buffer_units=buffer_units,
            own_stock=own_stock,
        ),
        status=cpb.CHANNEL_STATUS_ACTIVE if active else cpb.CHANNEL_STATUS_PAUSED,
        version=version,
        catalogue=catalogue,
        presale=presale,
    )


async def publish_channel(nats_url: str, message: cpb.Channel, *, updated: bool = False) -> str:
    """Publish channels.channel.created (or .updated) for this channel; returns the event id."""
    event_id = str(uuid.uuid4())
    event = (cev.ChannelUpdated if updated else cev.ChannelCreated)(channel=message)
    event.meta.event_id = event_id
    event.meta.source = "channels"
    event.meta.type = event.DESCRIPTOR.full_name
    event.meta.occurred_at.GetCurrentTime()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, CHANNELS_STREAM, ["channels.>"])
        subject = "channels.channel.updated" if updated else "channels.channel.created"
        await js.publish(subject, event.SerializeToString(), headers={MSG_ID_HEADER: event_id})
    finally:
        await nc.close()
    return event_id


async def wait_until_inventory_knows(
    inventory: Any, metadata: Any, channel_id: str, *, within: float = WAIT_SECONDS
) -> None:
    """Poll inventory until it answers for this channel (it has applied the channel's policy)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await inventory.GetAvailability(
                ipb.GetAvailabilityRequest(skus=["PROBE"], channel_id=channel_id), metadata=metadata
            )
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)


async def wait_until_orders_knows(orders: Any, metadata: Any, channel_id: str, *, within: float = WAIT_SECONDS) -> None:
    """Poll orders until it answers for this channel (it has recorded whose sales the channel's orders are)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id, page_size=1), metadata=metadata)
            return
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)


async def register_channel(
    nats_url: str, inventory: Any, metadata: Any, channel_id: str = "", *, orders: Any = None, **policy: Any
) -> str:
    """Create a channel in inventory's view, and orders' when `orders` is given (see `channel` for the policy
    keywords); returns its id."""
    message = channel(channel_id, **policy)
    await publish_channel(nats_url, message)
    await wait_until_inventory_knows(inventory, metadata, message.id)
    if orders is not None:
        await wait_until_orders_knows(orders, metadata, message.id)
    return message.id


async def wait_until_orders_lists(
    orders: Any, metadata: Any, channel_id: str, sku: str, price: Any, *, within: float = WAIT_SECONDS
) -> None:
    """Poll orders until its copy of the channel's listings has `sku` at `price` (a common.v1.Money).

    Orders learns listings from `channels.listing.upserted`, a moment after UpsertListing answers. The probe
    is a PlaceOrder one minor unit off the price: refused on its price once the listing has arrived, on its
    SKU before; either way nothing is placed."""
    probe = opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=f"probe-listing-{sku}",
        customer=opb.Customer(phone="13800000000"),
        lines=[
            opb.OrderLine(
                sku=sku,
                quantity=1,
                unit_price=common_pb2.Money(currency=price.currency, amount_minor=price.amount_minor + 1),
            )
        ],
        fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="probe"),
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            await orders.PlaceOrder(probe, metadata=metadata)
            raise AssertionError(f"the listing probe for {sku} was placed; it must be refused")
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            if "lines[0].unit_price.amount_minor" in field_violations(exc):
                return
            if loop.time() > deadline:
                raise
        await asyncio.sleep(0.05)
