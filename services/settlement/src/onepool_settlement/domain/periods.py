"""Accounting periods: closing the books up to an instant.

A period is cut on posting time. Closing `period_end` means no line can ever be posted before it: postings
hold a shared lock on "the open period" and closing takes it exclusively, so it waits for every posting in
flight, and every posting after it takes a posting time after `period_end` (which is never in the future).
Each party's balance at `period_end` is kept, so balances and statements never sum lines from before it
(between closes, balance checkpoints bound them further: adapters/balances.py).

A late fact (an event whose business time, or the sale it corrects, lies in a closed period) posts into
the first open period and names what it corrects: `JournalEntry.mark_late`.

Failure modes (FailedPrecondition, nothing changes):
- PERIOD_NOT_OVER: period_end is in the future (lines could still be posted before it).
- PERIOD_ALREADY_CLOSED: period_end is before the last closed period's end and no period was closed at
  exactly it (closing an end that was closed, the last or an earlier one, returns that period instead:
  ClosePeriod is idempotent, also for a retry that arrives after a later close).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from onepool_kernel.errors import FailedPrecondition


@dataclass(frozen=True)
class Period:
    period_end: datetime
    period_start: datetime | None = None  # None: the first period, from the beginning of the ledger
    closed_at: datetime | None = None


def check_closable(
    period_end: datetime, last: Period | None, now: datetime, same: Period | None = None
) -> Period | None:
    """The period already closed at `period_end` (an idempotent repeat), or None if it may be closed now.
    same: the closed period ending exactly at `period_end`, if any (not only the last one)."""
    for closed in (same, last):
        if closed is not None and period_end == closed.period_end:
            return closed
    if period_end > now:
        raise FailedPrecondition(
            "PERIOD_NOT_OVER",
            "period_end is in the future: entries could still be posted before it",
            {"period_end": period_end.isoformat(), "now": now.isoformat()},
        )
    if last is not None and period_end < last.period_end:
        raise FailedPrecondition(
            "PERIOD_ALREADY_CLOSED",
            "the books are already closed after period_end",
            {"period_end": period_end.isoformat(), "closed_through": last.period_end.isoformat()},
        )
    return None


def late_period(fact_time: datetime | None, closed: list[datetime]) -> datetime | None:
    """The end of the closed period `fact_time` belongs to (closed: period ends, ascending), or None."""
    if fact_time is None:
        return None
    for end in closed:
        if fact_time < end:
            return end
    return None
