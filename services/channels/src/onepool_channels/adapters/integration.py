"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place the channels service's domain objects are turned into its published contract: an event
that records one aggregate is published under its own name with that aggregate (`onepool_runtime.translation`)."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.channels.v1 import events_pb2 as ev
from onepool_runtime.translation import Translator, carrying

from onepool_channels.adapters import mappers
from onepool_channels.domain import events as de


def _rest(event: object) -> Iterable[Message]:
    """Channels' own events are published as ChannelCreated/ChannelUpdated (the contract's names); the stock
    snapshot says more than its aggregate."""
    match event:
        case de.ChannelRegistered(channel=channel):
            yield ev.ChannelCreated(channel=mappers.channel_to_proto(channel))
        case de.ChannelChanged(channel=channel):
            yield ev.ChannelUpdated(channel=mappers.channel_to_proto(channel))
        case de.ChannelStockChanged(stock=s, previous_sellable=previous, previous_presale_sellable=previous_presale):
            yield ev.ChannelStockUpdated(
                channel_id=s.channel_id,
                sku=s.sku,
                channel_sku=s.channel_sku,
                sellable=s.sellable,
                previous_sellable=previous,
                version=s.version,
                rules=mappers.rules_to_proto(s.rules),
                presale_sellable=s.rules.presale_sellable,
                previous_presale_sellable=previous_presale,
                allow_backorder=s.rules.allow_backorder,
            )
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")


translate = Translator(ev, carrying(mappers.listing_to_proto, de.ListingUpserted), rest=_rest)
