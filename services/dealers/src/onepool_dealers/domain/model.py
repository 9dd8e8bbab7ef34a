"""Dealers, their credit, the brand's wholesale price list and dealer replenishment orders.

Rules kept here:
- Wholesale pricing: the brand keeps a list price per SKU and currency; a dealer is priced in its credit
  currency only. A tier pays the list price times its factor (basis points), rounded half up to a whole
  minor unit per unit; a line costs unit price x quantity; a replenishment's total is the sum of its lines.
  So every number on a replenishment is exact and the total always equals the sum of what is shown.
- Credit: credit available = credit limit - what the dealer owes (never counted below zero) - the totals of
  its open replenishments (PLACED and SHIPPED). A replenishment is placed only if its total fits.
- Replenishment lifecycle: PLACED -> SHIPPED -> RECEIVED, or PLACED -> REJECTED. Repeating the step a
  replenishment already took is a no-op (retries are safe); any other move is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onepool_kernel import locations
from onepool_kernel.errors import FailedPrecondition, InvalidArgument
from onepool_kernel.lines import StockLine
from onepool_kernel.locations import LocationType as LocationType
from onepool_kernel.money import BPS, Money, bps_of


@dataclass(frozen=True)
class Location(locations.Location):
    """A copy of one of inventory's locations (fed by its events, AddDealerLocation and ListLocations): the
    kernel's facts, and the version inventory gave them (inventory.v1.Location.version), so that a copy
    received late never replaces a newer one. 0: sent before inventory had versions, or not from inventory."""

    version: int = 0


class DealerTier(StrEnum):
    STANDARD = "STANDARD"
    SILVER = "SILVER"
    GOLD = "GOLD"


class DealerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


@dataclass(frozen=True)
class TierFactors:
    """Each tier's share of the list price, in basis points (settings: 9000 / 8500 / 8000 by default)."""

    standard_bps: int = 9000
    silver_bps: int = 8500
    gold_bps: int = 8000

    def __post_init__(self) -> None:
        for bps in (self.standard_bps, self.silver_bps, self.gold_bps):
            if not 0 < bps <= BPS:
                raise ValueError("tier factors must be between 1 and 10000 basis points")

    def of(self, tier: DealerTier) -> int:
        return {
            DealerTier.STANDARD: self.standard_bps,
            DealerTier.SILVER: self.silver_bps,
            DealerTier.GOLD: self.gold_bps,
        }[tier]


def tier_unit_price(list_price: Money, factor_bps: int) -> Money:
    """list price x factor, rounded half up to a whole minor unit (1999 fen at 85% = 1699.15 -> 1699;
    at 90% = 1799.1 -> 1799; 25 fen at 90% = 22.5 -> 23). Prices are never negative, so half up is simply
    floor(x + 1/2) in integers: the kernel's `bps_of`."""
    return Money(list_price.currency, bps_of(list_price.amount_minor, factor_bps))


@dataclass(frozen=True)
class CreditPosition:
    """A dealer's credit in the currency of its limit.

    owed: what the dealer owes the brand (received replenishments on credit, less what settlement says the
    brand owes the dealer from its sales); negative means the brand owes the dealer, which does not raise
    the credit above the limit. open: totals of replenishments not yet received.
    """

    limit: Money
    owed: Money
    open: Money

    @property
    def available(self) -> Money:
        used = max(self.owed.amount_minor, 0) + self.open.amount_minor
        return Money(self.limit.currency, max(self.limit.amount_minor - used, 0))

    def check(self, dealer_id: str, requested: Money) -> None:
        available = self.available
        # The guard that credit is never spent in another currency: placements price their lines in the credit
        # currency (price_lines), so PlaceReplenishment no longer meets it.
        if requested.currency != self.limit.currency:
            raise FailedPrecondition(
                "CURRENCY_MISMATCH",
                f"replenishment is priced in {requested.currency} but dealer {dealer_id}'s credit is in "
                f"{self.limit.currency}",
                {"dealer_id": dealer_id, "currency": requested.currency, "credit_currency": self.limit.currency},
            )
        if requested.amount_minor > available.amount_minor:
            raise FailedPrecondition(
                "CREDIT_LIMIT",
                f"credit limit exceeded for dealer {dealer_id}: requested {requested}, available {available}",
                {
                    "dealer_id": dealer_id,
                    "requested": str(requested.amount_minor),
                    "available": str(available.amount_minor),
                    "currency": available.currency,
                },
            )


@dataclass
class Dealer:
    """A franchise dealer. Besides its profile it carries two running totals of its replenishments (in its
    credit currency), kept in the same transactions that move replenishments, under the dealer's row lock:
    `open_minor` (PLACED + SHIPPED) and `received_minor` (everything received on credit, ever).

    `revision` counts changes the dealer's sales channel must follow (a new location, a rename, a status change);
    `channel_synced_revision` is the last revision pushed to the channels service. Until `channel_id` is
    set, the channel is still being created (see service_layer.channel_sync)."""

    id: str
    name: str
    tier: DealerTier
    credit_limit: Money
    region: str = ""
    status: DealerStatus = DealerStatus.ACTIVE
    channel_id: str = ""
    location_ids: list[str] = field(default_factory=list)
    open_minor: int = 0
    received_minor: int = 0
    revision: int = 0
    channel_synced_revision: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def currency(self) -> str:
        return self.credit_limit.currency

    @property
    def active(self) -> bool:
        return self.status is DealerStatus.ACTIVE

    @property
    def needs_channel_sync(self) -> bool:
        return not self.channel_id or self.channel_synced_revision < self.revision

    def credit(self, settlement_net_minor: int = 0) -> CreditPosition:
        """settlement_net_minor: what settlement's ledger owes the dealer apart from wholesale purchases
        (sales, fees, refunds), less income of orders not yet closed (held: domain/income.py); wholesale is
        counted from `received_minor`, which is never late."""
        return CreditPosition(
            limit=self.credit_limit,
            owed=Money(self.currency, self.received_minor - settlement_net_minor),
            open=Money(self.currency, self.open_minor),
        )

    # --- channel saga -----------------------------------------------------------------------------------

    def link_channel(self, channel_id: str, now: datetime) -> bool:
        from onepool_dealers.domain.events import DealerRegistered

        if self.channel_id:
            return False
        self.channel_id = channel_id
        self.updated_at = now
        self.events.append(DealerRegistered(self))
        return True

    def mark_channel_synced(self, revision: int) -> None:
        self.channel_synced_revision = max(self.channel_synced_revision, revision)

    def add_location(self, location_id: str, now: datetime | None = None) -> bool:
        """A location of this dealer joined the pool; its channel must sell from it too."""
        from onepool_dealers.domain.events import DealerUpdated

        if location_id in self.location_ids:
            return False
        self.location_ids = sorted([*self.location_ids, location_id])
        self.revision += 1
        if now is not None:
            self.updated_at = now
        if self.channel_id:  # before that, dealers.dealer.registered will carry the locations
            self.events.append(DealerUpdated(self))
        return True

    # --- profile --------------------------------------------------------------------------------------

    def update(
        self,
        now: datetime,
        *,
        name: str | None = None,
        tier: DealerTier | None = None,
        credit_limit: Money | None = None,
        region: str | None = None,
        status: DealerStatus | None = None,
    ) -> bool:
        from onepool_dealers.domain.events import DealerUpdated

        if credit_limit is not None and credit_limit.currency != self.currency:
            raise InvalidArgument(
                "dealer.credit_limit.currency", f"cannot change (the dealer's credit is in {self.currency})"
            )
        wanted = {"name": name, "tier": tier, "credit_limit": credit_limit, "region": region, "status": status}
        changes = {k: v for k, v in wanted.items() if v is not None and getattr(self, k) != v}
        if not changes:
            return False
        for key, value in changes.items():
            setattr(self, key, value)
        if "status" in changes or "name" in changes:
            self.revision += 1  # the dealer channel is named after the dealer, and pauses / resumes with it
        self.updated_at = now
        self.events.append(DealerUpdated(self))
        return True

    # --- credit ---------------------------------------------------------------------------------------

    def hold_credit(self, total: Money, settlement_net_minor: int = 0) -> None:
        """Place a replenishment's total against the credit line, or refuse (suspended, over the limit)."""
        if not self.active:
            raise FailedPrecondition(
                "DEALER_SUSPENDED",
                f"dealer {self.id} is suspended and cannot place replenishments",
                {"dealer_id": self.id},
            )
        self.credit(settlement_net_minor).check(self.id, total)
        self.open_minor += total.amount_minor

    def release_credit(self, total: Money) -> None:
        self.open_minor -= total.amount_minor

    def book_received(self, total: Money) -> None:
        """The goods arrived: the open amount becomes owed."""
        self.open_minor -= total.amount_minor
        self.received_minor += total.amount_minor


class ReplenishmentStatus(StrEnum):
    PLACED = "PLACED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class ReplenishmentLine:
    sku: str
    quantity: int
    unit_price: Money

    @property
    def line_total(self) -> Money:
        return self.unit_price.times(self.quantity)


def price_lines(
    lines: Iterable[StockLine], list_prices: Mapping[str, Money], factor_bps: int, currency: str
) -> list[ReplenishmentLine]:
    """Price each line at the tier's wholesale price in `currency` (the dealer's credit currency), from the
    brand's price list in that currency; every SKU without a list price in it is named, with the currency (a
    price in another currency is no price: the brand sets one per currency, and nothing converts)."""
    lines = list(lines)
    missing = [ln.sku for ln in lines if (p := list_prices.get(ln.sku)) is None or p.currency != currency]
    if missing:
        raise FailedPrecondition(
            "PRICE_MISSING",
            f"no wholesale price in {currency} for {', '.join(missing)}",
            {"sku": missing[0], "skus": ",".join(missing), "currency": currency},
        )
    return [ReplenishmentLine(ln.sku, ln.quantity, tier_unit_price(list_prices[ln.sku], factor_bps)) for ln in lines]


@dataclass
class Replenishment:
    """A dealer's order of stock from a brand warehouse, on credit.

    Shipping is a saga: `shipping_requested_at` records that the inventory transfer was asked for (its
    request id is derived from the replenishment id, so asking again is safe); while it is set the
    replenishment cannot be rejected, and a recovery loop retries the transfer if the answer never came.
    Each attempt stamps it anew and a refusal clears only its own stamp: two attempts may be in flight (a
    caller's and the loop's), and one's refusal must not let the replenishment be rejected while the other's
    transfer may still go out.

    Once it is RECEIVED, however that happened, `receipt_cancel_due` says the expected receipt its shipment
    made at the dealer's location (docs/presale.md) is still to be cancelled in inventory: the goods came as
    the transfer, and until the receipt is cancelled the dealer's channel may presell them a second time. It
    is cleared only when inventory confirms nothing more comes on the receipt.

    `receipt_id` is that receipt, as inventory's answer to the shipment's ExpectReceipt named it: the only way to
    tell it from another receipt at the location citing the replenishment (an operator's, say). Empty when no
    answer was recorded (shipped before dealers kept it, or the answer was lost): see `may_be_own_receipt`."""

    id: str
    dealer_id: str
    from_location_id: str
    to_location_id: str
    lines: list[ReplenishmentLine]
    status: ReplenishmentStatus = ReplenishmentStatus.PLACED
    transfer_id: str = ""
    status_reason: str = ""
    shipping_requested_at: datetime | None = None
    # When the transfer went out: what the goods' expected arrival is reckoned from, the same on every retry.
    shipped_at: datetime | None = None
    receipt_cancel_due: bool = False
    receipt_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def place(
        cls,
        *,
        id: str,
        dealer: Dealer,
        from_location_id: str,
        to_location_id: str,
        lines: list[ReplenishmentLine],
        settlement_net_minor: int,
        now: datetime,
    ) -> Replenishment:
        from onepool_dealers.domain.events import ReplenishmentPlaced

        replenishment = cls(
            id=id,
            dealer_id=dealer.id,
            from_location_id=from_location_id,
            to_location_id=to_location_id,
            lines=lines,
            created_at=now,
            updated_at=now,
        )
        dealer.hold_credit(replenishment.total, settlement_net_minor)
        replenishment.events.append(ReplenishmentPlaced(replenishment))
        return replenishment

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    @property
    def total(self) -> Money:
        total = Money(self.currency, 0)
        for line in self.lines:
            total = total + line.line_total
        return total

    @property
    def is_open(self) -> bool:
        return self.status in (ReplenishmentStatus.PLACED, ReplenishmentStatus.SHIPPED)

    @property
    def shipping_in_progress(self) -> bool:
        return self.status is ReplenishmentStatus.PLACED and self.shipping_requested_at is not None

    def _illegal(self, action: str) -> FailedPrecondition:
        return FailedPrecondition(
            "ILLEGAL_TRANSITION",
            f"replenishment {self.id} is {self.status.value}; it cannot be {action}",
            {"replenishment_id": self.id, "status": self.status.value, "action": action},
        )

    def request_shipping(self, now: datetime) -> bool:
        """True if the transfer must be requested (again); False if it already shipped. The attempt's stamp
        (`shipping_requested_at`, always later than the one before) is what its refusal names."""
        if self.status is ReplenishmentStatus.SHIPPED:
            return False
        if self.status is not ReplenishmentStatus.PLACED:
            raise self._illegal("shipped")
        before = self.shipping_requested_at
        self.shipping_requested_at = now if before is None or now > before else before + timedelta(microseconds=1)
        return True

    def record_shipping_failure(self, attempt: datetime | None, reason: str, now: datetime) -> bool:
        """Inventory refused the attempt stamped `attempt` (e.g. not enough stock): the replenishment stays
        PLACED, shippable later. Another attempt stamped since may still be in flight: then nothing changes."""
        if self.status is not ReplenishmentStatus.PLACED or self.shipping_requested_at != attempt:
            return False
        self.shipping_requested_at = None
        self.status_reason = reason[:500]
        self.updated_at = now
        return True

    def ship(self, transfer_id: str, now: datetime) -> bool:
        from onepool_dealers.domain.events import ReplenishmentShipped

        if self.status is ReplenishmentStatus.SHIPPED and self.transfer_id == transfer_id:
            return False
        if self.status is not ReplenishmentStatus.PLACED:
            raise self._illegal("shipped")
        self.status = ReplenishmentStatus.SHIPPED
        self.transfer_id = transfer_id
        self.shipped_at = now
        self.shipping_requested_at = None
        self.status_reason = ""
        self.updated_at = now
        self.events.append(ReplenishmentShipped(self))
        return True

    def is_own_transfer(self, transfer_id: str, from_location_id: str, to_location_id: str) -> bool:
        """Whether a transfer is the one this replenishment shipped with (its goods are booked as wholesale).

        Only inventory's answer to the replenishment's own TransferStock (its request id is derived from the
        replenishment id) says which transfer that is; anyone may cite the replenishment as a transfer's
        reference, on the same route with the same goods."""
        return (
            self.status in (ReplenishmentStatus.SHIPPED, ReplenishmentStatus.RECEIVED)
            and self.transfer_id == transfer_id
            and (self.from_location_id, self.to_location_id) == (from_location_id, to_location_id)
        )

    def own_transfer_unknown(self, from_location_id: str, to_location_id: str) -> bool:
        """Whether a transfer on this route may be its own without that being known yet: its TransferStock was
        asked for and the answer is not recorded (lost, or still on its way). A refused attempt made no
        transfer, and a replenishment never asked to ship has none."""
        return self.shipping_in_progress and (self.from_location_id, self.to_location_id) == (
            from_location_id,
            to_location_id,
        )

    def needs_receiving(self) -> bool:
        """False if it was already received (a repeat is a no-op); refused unless it has shipped."""
        if self.status is ReplenishmentStatus.RECEIVED:
            return False
        if self.status is not ReplenishmentStatus.SHIPPED:
            raise self._illegal("received")
        return True

    def receive(self, dealer: Dealer, now: datetime) -> bool:
        from onepool_dealers.domain.events import ReplenishmentReceived

        if not self.needs_receiving():
            return False
        assert dealer.id == self.dealer_id
        self.status = ReplenishmentStatus.RECEIVED
        self.receipt_cancel_due = True
        self.updated_at = now
        dealer.book_received(self.total)
        self.events.append(ReplenishmentReceived(self))
        return True

    def require_receipt_cancel(self) -> bool:
        """An expected receipt was (re)made after the goods were received: it must be cancelled too."""
        if self.status is not ReplenishmentStatus.RECEIVED or self.receipt_cancel_due:
            return False
        self.receipt_cancel_due = True
        return True

    def record_receipt(self, receipt_id: str) -> bool:
        """Inventory answered the shipment's ExpectReceipt with `receipt_id` (the same one on every replay). Once
        received, that receipt is due a cancel too: it may have been made after a cancel found nothing."""
        changed = self.receipt_id != receipt_id
        self.receipt_id = receipt_id
        return self.require_receipt_cancel() or changed

    def may_be_own_receipt(self, reference: str, lines: Iterable[StockLine]) -> bool:
        """For a replenishment with no recorded `receipt_id` only: whether an open receipt at its location may
        be the one its shipment made. It cites the replenishment and expects exactly its goods; a receipt
        citing it for other goods is someone else's. (One with the same goods cannot be told apart.)"""
        mine = sorted((ln.sku, ln.quantity) for ln in self.lines)
        return reference == self.id and sorted((ln.sku, ln.quantity) for ln in lines) == mine

    def record_receipt_cancelled(self) -> bool:
        """Inventory confirmed nothing more comes on the expected receipt (cancelled, closed or none open)."""
        if not self.receipt_cancel_due:
            return False
        self.receipt_cancel_due = False
        return True

    def reject(self, dealer: Dealer, reason: str, now: datetime) -> bool:
        from onepool_dealers.domain.events import ReplenishmentRejected

        if self.status is ReplenishmentStatus.REJECTED:
            return False
        if self.status is not ReplenishmentStatus.PLACED:
            raise self._illegal("rejected")
        if self.shipping_in_progress:
            raise FailedPrecondition(
                "SHIPMENT_IN_PROGRESS",
                f"replenishment {self.id} is being shipped; it cannot be rejected now",
                {"replenishment_id": self.id},
            )
        assert dealer.id == self.dealer_id
        self.status = ReplenishmentStatus.REJECTED
        self.status_reason = reason[:500] or "rejected"
        self.updated_at = now
        dealer.release_credit(self.total)
        self.events.append(ReplenishmentRejected(self))
        return True
