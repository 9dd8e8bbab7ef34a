"""Sales channels and their rules: allocation policy, fees, listings and the sellable quantity each sees.

A channel sells from the one pool under its three rules (docs/channel-rules.md). The sellable quantity of a
listing is the same number inventory computes for the channel (GetAvailability with channel_id): the shared
units of the SKU in the locations the policy allows, cut to the channel's exposure ratio, minus its buffer;
plus the channel's own dedicated units there; never more than its listing's sales cap has left.
`AllocationPolicy` and inventory's `ChannelPolicy` are both the kernel's `PoolShare` (which locations, what
share): a connector must never be told it may sell more than inventory will reserve for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from onepool_kernel.errors import FieldViolation, InvalidArgument
from onepool_kernel.intake import Catalogue
from onepool_kernel.locations import LocationType
from onepool_kernel.money import Money
from onepool_kernel.presale import PresaleTerms
from onepool_kernel.stock import (
    FULL_SHARE_BPS,
    MAX_HOLD_SECONDS,
    PoolShare,
    capped,
    channel_sellable,
    presale_sellable,
)

# China's 7-day no-reason return rule: what a channel allows unless it says otherwise.
DEFAULT_RETURN_WINDOW_DAYS = 7
MAX_RETURN_WINDOW_DAYS = 365
# How long an imported unpaid order holds its stock (orders' reservation TTL): marketplaces give their buyers
# hours to pay (Taobao/Tmall commonly 24 h), and an order orders expired first would refuse the marketplace's
# "paid" message for ever. At most what orders and inventory hold a reservation for (the kernel's bound); at
# least a minute, so an import's own steps never race its expiry.
DEFAULT_IMPORT_PAYMENT_TTL_SECONDS = 24 * 3600
MIN_IMPORT_PAYMENT_TTL_SECONDS = 60
MAX_IMPORT_PAYMENT_TTL_SECONDS = MAX_HOLD_SECONDS


IMPORT_TTL_RANGE = (
    f"must be between {MIN_IMPORT_PAYMENT_TTL_SECONDS} and {MAX_IMPORT_PAYMENT_TTL_SECONDS} seconds "
    f"(default {DEFAULT_IMPORT_PAYMENT_TTL_SECONDS})"
)


def _import_ttl_ok(seconds: int) -> bool:
    return MIN_IMPORT_PAYMENT_TTL_SECONDS <= seconds <= MAX_IMPORT_PAYMENT_TTL_SECONDS


class ChannelType(StrEnum):
    ONLINE_STORE = "ONLINE_STORE"
    MARKETPLACE = "MARKETPLACE"
    SOCIAL_COMMERCE = "SOCIAL_COMMERCE"
    PHYSICAL_STORE = "PHYSICAL_STORE"
    DEALER = "DEALER"


class OwnStockRule(StrEnum):
    """How a dealer channel's orders use the dealer's own locations before the brand's (inventory sources)."""

    WHOLE_ORDER = "WHOLE_ORDER"  # own locations only if they fill the whole order (the default)
    FILL_FIRST = "FILL_FIRST"  # split orders take what own locations hold first, the rest from the brand


class ChannelStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


@dataclass(frozen=True)
class LocationInfo:
    """What the channel view needs to know about a location (a copy of inventory's, fed by its events)."""

    id: str
    type: LocationType
    owner_dealer_id: str = ""
    active: bool = True
    # Ships parcels: only such a location's units are told to the channel (every imported order ships).
    ships: bool = True
    # inventory.v1.Location.version: the copy keeps the highest (0: an event from before locations had one, or
    # only a stock event's hint).
    version: int = 0


@dataclass(frozen=True)
class StockPosition:
    """Available units of one SKU at one location (on_hand - reserved - safety_stock, never below zero)."""

    sku: str
    location: LocationInfo
    available: int


@dataclass(frozen=True)
class AllocationPolicy(PoolShare):
    """Which part of the pool a channel may sell.

    Locations: the union of `location_ids` and `location_types`; both empty means every location. A
    disabled location sells nothing. Share: at most `max_share_bps` of the available units (0 or 10000 means
    all), rounded down. Buffer: `buffer_units` per SKU held back after the share is taken.
    """

    location_ids: frozenset[str] = frozenset()
    location_types: frozenset[LocationType] = frozenset()
    max_share_bps: int = 0
    buffer_units: int = 0
    own_stock: OwnStockRule = OwnStockRule.WHOLE_ORDER

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.max_share_bps <= FULL_SHARE_BPS:
            problems.append(FieldViolation("allocation.max_share_bps", "must be between 0 and 10000"))
        if self.buffer_units < 0:
            problems.append(FieldViolation("allocation.buffer_units", "must not be negative"))
        if problems:
            raise InvalidArgument(problems)


@dataclass
class Channel:
    id: str
    code: str
    name: str
    type: ChannelType
    allocation: AllocationPolicy
    owner_dealer_id: str = ""
    fee_rate_bps: int = 0
    status: ChannelStatus = ChannelStatus.ACTIVE
    currency: str = "CNY"
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # Increases with every change; inventory keeps the highest version it has seen.
    version: int = 1
    catalogue: Catalogue = Catalogue.LISTINGS
    presale: PresaleTerms = field(default_factory=PresaleTerms)
    # Days an order may be returned after its last goods left (orders fixes each order's deadline from it).
    return_window_days: int = DEFAULT_RETURN_WINDOW_DAYS
    # How long an imported unpaid order holds its stock (see DEFAULT_IMPORT_PAYMENT_TTL_SECONDS).
    import_payment_ttl_seconds: int = DEFAULT_IMPORT_PAYMENT_TTL_SECONDS
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.fee_rate_bps <= FULL_SHARE_BPS:
            problems.append(FieldViolation("fee_rate_bps", "must be between 0 and 10000"))
        if not 0 <= self.return_window_days <= MAX_RETURN_WINDOW_DAYS:
            problems.append(FieldViolation("return_window_days", f"must be between 0 and {MAX_RETURN_WINDOW_DAYS}"))
        if not _import_ttl_ok(self.import_payment_ttl_seconds):
            problems.append(FieldViolation("import_payment_ttl_seconds", IMPORT_TTL_RANGE))
        if self.type is ChannelType.DEALER and not self.owner_dealer_id:
            problems.append(FieldViolation("owner_dealer_id", "is required for DEALER channels"))
        if self.type is not ChannelType.DEALER and self.owner_dealer_id:
            problems.append(FieldViolation("owner_dealer_id", "must be empty unless the channel type is DEALER"))
        if problems:
            raise InvalidArgument(problems)

    @classmethod
    def register(cls, **fields: Any) -> Channel:
        from onepool_channels.domain.events import ChannelRegistered

        channel = cls(**fields, version=1)
        channel.events.append(ChannelRegistered(channel))
        return channel

    @property
    def selling(self) -> bool:
        return self.status is ChannelStatus.ACTIVE

    def apply(self, now: datetime, changes: dict[str, object]) -> bool:
        """Apply what `changes` found; returns whether anything changed (only then is a new version published)."""
        from onepool_channels.domain.events import ChannelChanged

        if not changes:
            return False
        sells_differently = bool({"allocation", "status"} & changes.keys())
        for key, value in changes.items():
            setattr(self, key, value)
        self.version += 1
        self.updated_at = now
        self.events.append(ChannelChanged(self, sells_differently))
        return True

    def changes(
        self,
        *,
        name: str | None = None,
        fee_rate_bps: int | None = None,
        allocation: AllocationPolicy | None = None,
        status: ChannelStatus | None = None,
        catalogue: Catalogue | None = None,
        presale: PresaleTerms | None = None,
        return_window_days: int | None = None,
        import_payment_ttl_seconds: int | None = None,
    ) -> dict[str, object]:
        """What would change (None leaves a field as it is); empty when the channel is already as asked."""
        if fee_rate_bps is not None and not 0 <= fee_rate_bps <= FULL_SHARE_BPS:
            raise InvalidArgument("channel.fee_rate_bps", "must be between 0 and 10000")
        if return_window_days is not None and not 0 <= return_window_days <= MAX_RETURN_WINDOW_DAYS:
            raise InvalidArgument("channel.return_window_days", f"must be between 0 and {MAX_RETURN_WINDOW_DAYS}")
        if import_payment_ttl_seconds is not None and not _import_ttl_ok(import_payment_ttl_seconds):
            raise InvalidArgument("channel.import_payment_ttl_seconds", IMPORT_TTL_RANGE)
        wanted: dict[str, object] = {
            "name": name,
            "fee_rate_bps": fee_rate_bps,
            "allocation": allocation,
            "status": status,
            "catalogue": catalogue,
            "presale": presale,
            "return_window_days": return_window_days,
            "import_payment_ttl_seconds": import_payment_ttl_seconds,
        }
        return {k: v for k, v in wanted.items() if v is not None and getattr(self, k) != v}

    def import_hold_seconds(self, pay_by: datetime | None, at: datetime, *, paid: bool) -> int:
        """The payment TTL of an order imported at `at`: the channel's term, or less when the marketplace's own
        payment deadline (`pay_by`) comes sooner, since the marketplace closes the order then; never under the
        minimum. A paid payload is paid right after it is placed: its deadline no longer matters."""
        ttl = self.import_payment_ttl_seconds
        if pay_by is not None and not paid:
            ttl = min(ttl, max(MIN_IMPORT_PAYMENT_TTL_SECONDS, int((pay_by - at).total_seconds())))
        return ttl

    def announce(self) -> None:
        """Publish the channel as it is, unchanged (same version): a consumer whose copy of the channels is
        missing one (its stream no longer holds the channel's events) learns it; the others keep theirs."""
        from onepool_channels.domain.events import ChannelChanged

        self.events.append(ChannelChanged(self, sells_differently=False))

    def sellable(
        self,
        listing: Listing | None,
        positions: Iterable[StockPosition],
        dedicated: Iterable[StockPosition] = (),
        counted: int = 0,
    ) -> int:
        """What this channel may sell of one SKU right now: nothing if paused or not (actively) listed."""
        return self.rules(listing, positions, dedicated, counted)[0]

    def rules(
        self,
        listing: Listing | None,
        positions: Iterable[StockPosition],
        dedicated: Iterable[StockPosition] = (),
        counted: int = 0,
        *,
        expected: Iterable[StockPosition] = (),
        presale_counted: int = 0,
    ) -> tuple[int, RuleNumbers]:
        """(sellable, its breakdown): `positions` are the shared units per location, `dedicated` this
        channel's own dedicated units per location, `counted` what its sales cap counts already; `expected`
        the unpromised units of open expected receipts per location and `presale_counted` the channel's units
        waiting under the listing's presale allowance (the presale numbers, shown apart from sellable)."""
        cap = listing.sales_cap_units if listing is not None else 0
        if listing is None or not listing.active or not self.selling:
            return 0, RuleNumbers(0, 0, cap, counted)
        # Only locations that ship count: a SHIP order (every imported one) is sourced from nowhere else, and
        # inventory's channel view counts the same ones (docs/channel-rules.md).
        exposed = self.allocation.sellable(sum(p.available for p in positions if self._tells(p.location)))
        # Each location's count fits an int32; their sums are capped so the reply and the event can carry them.
        own = capped(sum(d.available for d in dedicated if self._tells(d.location)))
        sellable = channel_sellable(exposed, own, cap, counted)
        rules = RuleNumbers(exposed, own, cap, counted, allow_backorder=listing.allow_backorder)
        if listing.presale_units > 0:
            coming = capped(sum(e.available for e in expected if self.allocation.allows(e.location)))
            rules = replace(
                rules,
                presale_units=listing.presale_units,
                presale_counted=presale_counted,
                expected=coming,
                presale_sellable=presale_sellable(
                    listing.presale_units - presale_counted, coming, cap, counted, sellable
                ),
            )
        return sellable, rules

    def _tells(self, location: LocationInfo) -> bool:
        return location.ships and self.allocation.allows(location)


@dataclass(frozen=True)
class RuleNumbers:
    """How a listing's sellable number was reached: exposed (the exposure ratio and buffer over the shared
    pool) + dedicated (the channel's own units), within the sales cap (0 = none) less what it counts."""

    exposed: int = 0
    dedicated: int = 0
    sales_cap_units: int = 0
    sales_counted: int = 0
    # Presale (docs/presale.md), apart from sellable: the listing's allowance, the channel's units waiting under
    # it, the unpromised expected units in the channel's locations, and what may still be presold; and whether
    # the listing allows backorder.
    presale_units: int = 0
    presale_counted: int = 0
    expected: int = 0
    presale_sellable: int = 0
    allow_backorder: bool = False


@dataclass
class Listing:
    """A SKU offered on a channel under the channel's own SKU code, at the channel's price."""

    channel_id: str
    sku: str
    channel_sku: str
    price: Money
    active: bool = True
    updated_at: datetime | None = None
    # At most this many units held and sold by the channel (0 = no cap); inventory enforces it.
    sales_cap_units: int = 0
    # Presale: at most this many units beyond on hand may wait for expected receipts (0 = none); backorder:
    # units may wait without a receipt. Inventory enforces both (docs/presale.md).
    presale_units: int = 0
    allow_backorder: bool = False
    # Increases with every upsert (set by the repository); orders keeps the highest it has seen.
    version: int = 0
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def upsert(self) -> Listing:
        from onepool_channels.domain.events import ListingUpserted

        self.events.append(ListingUpserted(self))
        return self

    def announce(self) -> None:
        """Publish the listing as it is (same version), like Channel.announce: orders' copy of the listings
        (what it checks orders against) catches up after the stream dropped the listing's events."""
        from onepool_channels.domain.events import ListingUpserted

        self.events.append(ListingUpserted(self))


@dataclass
class ChannelStock:
    """The last sellable number published for a (channel, sku), so only real changes are published."""

    channel_id: str
    sku: str
    channel_sku: str
    sellable: int
    version: int = 0
    rules: RuleNumbers = field(default_factory=lambda: RuleNumbers())
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def unpublished(cls, channel_id: str, sku: str) -> ChannelStock:
        return cls(channel_id, sku, channel_sku="", sellable=0, version=0)

    def update(self, sellable: int, channel_sku: str, rules: RuleNumbers | None = None) -> bool:
        """Record a new number; returns False (and publishes nothing) when the channel would see no change.
        The first number of a listing is always published: the connector does not know it yet."""
        from onepool_channels.domain.events import ChannelStockChanged

        rules = rules or self.rules
        if self.version > 0 and (sellable, channel_sku, rules) == (self.sellable, self.channel_sku, self.rules):
            return False
        previous, previous_presale = self.sellable, self.rules.presale_sellable
        self.sellable, self.channel_sku, self.rules = sellable, channel_sku, rules
        self.version += 1
        self.events.append(ChannelStockChanged(replace(self, events=[]), previous, previous_presale))
        return True
