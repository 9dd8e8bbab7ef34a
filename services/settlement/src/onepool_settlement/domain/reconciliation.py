"""Reconciliation, in one currency (`combine` puts the reports of several side by side): for the orders sold in it with
entries in a period, compare what the ledger recognised (the sale's gross) with what it refunded and with what the
orders service reported, and prove the ledger sums to zero.

Discrepancy kinds:
- `unbalanced_entry`: an entry whose lines do not sum to zero (the database refuses to commit one, so
  this means the ledger was altered outside the service).
- `missing_settlement`: an order has refund or fee entries but no sale.
- `refund_exceeds_sale`: more was refunded than the sale's gross (the excess was charged to the brand).
- `gross_mismatch`: the sale's gross differs from what the orders service last reported as paid.
- `refund_mismatch`: the ledger's refunds differ from what the orders service last reported as refunded
  (a return event not processed yet, or lost). Not checked for cancelled orders, whose refund is implicit.
- `missing_sale`: orders reported the order paid in an event settlement could not settle (dead-lettered)
  before its sale was booked, and the ledger still has no sale for it. Listed in the period the event was
  dead-lettered in (the order has no line in the ledger to place it by).
- `unpriced_move`: goods changed owner with SKUs dealers could not price, so the ledger holds nothing for them;
  listed in the period settlement recorded the move in, until it is settled by hand (domain/unpriced.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from onepool_settlement.domain.unpriced import UnpricedMove


@dataclass(frozen=True)
class OrderTotals:
    order_id: str
    gross: int  # what the sale recognised (0 if there is no sale entry)
    refunds: int  # refunds paid back to clearing, all time
    has_sale: bool
    reported_paid: int = 0
    reported_refunded: int = 0
    cancelled: bool = False


@dataclass(frozen=True)
class UnsettledOrder:
    """What orders reported of a paid order whose event was dead-lettered before its sale was booked."""

    order_id: str
    currency: str
    reported_paid: int
    reported_refunded: int
    event_type: str


@dataclass(frozen=True)
class OffBalanceEntry:
    entry_id: str
    order_id: str
    total: int


@dataclass(frozen=True)
class Discrepancy:
    order_id: str
    kind: str
    detail: str
    entry_id: str = ""
    move_id: str = ""
    currency: str = ""  # the currency it was found in (its amounts are in it)


@dataclass
class ReconciliationReport:
    orders_settled: int
    gross: int
    refunds: int
    ledger_sum: int
    entries_checked: int
    discrepancies: list[Discrepancy] = field(default_factory=list)
    # The amounts' currency; "" for reports of several currencies side by side (`combine`), whose amounts are
    # then not one figure: each currency's are in `by_currency`.
    currency: str = ""
    by_currency: list[ReconciliationReport] = field(default_factory=list)


def combine(reports: Sequence[ReconciliationReport]) -> ReconciliationReport:
    """One report of a period checked in several currencies: every discrepancy, named by its currency, and
    the counts added up (an entry and an order's sale are each in one currency). Sums of money are only ever
    per currency: a report of one currency keeps its amounts, one of several leaves them to `by_currency`."""
    if len(reports) == 1:
        return replace(reports[0], by_currency=list(reports))
    return ReconciliationReport(
        orders_settled=sum(r.orders_settled for r in reports),
        gross=0,
        refunds=0,
        ledger_sum=0,
        entries_checked=sum(r.entries_checked for r in reports),
        discrepancies=[d for r in reports for d in r.discrepancies],
        by_currency=list(reports),
    )


def find_discrepancies(
    orders: list[OrderTotals],
    unbalanced: list[OffBalanceEntry],
    unsettled: Sequence[UnsettledOrder] = (),
    unpriced: Sequence[UnpricedMove] = (),
) -> list[Discrepancy]:
    found = [
        Discrepancy(u.order_id, "unbalanced_entry", f"lines sum to {u.total}, not 0", u.entry_id) for u in unbalanced
    ]
    found += [
        Discrepancy(
            u.order_id,
            "missing_sale",
            f"orders reports {u.reported_paid} paid, the ledger has no sale ({u.event_type} was dead-lettered)",
        )
        for u in unsettled
    ]
    found += [Discrepancy(m.order_id, "unpriced_move", m.describe(), m.entry_id, m.id) for m in unpriced]
    for o in sorted(orders, key=lambda o: o.order_id):
        if not o.has_sale:
            found.append(Discrepancy(o.order_id, "missing_settlement", "entries exist but the sale was never posted"))
            continue
        if o.refunds > o.gross:
            found.append(Discrepancy(o.order_id, "refund_exceeds_sale", f"refunded {o.refunds} of a {o.gross} sale"))
        if o.reported_paid and o.reported_paid != o.gross:
            found.append(
                Discrepancy(o.order_id, "gross_mismatch", f"orders reports {o.reported_paid} paid, ledger {o.gross}")
            )
        if not o.cancelled and o.reported_refunded != o.refunds:
            found.append(
                Discrepancy(
                    o.order_id,
                    "refund_mismatch",
                    f"orders reports {o.reported_refunded} refunded, ledger {o.refunds}",
                )
            )
    return found
