"""Goods that changed owner with SKUs nothing priced, kept until the brand settles them by hand.

Dealers values every move (rule 7); a SKU without a wholesale list price in the valuing dealer's currency (and,
for an order's goods, no price paid in it) moves unpriced: named on the event, left out of its total. Rule 7
books the priced part only, nothing at all when no SKU was priced, so the ledger held nothing for those goods
and nobody on the brand's finance side learned that an owner's goods were taken, or given, for nothing.

Settlement now keeps every such move once by its id (`UnpricedMove`), and Reconcile lists it (`unpriced_move`),
in the move's currency, in the period settlement recorded it in, until it is settled by hand: the brand values
the goods (SettleUnpricedMove) and the taker owes the giver that value, booked as rule 7 books a priced move
(`by_hand`); a value of zero books nothing (the goods were given, or the owners settled between themselves).

Not a RecordPayment naming the move: a payment is money that moved, the payer credited and the payee debited.
Booking what the taker owes that way takes a payment "from" the giver (the real money goes the other way, so
the natural entry doubles the error instead of fixing it), says on both statements that money moved when none
did, and cannot say that nothing is owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onepool_kernel.lines import StockLine

from onepool_settlement.domain.model import Account, GoodsMoved, JournalEntry, Posting, Rule, Source


@dataclass(frozen=True)
class UnpricedMove:
    """A move dealers could not price in full: `taker` took over `giver`'s `lines` (quantity 0: dealers did not
    say, an event from before it sent quantities) and owes nothing for them in the ledger until settled."""

    id: str
    reason: str
    giver: str
    taker: str
    currency: str
    lines: tuple[StockLine, ...]
    priced_total: int = 0  # what the move's priced SKUs booked (entry_id), in `currency`
    entry_id: str = ""
    order_id: str = ""
    reference: str = ""
    location_id: str = ""
    occurred_at: datetime | None = None  # the event's time
    created_at: datetime | None = None  # when settlement recorded it: Reconcile's period is by this
    settled_at: datetime | None = None
    settled_value: int = 0
    settled_key: str | None = None  # the settling request, in the caller's idempotency scope
    settled_entry_id: str = ""

    @property
    def settled(self) -> bool:
        return self.settled_at is not None

    def units(self) -> str:
        return ", ".join(
            f"{ln.quantity} x {ln.sku}" if ln.quantity else f"{ln.sku} (units not stated)" for ln in self.lines
        )

    def describe(self) -> str:
        """Reconcile's detail: what moved unpriced, between whom, and what the ledger holds of the move."""
        where = f" at {self.location_id}" if self.location_id else ""
        return (
            f"{self.reason.lower()} {self.reference}{where}: {self.giver}'s goods taken over by {self.taker}; "
            f"{self.units()} not priced in {self.currency} (the ledger holds {self.priced_total} for the rest of "
            f"the move): value them with SettleUnpricedMove"
        )


def of(move: GoodsMoved, entry_id: str, occurred_at: datetime | None) -> UnpricedMove | None:
    """The move to keep, if dealers left SKUs of it unpriced; `entry_id` is its priced part's entry, if any,
    `occurred_at` its event's time."""
    if not move.unpriced or move.giver == move.taker:
        return None
    return UnpricedMove(
        id=move.id,
        reason=move.reason,
        giver=move.giver,
        taker=move.taker,
        currency=move.currency,
        lines=move.unpriced,
        priced_total=move.total if entry_id else 0,
        entry_id=entry_id,
        order_id=move.order_id,
        reference=move.reference,
        location_id=move.location_id,
        occurred_at=occurred_at,
    )


def by_hand(move: UnpricedMove, value: int) -> JournalEntry | None:
    """What settling `move` at `value` books: the taker owes the giver `value`, as rule 7 books a priced move;
    None for zero. Keyed by the move, so a move is booked by hand once."""
    if value <= 0:
        return None
    return JournalEntry(
        key=f"ownership:{move.id}:by_hand",
        rule=Rule.OWNERSHIP,
        currency=move.currency,
        order_id=move.order_id,
        source=Source(occurred_at=move.occurred_at),
        postings=(
            Posting(move.taker, Account.OWNERSHIP, -value),
            Posting(move.giver, Account.OWNERSHIP, value),
        ),
        memo=f"{move.reason.lower()} {move.reference}: {move.units()} of {move.giver} taken over by {move.taker}, "
        f"valued by hand at {value}",
        reference=move.id,
    )
