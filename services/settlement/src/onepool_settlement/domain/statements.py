"""Statements: a party's lines in a period, each with the running balance.

A statement is cut on posting time, in one database snapshot: opening is the party's balance before
period_start, each line (in posting order: time, then id) adds its amount to the running balance, and
closing = opening + sum(lines), which is the party's balance at period_end.

A statement whose period_end is in a closed period is final: nothing can post into it any more, so it is
the same whenever it is generated. Its closing must equal the balance kept when that period was closed; a
difference means the ledger was altered outside the service, and the statement is refused
(LedgerInconsistent, never the caller's fault). A statement reaching into the open period is provisional:
it is stored as generated, but a later one of the same period may hold more lines.

A statement whose opening or a running balance has left int64 is refused: FAILED_PRECONDITION
BALANCE_OUT_OF_RANGE (limits.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onepool_kernel.errors import FailedPrecondition

from onepool_settlement.domain import events, limits
from onepool_settlement.domain.model import JournalLine


class LedgerInconsistent(RuntimeError):
    """A stored running balance disagrees with the sum of the lines: never the caller's fault."""


@dataclass(frozen=True)
class StatementLine:
    line: JournalLine
    running_balance: int


@dataclass
class Statement:
    id: str
    party: str
    currency: str
    period_start: datetime
    period_end: datetime
    opening: int
    lines: list[StatementLine]
    closing: int
    generated_at: datetime | None = None
    line_count: int = 0
    final: bool = False
    events: list[Any] = field(default_factory=list, repr=False, compare=False)


def build_statement(
    statement_id: str,
    party: str,
    currency: str,
    period_start: datetime,
    period_end: datetime,
    opening: int,
    lines: list[JournalLine],
    *,
    max_lines: int,
    generated_at: datetime | None = None,
    final: bool = False,
    kept_closing: int | None = None,
) -> Statement:
    """kept_closing: for a final statement ending exactly at a closed period's end, the balance kept then."""
    if len(lines) > max_lines:
        raise FailedPrecondition(
            "STATEMENT_TOO_LARGE",
            f"the period holds more than {max_lines} lines for {party}; ask for a shorter period",
            {"party": party, "max_lines": str(max_lines)},
        )
    what = {"party": party, "currency": currency}
    running = limits.reportable(opening, f"{party}'s opening balance", **what)
    out: list[StatementLine] = []
    for line in lines:
        running += line.amount
        out.append(StatementLine(line, limits.reportable(running, f"{party}'s running balance", **what)))
    if kept_closing is not None and running != kept_closing:
        raise LedgerInconsistent(
            f"{party}: closing {running} at {period_end.isoformat()} != {kept_closing} kept when the period closed"
        )
    statement = Statement(
        id=statement_id,
        party=party,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        opening=opening,
        lines=out,
        closing=running,
        generated_at=generated_at,
        line_count=len(out),
        final=final,
    )
    statement.events.append(events.StatementGenerated(statement))
    return statement
