"""Money: integer minor units (fen, cents) with an ISO 4217 currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass

# Orders above this are refused outright; it keeps every sum far inside int64 (the wire and column type).
MAX_AMOUNT_MINOR = 10**15


@dataclass(frozen=True, order=True)
class Money:
    currency: str
    amount: int

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(currency, 0)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount - other.amount)

    def times(self, quantity: int) -> Money:
        return Money(self.currency, self.amount * quantity)

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"


def proportional_share(whole: int, part: int, of: int) -> int:
    """floor(whole * part / of) in exact integer arithmetic (0 when `of` is 0)."""
    if of <= 0:
        return 0
    return whole * part // of
