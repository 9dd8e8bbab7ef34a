"""Statements: a party's lines in a period, each with the running balance.

A statement is cut on posting time, in one database snapshot: opening is the party's balance before
period_start, each line adds its amount to the running balance, and closing = opening + sum(lines), which
is the party's balance at period_end. Each line's running balance must equal the balance the ledger wrote
on it when it was posted; a difference means the ledger was tampered with, and the statement is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onepool_kernel.errors import FailedPrecondition

from onepool_settlement.domain import events
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
) -> Statement:
    if len(lines) > max_lines:
        raise FailedPrecondition(
            "STATEMENT_TOO_LARGE",
            f"the period holds more than {max_lines} lines for {party}; ask for a shorter period",
            {"party": party, "max_lines": str(max_lines)},
        )
    running = opening
    out: list[StatementLine] = []
    for line in lines:
        running += line.amount
        if running != line.balance_after:
            raise LedgerInconsistent(
                f"line {line.id} of {party}: running balance {running} != stored {line.balance_after}"
            )
        out.append(StatementLine(line, running))
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
    )
    statement.events.append(events.StatementGenerated(statement))
    return statement
