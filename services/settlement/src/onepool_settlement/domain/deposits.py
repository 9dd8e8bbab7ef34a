"""Presale deposits in the ledger (docs/presale.md). A deposit is the customer's money held for an order that
is not sold yet: nobody's income until the order is fully paid (then the whole sale is split by rule 1, the
deposit with it) or lapses (then it is refunded, or kept by the seller when the channel's rule says so).

Entries, all rule `deposit`, each key once per order (so events may come in any order and any number of times):
- `deposit:<order>` (the order shows a deposit): `clearing/customer_deposit -D`, `clearing/deposit_held +D`.
  The money came in and is held; no party's balance moves.
- `deposit_applied:<order>` (the order is paid in full): `clearing/deposit_held -D`,
  `clearing/customer_deposit +D`. The sale entry then takes the whole payment, deposit included, from
  `clearing/customer_payment` and splits it: only what was finally sold is split.
- `deposit_kept:<order>` (lapsed, the channel keeps deposits): `clearing/deposit_held -D`,
  `<seller>/deposit_kept +D`: the seller's income (the brand's, or the selling dealer's), no channel fee.
- `deposit_refund:<order>` (lapsed or cancelled, the deposit is due back): `clearing/deposit_held -D`,
  `clearing/deposit_refund +D`: the deposit nets to zero.
"""

from __future__ import annotations

from onepool_settlement.domain import parties
from onepool_settlement.domain.model import Account, JournalEntry, OrderFacts, Posting, Rule, Source


def _entry(key: str, order: OrderFacts, postings: tuple[Posting, ...], source: Source, memo: str) -> JournalEntry:
    return JournalEntry(
        key=f"{key}:{order.id}",
        rule=Rule.DEPOSIT,
        currency=order.currency,
        postings=postings,
        order_id=order.id,
        source=source,
        memo=memo,
    )


def received(order: OrderFacts, source: Source) -> JournalEntry:
    d = order.deposit
    held = (Posting(parties.CLEARING, Account.CUSTOMER_DEPOSIT, -d), Posting(parties.CLEARING, Account.DEPOSIT_HELD, d))
    return _entry("deposit", order, held, source, f"deposit {d} of order {order.id} received and held")


def resolution(order: OrderFacts, seller: str, source: Source) -> JournalEntry | None:
    """What becomes of a held deposit once the order says: applied to the sale, kept, or refunded. None while
    the order still waits for its balance."""
    d = order.deposit
    if order.is_paid:
        back = Posting(parties.CLEARING, Account.CUSTOMER_DEPOSIT, d)
        return _entry("deposit_applied", order, _release(d, back), source, f"deposit {d} of order {order.id} applied")
    if order.deposit_kept > 0:
        kept = Posting(seller, Account.DEPOSIT_KEPT, order.deposit_kept)
        memo = f"deposit {order.deposit_kept} of lapsed order {order.id} kept by {seller}"
        return _entry("deposit_kept", order, _release(order.deposit_kept, kept), source, memo)
    if order.refunded >= d:
        refund = Posting(parties.CLEARING, Account.DEPOSIT_REFUND, d)
        return _entry("deposit_refund", order, _release(d, refund), source, f"deposit {d} of order {order.id} refunded")
    return None


def _release(amount: int, to: Posting) -> tuple[Posting, ...]:
    return Posting(parties.CLEARING, Account.DEPOSIT_HELD, -amount), to
