"""Consumer handlers: the channels service's channels become orders' copy (whose sale an order on one is)."""

from __future__ import annotations

from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events

from onepool_orders.domain.channels import SalesChannel
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork


def sales_channel(channel: channels_pb2.Channel) -> SalesChannel:
    type_ = channels_pb2.ChannelType.Name(channel.type).removeprefix("CHANNEL_TYPE_")
    return SalesChannel(channel.id, type_, channel.owner_dealer_id, channel.version)


async def on_channel_event(
    event: channel_events.ChannelCreated | channel_events.ChannelUpdated, uow: OrdersUnitOfWork
) -> None:
    await handlers.apply_channel(uow, sales_channel(event.channel))
