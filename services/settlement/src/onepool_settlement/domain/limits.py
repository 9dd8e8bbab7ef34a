"""How large an amount the ledger holds. Every amount is bounded alone (the kernel's MAX_AMOUNT_MINOR, checked
where it comes in), but a party's balance is a running total of them: enough postings in bounds would take it
past int64, the wire's and the columns' type. Two guards keep that from becoming an INTERNAL error:

- A posting a caller asks for (RecordPayment, CreatePayout) is refused if it would take a party's balance
  beyond +-BALANCE_BOUND (2**62), unless it brings that balance closer to zero (the way back from an
  over-large balance stays open). The check reads the balances without a lock: concurrent payments can each
  pass and overshoot the bound by their own amounts together, which is far inside the int64 margin above it.
- Events are not checked per posting (no balance read on the hot path): each amount is bounded alone
  (entrypoints/events_in.py), so reaching int64 takes thousands of the largest possible events. A balance or
  total that has nevertheless left int64 is reported, wherever it would be sent or stored (GetBalance, a
  statement, ClosePeriod's kept balances, Reconcile's totals), as FAILED_PRECONDITION BALANCE_OUT_OF_RANGE
  naming it, never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping

from onepool_kernel.errors import FailedPrecondition

BALANCE_BOUND = 2**62
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def fits(amount: int) -> bool:
    return INT64_MIN <= amount <= INT64_MAX


def reportable(amount: int, what: str, **metadata: str) -> int:
    """`amount` if it fits the wire and the columns; FAILED_PRECONDITION BALANCE_OUT_OF_RANGE otherwise."""
    if not fits(amount):
        raise FailedPrecondition(
            "BALANCE_OUT_OF_RANGE",
            f"{what} ({amount}) is beyond what a 64-bit amount holds; it cannot be reported or kept until "
            "postings bring it back",
            {**metadata, "amount": str(amount)},
        )
    return amount


def check_posting(currency: str, before: Mapping[str, int], moves: Mapping[str, int]) -> None:
    """Refuse (FAILED_PRECONDITION BALANCE_LIMIT) a posting moving each party's balance `before[party]` by
    `moves[party]` if one ends beyond +-BALANCE_BOUND further from zero than it was, or moves by more than
    the bound at once (a payout of an over-large balance: no line could hold it)."""
    for party, move in sorted(moves.items()):
        was = before.get(party, 0)
        after = was + move
        if abs(move) > BALANCE_BOUND or (abs(after) > BALANCE_BOUND and abs(after) > abs(was)):
            raise FailedPrecondition(
                "BALANCE_LIMIT",
                f"the posting would take {party}'s balance to {after}, beyond the +-{BALANCE_BOUND} the ledger holds",
                {"party": party, "currency": currency, "balance": str(was), "bound": str(BALANCE_BOUND)},
            )
