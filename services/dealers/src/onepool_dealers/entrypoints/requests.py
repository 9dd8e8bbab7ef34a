"""Proto requests -> validated commands. Every violation is reported with its field path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool_kernel.money import Money
from onepool_runtime.errors import Violations
from onepool_runtime.idempotency import fingerprint
from onepool_runtime.locations import check_location, location_as
from onepool_runtime.protobuf import from_ts
from onepool_runtime.validation import (
    check_id,
    check_lines,
    check_money,
    check_request_id,
    check_sku,
    check_text,
    decode_page_token,
    page_after_int,
)

from onepool_dealers.adapters.mappers import (
    REPLENISHMENT_STATUSES_BACK,
    STATUSES_BACK,
    TIERS_BACK,
)
from onepool_dealers.domain import commands
from onepool_dealers.domain.model import (
    DealerStatus,
    DealerTier,
    Location,
    LocationType,
    ReplenishmentStatus,
    StockLine,
)

MAX_MONEY_MINOR = 10**15  # a trillion yuan in fen: far beyond any credit line, far below int64
UPDATABLE = ("name", "tier", "credit_limit", "region", "status")


def _money(v: Violations, path: str, value: common_pb2.Money, *, required: bool = True) -> Money:
    check_money(v, path, value, max_minor=MAX_MONEY_MINOR)
    return Money(value.currency, value.amount_minor)


def _tier(v: Violations, path: str, value: int) -> DealerTier:
    if value not in TIERS_BACK:
        v.add(path, "must be STANDARD, SILVER or GOLD")
        return DealerTier.STANDARD
    return TIERS_BACK[value]


def _status(v: Violations, path: str, value: int) -> DealerStatus:
    if value not in STATUSES_BACK:
        v.add(path, "must be ACTIVE or SUSPENDED")
        return DealerStatus.ACTIVE
    return STATUSES_BACK[value]


def register_dealer(req: pb.RegisterDealerRequest) -> commands.RegisterDealer:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_text(v, "name", req.name, max_len=200, required=True)
    # Unset on register means STANDARD, as the contract says (on update, an unset tier is simply not changed).
    tier = DealerTier.STANDARD if req.tier == pb.DEALER_TIER_UNSPECIFIED else _tier(v, "tier", req.tier)
    limit = _money(v, "credit_limit", req.credit_limit)
    check_text(v, "region", req.region, max_len=64)
    v.raise_if_any()
    return commands.RegisterDealer(
        request_id=req.request_id,
        fingerprint=fingerprint(req),
        name=req.name.strip(),
        tier=tier,
        credit_limit=limit,
        region=req.region,
    )


def update_dealer(req: pb.UpdateDealerRequest) -> commands.UpdateDealer:
    v = Violations()
    d = req.dealer
    check_id(v, "dealer.id", d.id)
    paths = list(req.update_mask.paths) or list(UPDATABLE)
    for i, path in enumerate(req.update_mask.paths):
        if path not in UPDATABLE:
            v.add(f"update_mask.paths[{i}]", f"must be one of {', '.join(UPDATABLE)}")
    changes: dict[str, object] = {}
    if "name" in paths:
        check_text(v, "dealer.name", d.name, max_len=200, required=True)
        changes["name"] = d.name.strip()
    if "tier" in paths:
        changes["tier"] = _tier(v, "dealer.tier", d.tier)
    if "credit_limit" in paths:
        changes["credit_limit"] = _money(v, "dealer.credit_limit", d.credit_limit)
    if "region" in paths:
        check_text(v, "dealer.region", d.region, max_len=64)
        changes["region"] = d.region
    if "status" in paths:
        changes["status"] = _status(v, "dealer.status", d.status)
    v.raise_if_any()
    return commands.UpdateDealer(dealer_id=d.id, **changes)  # type: ignore[arg-type]


def add_dealer_location(req: pb.AddDealerLocationRequest) -> commands.AddDealerLocation:
    v = Violations()
    check_id(v, "dealer_id", req.dealer_id)
    loc = req.location
    check_location(v, "location", loc, [t for t in LocationType if t.is_dealer])
    if loc.owner_dealer_id and loc.owner_dealer_id != req.dealer_id:
        v.add("location.owner_dealer_id", "must be empty or equal dealer_id")
    v.raise_if_any()
    location = location_as(Location, loc, name=loc.name.strip(), owner_dealer_id=req.dealer_id)
    return commands.AddDealerLocation(dealer_id=req.dealer_id, location=location)


def set_wholesale_price(req: pb.SetWholesalePriceRequest) -> commands.SetWholesalePrice:
    v = Violations()
    check_sku(v, "sku", req.sku)
    price = _money(v, "list_price", req.list_price)
    if req.list_price.amount_minor == 0:  # a price of 0 would let every tier replenish the SKU free, on no credit
        v.add("list_price", "must be positive")
    v.raise_if_any()
    return commands.SetWholesalePrice(req.sku, price)


def place_replenishment(req: pb.PlaceReplenishmentRequest) -> commands.PlaceReplenishment:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "dealer_id", req.dealer_id)
    check_id(v, "from_location_id", req.from_location_id)
    check_id(v, "to_location_id", req.to_location_id)
    if req.from_location_id and req.from_location_id == req.to_location_id:
        v.add("to_location_id", "must differ from from_location_id")
    check_lines(v, "lines", req.lines)
    v.raise_if_any()
    return commands.PlaceReplenishment(
        dealer_id=req.dealer_id,
        from_location_id=req.from_location_id,
        to_location_id=req.to_location_id,
        lines=tuple(StockLine(ln.sku, ln.quantity) for ln in req.lines),
    )


def reject_reason(value: str) -> str:
    v = Violations()
    check_text(v, "reason", value, max_len=500)
    v.raise_if_any()
    return value


def dealer_status_filter(v: Violations, value: int) -> DealerStatus | None:
    if value == pb.DEALER_STATUS_UNSPECIFIED:
        return None
    return _status(v, "status", value)


def replenishment_status_filter(v: Violations, value: int) -> ReplenishmentStatus | None:
    if value == pb.REPLENISHMENT_STATUS_UNSPECIFIED:
        return None
    if value not in REPLENISHMENT_STATUSES_BACK:
        v.add("status", "is not a known replenishment status")
        return None
    return REPLENISHMENT_STATUSES_BACK[value]


def replenishments_before(token: str) -> int:
    """Where a ListReplenishments page starts: below the sequence number the token carries (0: the newest).
    Newest first, a page ends at the oldest it sent ("before"); a token of the oldest-first order this list once
    had carries "after" instead, and starts again from the newest rather than read the wrong way. Anything else
    was never issued by this list (another list's token, a forged {"x": 1}): INVALID_ARGUMENT page_token."""
    if "before" not in (decode_page_token(token) or {}):
        page_after_int(token)  # the old order's own token, or refused
        return 0
    return page_after_int(token, key="before")


def _time(v: Violations, path: str, value: Timestamp) -> datetime | None:
    try:
        return from_ts(value)
    except (ValueError, OverflowError):
        v.add(path, "is not a valid timestamp")
        return None


def overview(req: pb.GetDealerOverviewRequest, default_days: int) -> commands.GetDealerOverview:
    """The period defaults to the `default_days` ending now; with only one end given, the other is
    `default_days` away from it (or now)."""
    v = Violations()
    check_id(v, "dealer_id", req.dealer_id)
    end = _time(v, "period_end", req.period_end) if req.HasField("period_end") else datetime.now(UTC)
    start = _time(v, "period_start", req.period_start) if req.HasField("period_start") else None
    if start is None and end is not None and not req.HasField("period_start"):
        start = end - timedelta(days=default_days)
    if start is not None and end is not None and start >= end:
        if req.HasField("period_end"):
            v.add("period_end", "must be after period_start")
        else:  # the caller sent only the start: name it, not the end it never sent
            v.add("period_start", "must be in the past when period_end is not given (it defaults to now)")
    v.raise_if_any()
    assert start is not None and end is not None
    return commands.GetDealerOverview(req.dealer_id, start, end)
