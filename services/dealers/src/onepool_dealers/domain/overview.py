"""The dealer overview and the read models it is built from (fed by other services' events, never by
calling them while a dealer waits).

- Units in stock: on_hand per (sku, location) at the dealer's own locations, from inventory's StockChanged events.
  Each level carries a version that grows with every change; an update older than what is kept is dropped,
  so redelivered or reordered events can never roll a number back.
- Orders: the latest known state of each order of the dealer, from the facts orders.order.* state (the one
  with the highest revision: orders counts each order's changes). Whether an order is open or paid is what
  orders says (its facts), never dealers' reading of orders' statuses. Its net sale is what was paid less
  what was refunded (an order paid in full is counted at its total when the payment amount is not
  reported); unpaid orders count zero.
  Sales in a period are the net sales of the orders created in that period.
- Balance: what the dealer owes the brand. Wholesale purchases come from dealers' own running total of
  received replenishments (never late); everything else settlement posts to the dealer's party (its share
  of sales, fees, refunds) comes from settlement.entry.posted, whose wholesale entries are skipped because
  they are already counted; an open order's income waits for the order to close (domain/income.py).
- Per currency: a dealer's sales and income are in the currency of each sale (a USD channel or marketplace
  order earns a CNY dealer USD), never converted; its credit is in its credit currency only. The overview's
  own fields are the credit currency's, and `currencies` has the same figures for every currency the dealer
  has any in (`currency_figures`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from onepool_kernel.money import Money

from onepool_dealers.domain.model import CreditPosition

WHOLESALE_RULE = "wholesale"


@dataclass(frozen=True)
class OrderView:
    order_id: str
    dealer_id: str
    open: bool  # orders' fact: the order still has a step to go
    paid: bool  # orders' fact: a payment was recorded
    total: Money
    paid_minor: int
    refunded_minor: int
    created_at: datetime
    updated_at: datetime | None
    # orders' count of the order's changes (OrderFacts.revision); 0 when the event carried none (published
    # before orders counted them).
    revision: int = 0

    @property
    def net_sales_minor(self) -> int:
        paid = self.paid_minor
        if not paid and self.paid:
            paid = self.total.amount_minor
        return max(paid - self.refunded_minor, 0)

    def newer_than(self, other: OrderView) -> bool:
        """Whether this state may replace `other`: the higher revision wins, an equal one is the same state
        again. updated_at is the clock of whichever orders replica made the change, so it only decides when
        one of them has no revision (an event from before orders counted them), and a state without it is
        older than one with it (an event from before orders stamped it, replayed late)."""
        if self.revision and other.revision:
            return self.revision >= other.revision
        if self.updated_at is None or other.updated_at is None:
            return other.updated_at is None
        return self.updated_at >= other.updated_at


@dataclass(frozen=True)
class StockView:
    sku: str
    location_id: str
    dealer_id: str
    on_hand: int
    version: int


@dataclass(frozen=True)
class CurrencyFigures:
    """A dealer's figures in one currency (each Money is in `currency`)."""

    currency: str
    sales_in_period: Money
    # What settlement's ledger owes the dealer apart from wholesale, held income aside (Dealer.credit's input
    # in the credit currency).
    income_counted: Money
    income_held: Money


def currency_figures(
    credit_currency: str, sales: Mapping[str, int], counted: Mapping[str, int], held: Mapping[str, int]
) -> tuple[CurrencyFigures, ...]:
    """Each currency any of the sums (currency -> minor units) has, the credit currency first (always, even
    with nothing in it: the overview's own fields are its), then the others by code. An order stored without
    a currency (an event from before orders sent one) is counted in the credit currency, as it always was."""
    sales = dict(sales)
    sales[credit_currency] = sales.get(credit_currency, 0) + sales.pop("", 0)
    others = sorted({*sales, *counted, *held} - {credit_currency, ""})
    return tuple(
        CurrencyFigures(
            currency=c,
            sales_in_period=Money(c, sales.get(c, 0)),
            income_counted=Money(c, counted.get(c, 0)),
            income_held=Money(c, held.get(c, 0)),
        )
        for c in (credit_currency, *others)
    )


@dataclass(frozen=True)
class Overview:
    dealer_id: str
    open_orders: int
    sales_in_period: Money
    units_in_stock: int
    # The dealer's credit: limit, owed (the overview's `balance`), open replenishments and what is available.
    credit: CreditPosition
    period_start: datetime
    period_end: datetime
    # Units of SHIPPED replenishments: on their way, not yet in stock.
    inbound_units: int = 0
    # Income from orders that may still be refunded (domain/income.py): in neither balance nor credit yet.
    income_held: Money | None = None
    # The figures in each currency the dealer has any in, the credit currency's first (currency_figures).
    currencies: tuple[CurrencyFigures, ...] = ()
