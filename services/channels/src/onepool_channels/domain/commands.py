"""Commands: what callers ask the channels service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass, field

from onepool_kernel.presale import PresaleTerms

from onepool_channels.domain.model import (
    DEFAULT_IMPORT_PAYMENT_TTL_SECONDS,
    DEFAULT_RETURN_WINDOW_DAYS,
    AllocationPolicy,
    Catalogue,
    ChannelStatus,
    ChannelType,
    Listing,
)


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
    return_window_days: int = DEFAULT_RETURN_WINDOW_DAYS
    import_payment_ttl_seconds: int = DEFAULT_IMPORT_PAYMENT_TTL_SECONDS


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
    return_window_days: int | None = None
    import_payment_ttl_seconds: int | None = None
    # Fields that never change, as a request without a mask sent them (field, value): a read-modify-write sends
    # them back as they are; a different value is refused, not ignored.
    unchanged: tuple[tuple[str, object], ...] = ()
    # Sub-fields of the allocation named in the mask (e.g. "max_share_bps"); they are merged into the
    # stored policy instead of replacing it.
    allocation_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpsertListing:
    """Offer a SKU on a channel (or change its offer): the listing as the caller states it, its channel's code
    and price for it, whether it sells, its sales cap, and how far beyond on hand it may sell (presale
    allowance, backorder; docs/presale.md). The repository numbers its version."""

    listing: Listing


@dataclass(frozen=True)
class ImportOrder:
    """One order exported by a marketplace, in its own format, to be placed with orders."""

    channel_id: str
    format: str
    payload: str
