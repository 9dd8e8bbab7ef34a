"""Commands and queries: what callers ask settlement for (validated by the entrypoints)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class GenerateStatement:
    party: str
    currency: str
    period_start: datetime
    period_end: datetime
    # False: the request named no currency and `currency` is the brand's default (handlers.generate_statement).
    currency_named: bool = True


@dataclass(frozen=True)
class ListEntries:
    party: str  # empty: every party (privileged callers only)
    currency: str  # empty: every currency
    order_id: str
    start: datetime | None
    end: datetime | None
    after: tuple[int, int]  # the (xact_id, id) of the previous page's last line; (0, 0) for the first page
    limit: int


@dataclass(frozen=True)
class Reconcile:
    currency: str
    period_start: datetime
    period_end: datetime
    # False: the request named no currency: every currency of the period is checked (handlers.reconcile).
    currency_named: bool = True


@dataclass(frozen=True)
class RecordPayment:
    key: str  # the ledger's business key: payment:<request id in the caller's scope>
    from_party: str
    to_party: str
    currency: str
    amount: int
    fee_retained: int
    reference: str


@dataclass(frozen=True)
class CreatePayout:
    key: str  # payout:<request id in the caller's scope>
    party: str
    currency: str
    period_end: datetime
    # False: the request named no currency and `currency` is the brand's default (handlers.create_payout).
    currency_named: bool = True


@dataclass(frozen=True)
class ListPayouts:
    """Payouts newest first (created time, then id); `after` is the previous page's last (created time, id)."""

    party: str  # empty: every party (privileged callers only)
    after: tuple[datetime, str] | None
    limit: int


@dataclass(frozen=True)
class ClosePeriod:
    period_end: datetime


@dataclass(frozen=True)
class SettleUnpricedMove:
    key: str  # the request id in the caller's idempotency scope: the move records it as what settled it
    move_id: str
    currency: str  # the value's ("" : the move's)
    value: int  # zero or more: what the taker owes the giver for the unpriced goods
