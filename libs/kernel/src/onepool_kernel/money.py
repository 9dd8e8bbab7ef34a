"""Money: integer minor units (fen, cents) with an ISO 4217 currency. Never a float.

`allocate` is the one way an amount is divided: the largest-remainder (Hamilton) method. Every piece is the
exact share rounded down, and the few units left over go to the pieces with the largest remainders (ties to
the earlier piece, so the result is deterministic). Each piece is therefore within one minor unit of its
exact share, and the pieces sum to the amount exactly. `Money.split` is the same for a `Money`.

Failure modes: combining two currencies raises `ValueError` (a programming error: callers check currencies
where a caller could mix them, and answer INVALID_ARGUMENT or FAILED_PRECONDITION themselves); so does
`allocate` with no weights, or weights that do not sum to more than zero for a non-zero amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000  # basis points in one whole
# Amounts above this are refused at the edges; it keeps every sum far inside int64 (the wire and column type).
MAX_AMOUNT_MINOR = 10**15


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    amount_minor: int

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(currency, 0)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount_minor + other.amount_minor)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount_minor - other.amount_minor)

    def __neg__(self) -> Money:
        return Money(self.currency, -self.amount_minor)

    def times(self, quantity: int) -> Money:
        return Money(self.currency, self.amount_minor * quantity)

    def split(self, weights: Sequence[int]) -> list[Money]:
        """This amount in proportion to `weights`; the pieces sum to it exactly (see `allocate`)."""
        return [Money(self.currency, piece) for piece in allocate(self.amount_minor, weights)]

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency}"


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split `amount` in proportion to integer `weights`; the pieces sum to `amount` exactly.

    Weights may be negative (a reversal splits a refund over an order's positions, and a party that paid a
    fee holds a negative position) as long as they sum to more than zero. Zero weights get zero.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    total = sum(weights)
    if total <= 0:
        if amount == 0:
            return [0] * len(weights)
        raise ValueError("weights must sum to more than zero")
    floors: list[int] = []
    remainders: list[int] = []
    for w in weights:
        q, r = divmod(amount * w, total)  # floor division: also right for negative amounts and weights
        floors.append(q)
        remainders.append(r)
    leftover = amount - sum(floors)  # == sum(remainders) / total, an integer in [0, len(weights))
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:leftover]:
        floors[i] += 1
    return floors


def bps_of(amount: int, bps: int) -> int:
    """`bps` basis points of `amount`, rounded half away from zero."""
    scaled = abs(amount) * bps
    value = (scaled + BPS // 2) // BPS
    return value if amount >= 0 else -value


def proportional_share(whole: int, part: int, of: int) -> int:
    """floor(whole * part / of) in exact integer arithmetic (0 when `of` is 0).

    Rounding down on purpose: repeated shares of one whole (refunds of partial returns) never add up to more
    than the whole; the last share takes what is left.
    """
    if of <= 0:
        return 0
    return whole * part // of


def units_value(line_total: int, units: int, quantity: int) -> int:
    """What `units` of an order line of `quantity` units sold for: the line's total (net of its discount) spread
    over its units, rounded down, so the values of parts of one line never add up to more than its total. Orders
    refunds goods that will not leave by it and settlement prices a fulfillment fee by it: one rule, so the two
    never value the same units apart."""
    return proportional_share(line_total, units, quantity)
