"""Presale payment terms (docs/presale.md): channels sets them on a channel (CreateChannel / UpdateChannel) and
orders applies its copy of them (PayOrder's deposit and balance, the balance sweeper). Both are this class, so
the terms a channel accepts are the terms orders can apply.

Failure modes: InvalidArgument naming `presale.balance_due_seconds` (negative) or `presale.min_deposit_bps`
(outside 0..9999).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onepool_kernel.errors import FieldViolation, InvalidArgument

_ALL_BPS = 10_000
# A deposit is less than the whole order: the largest least deposit a channel may ask.
MAX_MIN_DEPOSIT_BPS = _ALL_BPS - 1


class DepositRule(StrEnum):
    """What happens to a presale deposit when the balance is not paid in time (orders applies it)."""

    REFUND = "REFUND"
    KEEP = "KEEP"  # 定金不退: the seller keeps it


@dataclass(frozen=True)
class PresaleTerms:
    """How orders on a channel may be paid: a deposit, then the balance within `balance_due_seconds`."""

    # 0: the channel takes no deposits (orders are paid in full).
    balance_due_seconds: int = 0
    # The least deposit, in basis points of the order total (0: any positive amount below the total).
    min_deposit_bps: int = 0
    deposit_rule: DepositRule = DepositRule.REFUND

    def __post_init__(self) -> None:
        problems = []
        if self.balance_due_seconds < 0:
            problems.append(FieldViolation("presale.balance_due_seconds", "must not be negative (0: no deposits)"))
        if not 0 <= self.min_deposit_bps <= MAX_MIN_DEPOSIT_BPS:
            problems.append(FieldViolation("presale.min_deposit_bps", "must be between 0 and 9999"))
        if problems:
            raise InvalidArgument(problems)

    @property
    def takes_deposits(self) -> bool:
        return self.balance_due_seconds > 0
