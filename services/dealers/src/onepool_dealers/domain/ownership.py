"""Goods that change owner other than by a replenishment, valued at a dealer's tier wholesale price.

A location's stock is its owner's (the brand's, or the dealer's that owns the location). Goods change owner
when inventory receives a transfer between locations of different owners, when a return is received at a
location of someone other than the order's seller (the seller owned the goods it sold and refunded), and
when a dealer's location ships goods of someone else's sale. Dealers values each move, since only it knows
the tiers and the list prices, and publishes it (`dealers.ownership.moved`); settlement books what the
taker owes the giver.

The rule (docs/settlement.md "Goods that change owner"):
- a move between the same owner, or between two brand locations, is no move;
- the goods move at the tier wholesale price (list price x tier factor, as a replenishment is priced) of the
  dealer taking them over; when the brand takes them over, of the dealer giving them up (the price that
  dealer pays for them);
- a SKU without a list price: an order's goods (a return, a fulfillment) at the price the customer paid x
  the same tier factor; a transferred SKU is left unpriced (named on the move, not in its total);
- an order's seller is the order's dealer, else the dealer owning its channel, else the brand;
- a move whose valuing dealer dealers does not know, or whose lines are in another currency than that
  dealer's, is valued only where it can be (the rest named as unpriced).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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


# Parties an orders event does not name, in the goods it shows, until dealers looks them up (`Goods.resolved`):
# the order's seller (its dealer, else the dealer owning its channel, else the brand), and the owner of
# the location where the goods are (a return's receiving location).
SELLER = "<seller>"
LOCATION_OWNER = "<location owner>"


@dataclass(frozen=True)
class Goods:
    """What moved, where, and why (before it is valued). giver and taker: a dealer id, "" for the brand."""

    id: str  # "<reason>:<reference>" (module doc)
    reason: MoveReason
    lines: tuple[StockLine, ...]
    giver: str
    taker: str
    paid_prices: Mapping[str, Money] = field(default_factory=dict)  # an order's unit prices, by SKU
    order_id: str = ""
    location_id: str = ""

    @property
    def reference(self) -> str:
        """The transfer, return or fulfillment id."""
        return self.id.rsplit(":", 1)[-1]

    def resolved(self, seller: str, owners: Mapping[str, str]) -> Goods:
        """`owners`: location id -> owning dealer id (a location not in it is the brand's)."""
        swap = {SELLER: seller, LOCATION_OWNER: owners.get(self.location_id, "")}
        return replace(self, giver=swap.get(self.giver, self.giver), taker=swap.get(self.taker, self.taker))


@dataclass
class OwnershipMove:
    """Goods given up by `goods.giver` to `goods.taker`, priced line by line; the taker owes `total`."""

    goods: Goods
    currency: str
    lines: tuple[MoveLine, ...]
    unpriced_skus: tuple[str, ...] = ()
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def total(self) -> Money:
        return Money(self.currency, sum(ln.total_minor for ln in self.lines))


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


def value(goods: Goods, currency: str, factor_bps: int | None, list_prices: Mapping[str, Money]) -> OwnershipMove:
    """Price each line (module rule); `factor_bps` None: the valuing dealer is unknown, nothing is priced."""
    priced: list[MoveLine] = []
    unpriced: list[str] = []
    for sku, quantity in _merged(goods.lines):
        base = list_prices.get(sku)
        unit: Money | None = None
        if factor_bps is not None and base is not None and base.currency == currency:
            unit = tier_unit_price(base, factor_bps)
        elif factor_bps is not None and (paid := goods.paid_prices.get(sku)) is not None and paid.currency == currency:
            unit = Money(currency, bps_of(paid.amount_minor, factor_bps))
        if unit is None:
            unpriced.append(sku)
        else:
            priced.append(MoveLine(sku, quantity, unit))
    move = OwnershipMove(goods, currency, tuple(priced), tuple(unpriced))
    move.events.append(OwnershipMoved(move))  # published if dealers records it (the first time)
    return move


def _merged(lines: Iterable[StockLine]) -> list[tuple[str, int]]:
    out: dict[str, int] = {}
    for ln in lines:
        if ln.quantity > 0:
            out[ln.sku] = out.get(ln.sku, 0) + ln.quantity
    return sorted(out.items())
