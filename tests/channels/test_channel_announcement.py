"""Every channel is announced again when the channels service starts, so a service that keeps a copy of the
channels and joined after the CHANNELS stream dropped a channel's events (its max age is 7 days) still learns
it. Here: orders starts after the stream was purged, knows nothing, and learns the channel and its owner once
channels restarts; and the listings too, which orders checks orders against (issue 12 item 2)."""

from __future__ import annotations

import grpc
import nats
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations, metadata

from tests.support.channels import CHANNELS_STREAM, wait_until_orders_knows
from tests.support.orders import cny, eventually, ship_to, uid


async def _stream_messages(nats_url: str, purge: bool = False) -> int:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        if purge:
            await js.purge_stream(CHANNELS_STREAM)
        return int((await js.stream_info(CHANNELS_STREAM)).state.messages)
    finally:
        await nc.close()


async def test_a_service_that_missed_a_channels_events_learns_it_when_channels_restarts(stack, admin) -> None:  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels")
    dealer = uid("DLR")
    channel = (
        await stack.stub("channels").CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("dealer"), name="d", type=cpb.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer, request_id=uid("r")
            ),
            metadata=admin,
        )
    ).channel
    market = (
        await stack.stub("channels").CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("market"), name="m", type=cpb.CHANNEL_TYPE_MARKETPLACE, request_id=uid("r")
            ),
            metadata=admin,
        )
    ).channel
    await stack.stub("channels").UpsertListing(
        cpb.UpsertListingRequest(channel_id=market.id, sku="SKU-L", channel_sku="M-L", price=cny(700), active=True),
        metadata=admin,
    )
    await eventually(lambda: _stream_messages(stack.nats_url), lambda n: n >= 3)  # relayed, then lost:
    assert await _stream_messages(stack.nats_url, purge=True) == 0

    await stack.start("orders")
    orders = stack.stub("orders")
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await orders.ListOrders(opb.ListOrdersRequest(channel_id=channel.id), metadata=admin)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

    await stack.stop("channels")
    await stack.start("channels")

    await wait_until_orders_knows(orders, admin, channel.id)
    # Orders knows whose channel it is: another dealer's token is refused, not told the channel is unknown.
    request = opb.PlaceOrderRequest(
        channel_id=channel.id,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku="SKU-1", quantity=1, unit_price=cny(100))],
        fulfillment=ship_to(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await orders.PlaceOrder(request, metadata=metadata("dealer", dealer_id=uid("OTHER")))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # Orders knows the listing: an order one fen off its price is refused on the price, not as unlisted.
    async def refusal() -> list[str]:
        off = opb.PlaceOrderRequest()
        off.CopyFrom(request)
        off.channel_id = market.id
        off.lines[0].sku, off.lines[0].unit_price.amount_minor = "SKU-L", 701
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await orders.PlaceOrder(off, metadata=admin)
        return field_violations(exc.value)

    await wait_until_orders_knows(orders, admin, market.id)
    assert await eventually(refusal, lambda fields: fields != ["lines[0].sku"]) == ["lines[0].unit_price.amount_minor"]
