"""Channels domain events: plain dataclasses, past tense, recorded by aggregates."""

from __future__ import annotations

from dataclasses import dataclass

from onepool_channels.domain.model import Channel, ChannelStock, Listing


@dataclass(frozen=True)
class ChannelRegistered:
    channel: Channel


@dataclass(frozen=True)
class ChannelChanged:
    channel: Channel
    # The allocation policy or the status changed: every listing's sellable number must be recomputed.
    sells_differently: bool


@dataclass(frozen=True)
class ListingUpserted:
    listing: Listing


@dataclass(frozen=True)
class ChannelStockChanged:
    """The sellable number a channel sees for one listing changed (a snapshot taken when it changed)."""

    stock: ChannelStock
    previous_sellable: int
    previous_presale_sellable: int = 0
