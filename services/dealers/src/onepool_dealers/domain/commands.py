"""Commands: what callers ask the dealers service to do (imperative names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onepool_kernel.money import Money

from onepool_dealers.domain.model import DealerStatus, DealerTier, Location, StockLine


@dataclass(frozen=True)
class RegisterDealer:
    request_id: str
    # Hash of the whole request: the same request_id with different content is refused.
    fingerprint: str
    name: str
    tier: DealerTier
    credit_limit: Money
    region: str


@dataclass(frozen=True)
class UpdateDealer:
    """Only the fields that are not None change."""

    dealer_id: str
    name: str | None = None
    tier: DealerTier | None = None
    credit_limit: Money | None = None
    region: str | None = None
    status: DealerStatus | None = None


@dataclass(frozen=True)
class AddDealerLocation:
    dealer_id: str
    location: Location


@dataclass(frozen=True)
class SetWholesalePrice:
    sku: str
    list_price: Money


@dataclass(frozen=True)
class PlaceReplenishment:
    dealer_id: str
    from_location_id: str
    to_location_id: str
    lines: tuple[StockLine, ...]


@dataclass(frozen=True)
class GetDealerOverview:
    dealer_id: str
    period_start: datetime
    period_end: datetime
