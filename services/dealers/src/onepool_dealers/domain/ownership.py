"""Goods that change owner other than by a replenishment, valued at a dealer's tier wholesale price.

A location's stock is its owner's (the brand's, or the dealer's that owns the location). Goods change owner
when inventory receives a transfer between locations of different owners, when a return is received at a
location of someone other than whoever owned the goods after the sale (`ReturnedGoods`), and when a dealer's
location ships goods of someone else's sale. Dealers values each move, since only it knows the tiers and the
list prices, and publishes it (`dealers.ownership.moved`); settlement books what the taker owes the giver.

The rule (docs/settlement.md "Goods that change owner"):
- a move between the same owner, or between two brand locations, is no move;
- the goods move at the tier wholesale price (list price x tier factor, as a replenishment is priced) of the
  dealer taking them over; when the brand takes them over, of the dealer giving them up (the price that
  dealer pays for them). In that dealer's credit currency, from the brand's list price in that currency
  (the price list has one per SKU and currency; nothing converts);
- a SKU without a list price in that currency: an order's goods (a return, a fulfillment) at the price the
  customer paid x the same tier factor, if paid in that currency; otherwise (and always for a transferred
  SKU) it is left unpriced: named on the move, not in its total (service_layer/unpriced.py reports it);
- an order's seller is the order's dealer, else the dealer owning its channel, else the brand;
- whose goods come back on a return: units that left a dealer's location are the seller's (the dealer's own,
  or taken over by the seller with a fulfillment move); units that left a brand location are the brand's,
  whoever sold them (a dealer selling from the pool sells the brand's goods, and nothing moved);
- a returned unit that left a dealer's location with a fulfillment move dealers recorded comes back at that
  move's unit price, not at today's tier or list price: a tier or price change between the two would
  otherwise price the same unit twice, differently, and someone would gain or lose on goods that went out and
  came back. Today's price only when no such move is recorded (the fulfillment was no move: the seller's own
  location; recorded before dealers kept moves' lines, migration 0013; that SKU unpriced on it; another
  currency). Unit prices are whole minor units, so returns in several parts never drift from what went out;
- a move whose valuing dealer dealers does not know, or whose lines are in another currency than that
  dealer's, is valued only where it can be (the rest named as unpriced).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from onepool_kernel.lines import StockLine
from onepool_kernel.money import Money, bps_of

from onepool_dealers.domain.model import tier_unit_price

# The currency of a move whose valuing dealer is unknown and whose goods show no price.
DEFAULT_CURRENCY = "CNY"


class MoveReason(StrEnum):
    TRANSFER = "TRANSFER"
    RETURN = "RETURN"
    FULFILLMENT = "FULFILLMENT"


@dataclass(frozen=True)
class MoveLine:
    sku: str
    quantity: int
    unit_price: Money

    @property
    def total_minor(self) -> int:
        return self.unit_price.amount_minor * self.quantity


# The party an orders event does not name, in the goods it shows, until dealers looks it up (`Goods.resolved`):
# the order's seller (its dealer, else the dealer owning its channel, else the brand).
SELLER = "<seller>"
BRAND = ""


@dataclass(frozen=True)
class UnitsFrom:
    """`quantity` returned units of `sku` that left a dealer's location with the fulfillment whose move id (if
    it was one) is `move_id` ("fulfillment:<order>:<fulfillment>")."""

    move_id: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class Goods:
    """What moved, where, and why (before it is valued). giver and taker: a dealer id, "" for the brand."""

    id: str  # "<reason>:<reference>", or "return:<return>:brand" (ReturnedGoods)
    reason: MoveReason
    lines: tuple[StockLine, ...]
    giver: str
    taker: str
    reference: str  # the transfer, return or fulfillment id
    paid_prices: Mapping[str, Money] = field(default_factory=dict)  # an order's unit prices, by SKU
    order_id: str = ""
    location_id: str = ""
    # A return's units that left a dealer's location, by the fulfillment that took them out (module rule).
    sources: tuple[UnitsFrom, ...] = ()

    def resolved(self, seller: str) -> Goods:
        swap = {SELLER: seller}
        return replace(self, giver=swap.get(self.giver, self.giver), taker=swap.get(self.taker, self.taker))


@dataclass(frozen=True)
class Departure:
    """Units of an order that left one location for the customer (a fulfillment that has left)."""

    fulfillment_id: str
    location_owner: str  # the dealer owning the location, "" for the brand's
    lines: tuple[StockLine, ...]
    left_at: datetime | None = None

    @property
    def owner_after_sale(self) -> str:
        """Units from a dealer's location are the seller's once they left; a brand location's stay the brand's."""
        return SELLER if self.location_owner else BRAND


_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ReturnedGoods:
    """A return received at a location, before it is known whose goods came back (`goods`).

    Which units came back is not in the facts, only SKUs and quantities. When a SKU left from locations of
    different owners, the order's units come back in the order they left (by the time they left, then by
    fulfillment id): the order's earlier returns took the first ones, this return takes the next. So the
    same history always gives the same moves, and two returns never both claim one unit. Units beyond what
    the facts show leaving are the seller's (it sold and refunded them)."""

    return_id: str
    order_id: str
    location_id: str
    lines: tuple[StockLine, ...]
    departures: tuple[Departure, ...]
    # Units of each SKU returned so far, this return included (the order's facts just after it).
    returned_so_far: Mapping[str, int]
    paid_prices: Mapping[str, Money] = field(default_factory=dict)

    def goods(self, seller: str, owners: Mapping[str, str]) -> list[Goods]:
        """One Goods per owner the units were after the sale; `owners`: location id -> owning dealer id ("" for
        the brand's), the return's location among them (one not known yet is not the brand's: the caller waits
        for it). The seller's part is "return:<return>" (the id a return always had); the brand's part of a
        dealer's sale is "return:<return>:brand"."""
        taker = owners[self.location_id]
        parts: dict[str, dict[str, int]] = {}
        sources: dict[str, dict[tuple[str, str], int]] = {}
        for sku, quantity in _merged(self.lines):
            for owner, departure, units in self._owners_of(sku, quantity):
                giver = seller if owner == SELLER else owner
                part = parts.setdefault(giver, {})
                part[sku] = part.get(sku, 0) + units
                if departure is not None and departure.location_owner:
                    key = (f"fulfillment:{self.order_id}:{departure.fulfillment_id}", sku)
                    came = sources.setdefault(giver, {})
                    came[key] = came.get(key, 0) + units
        return [
            Goods(
                id=f"return:{self.return_id}" if giver == seller else f"return:{self.return_id}:brand",
                reason=MoveReason.RETURN,
                lines=tuple(StockLine(sku, units) for sku, units in units_by_sku.items()),
                giver=giver,
                taker=taker,
                reference=self.return_id,
                paid_prices=self.paid_prices,
                order_id=self.order_id,
                location_id=self.location_id,
                sources=tuple(UnitsFrom(m, s, q) for (m, s), q in sorted(sources.get(giver, {}).items())),
            )
            for giver, units_by_sku in sorted(parts.items(), key=lambda part: part[0] != seller)
        ]

    def _owners_of(self, sku: str, quantity: int) -> list[tuple[str, Departure | None, int]]:
        """(owner after the sale, the departure they left with (None: not shown leaving), units) of this
        return's `quantity` units of `sku`."""
        skip = max(self.returned_so_far.get(sku, 0) - quantity, 0)  # what earlier returns took
        left = sorted(self.departures, key=lambda d: (d.left_at or _NEVER, d.fulfillment_id))
        out: list[tuple[str, Departure | None, int]] = []
        for departure in left:
            for line in departure.lines:
                if line.sku != sku or line.quantity <= 0:
                    continue
                taken_before = min(skip, line.quantity)
                skip -= taken_before
                units = min(line.quantity - taken_before, quantity)
                if units:
                    out.append((departure.owner_after_sale, departure, units))
                    quantity -= units
        if quantity > 0:
            out.append((SELLER, None, quantity))
        return out


def resolve(shown: Iterable[Goods | ReturnedGoods], seller: str, owners: Mapping[str, str]) -> list[Goods]:
    """An orders event's goods with its seller (and a return's location owner) filled in."""
    out: list[Goods] = []
    for item in shown:
        out.extend(item.goods(seller, owners) if isinstance(item, ReturnedGoods) else [item.resolved(seller)])
    return out


@dataclass
class OwnershipMove:
    """Goods given up by `goods.giver` to `goods.taker`, priced line by line; the taker owes `total`."""

    goods: Goods
    currency: str
    lines: tuple[MoveLine, ...]
    # The units nothing priced, by SKU: settlement keeps them for the brand to value by hand.
    unpriced: tuple[StockLine, ...] = ()
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def total(self) -> Money:
        return Money(self.currency, sum(ln.total_minor for ln in self.lines))

    @property
    def unpriced_skus(self) -> tuple[str, ...]:
        return tuple(ln.sku for ln in self.unpriced)


@dataclass(frozen=True)
class OwnershipMoved:
    """Domain event (re-exported by domain/events.py): a move dealers recorded for the first time."""

    move: OwnershipMove


def moves(goods: Goods) -> bool:
    """Whether the goods change owner at all (different owners, at least one a dealer)."""
    return goods.giver != goods.taker and bool(goods.giver or goods.taker)


def valuing_dealer(goods: Goods) -> str:
    """The dealer whose tier prices the move: the taker if it is a dealer, else the giver."""
    return goods.taker or goods.giver


def value(
    goods: Goods,
    currency: str,
    factor_bps: int | None,
    list_prices: Mapping[str, Money],
    went_out_at: Mapping[str, Mapping[str, Money]] | None = None,
) -> OwnershipMove:
    """Price each line (module rule) in `currency`, from `list_prices` (the brand's list prices in it, by SKU);
    `factor_bps` None: the valuing dealer is unknown, nothing is priced (except returned units at what they
    went out at). `went_out_at`: recorded move id -> SKU -> the unit price
    that move valued it at, for the moves `goods.sources` name.

    A SKU whose units are priced differently (some at what they went out at, some at today's price) has one
    line per unit price; otherwise one line."""
    priced: list[MoveLine] = []
    unpriced: list[StockLine] = []
    for sku, quantity in _merged(goods.lines):
        units_at: dict[int, int] = {}
        for source in goods.sources:
            was = (went_out_at or {}).get(source.move_id, {}).get(sku)
            if source.sku != sku or was is None or was.currency != currency or quantity <= 0:
                continue
            units = min(source.quantity, quantity)
            units_at[was.amount_minor] = units_at.get(was.amount_minor, 0) + units
            quantity -= units
        if quantity > 0:
            unit = _todays_unit_price(goods, sku, currency, factor_bps, list_prices)
            if unit is None:
                unpriced.append(StockLine(sku, quantity))
            else:
                units_at[unit.amount_minor] = units_at.get(unit.amount_minor, 0) + quantity
        priced.extend(MoveLine(sku, units, Money(currency, unit)) for unit, units in sorted(units_at.items()))
    move = OwnershipMove(goods, currency, tuple(priced), tuple(unpriced))
    move.events.append(OwnershipMoved(move))  # published if dealers records it (the first time)
    return move


def _todays_unit_price(
    goods: Goods, sku: str, currency: str, factor_bps: int | None, list_prices: Mapping[str, Money]
) -> Money | None:
    if factor_bps is None:
        return None
    base = list_prices.get(sku)
    if base is not None and base.currency == currency:
        return tier_unit_price(base, factor_bps)
    paid = goods.paid_prices.get(sku)
    if paid is not None and paid.currency == currency:
        return Money(currency, bps_of(paid.amount_minor, factor_bps))
    return None


def _merged(lines: Iterable[StockLine]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for ln in lines:
        if ln.quantity > 0:
            out[ln.sku] = out.get(ln.sku, 0) + ln.quantity
    return sorted(out.items())
