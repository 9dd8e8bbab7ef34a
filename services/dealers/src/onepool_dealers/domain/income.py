"""When what settlement posts to a dealer counts towards its credit.

Credit available grows with what the ledger owes the dealer (domain/model.py CreditPosition). Income that can
still be refunded must not: a dealer that declares its own sale paid, spends the credit the sale's share gave it
on a replenishment and then cancels the sale would hold more than its limit. So:

- a dealer's positive lines of an entry of an order (its share of a sale, a fulfillment fee, goods of a sale
  taken over from its shop), summed, are held (line by line, as settlement's payouts hold them: an entry that
  takes from a dealer's sale and gives it a fee holds the fee) until an orders event shows the order final
  (OrderFacts.is_final, decided by orders: cancelled, wholly refunded, or its return window closed, announced
  by orders.order.return_window_closed), and counts from then on. Goods gone are not enough: a dealer could
  ship its own sale, reorder on the credit its share gave, then return the sale into its own shop;
- its negative lines (a refund, a reversal, goods it took over) count at once, and so does anything without
  an order (payments, payouts, transfers): credit only ever waits to grow, never to shrink;
- an entry of an order already heard closed counts at once (a return after completion refunds through a
  negative line, which counts at once).

Only the closes of orders a dealer can earn from are kept (`ClosedOrder`: its own, one of its channel's, or one
shipped from its locations); every other order's close would be a row kept for ever that no income asks for.
The closing event and the entries come on separate streams, in either order; both sides serialise on the
order (service_layer/handlers.py) so an entry is either held before the order closes (and released with it)
or sees it closed. Each entry is held once per (entry, dealer, currency), and the consumers' inboxes keep a
redelivered event from counting twice.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass


@dataclass(frozen=True)
class ClosedOrder:
    """An order an orders event shows closed for income, with what says whether a dealer can earn from it."""

    order_id: str
    dealer_id: str
    channel_id: str
    shipped_by_a_dealer: bool  # a fulfillment at a dealer's location (its fulfillment fee, goods taken over)

    @property
    def pays_a_dealer(self) -> bool:
        """Its own dealer's, or shipped from a dealer's location; an order of a dealer's channel is known by the
        channel (handlers.orders_closed)."""
        return bool(self.dealer_id) or self.shipped_by_a_dealer


@dataclass(frozen=True)
class DealerIncome:
    """What one settlement entry posts to one dealer in one currency: the sum of its positive lines for that
    party, or of its negative ones (two amounts when it has both)."""

    entry_id: str
    order_id: str
    dealer_id: str
    currency: str
    amount_minor: int

    @property
    def may_be_held(self) -> bool:
        return self.amount_minor > 0 and bool(self.order_id)

    def held(self, closed_orders: Container[str]) -> bool:
        """Whether it waits for its order to close (module rule); `closed_orders`: those heard closed."""
        return self.may_be_held and self.order_id not in closed_orders
