"""Commands: what callers ask the channels service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field

from onepool_kernel.money import Money

from onepool_channels.domain.model import AllocationPolicy, Catalogue, ChannelStatus, ChannelType, PresaleTerms


@dataclass(frozen=True)
class CreateChannel:
    code: str
    name: str
    type: ChannelType
    owner_dealer_id: str
    fee_rate_bps: int
    allocation: AllocationPolicy
    currency: str
    catalogue: Catalogue = Catalogue.LISTINGS
    presale: PresaleTerms = field(default_factory=PresaleTerms)


@dataclass(frozen=True)
class UpdateChannel:
    """Only the fields that are not None change."""

    channel_id: str
    expected_version: int = 0
    name: str | None = None
    fee_rate_bps: int | None = None
    allocation: AllocationPolicy | None = None
    status: ChannelStatus | None = None
    catalogue: Catalogue | None = None
    presale: PresaleTerms | None = None
    # Sub-fields of the allocation named in the mask (e.g. "max_share_bps"); they are merged into the
    # stored policy instead of replacing it.
    allocation_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpsertListing:
    channel_id: str
    sku: str
    channel_sku: str
    price: Money
    active: bool
    sales_cap_units: int = 0
    presale_units: int = 0
    allow_backorder: bool = False


@dataclass(frozen=True)
class ImportOrder:
    channel_id: str
    format: str
    payload: str
