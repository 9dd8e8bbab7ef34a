"""A stored statement as a CSV file an accountant can open: a header block (party, currency, period, whether
it is final, opening), one row per line with its source references and running balance, and the closing.

Amounts are integer minor units (fen), as everywhere in OnePool; the `currency` column says which. Text is
written as data, never as a formula: a cell starting with =, +, -, @ (a memo from an event) is prefixed with
an apostrophe so spreadsheet programs do not evaluate it (amounts, which may be negative, are numbers and
are left alone). The file is named for the business date its period ends on, in the brand's business time zone
(settings.business_time_zone, the zone the portal's calendar turns months into instants by).
"""

from __future__ import annotations

import csv
import io
from datetime import tzinfo

from onepool_kernel.timestamps import as_utc

from onepool_settlement.domain.statements import Statement

COLUMNS = (
    "line_id",
    "posted_at",
    "occurred_at",
    "entry_id",
    "rule",
    "account",
    "order_id",
    "reference",
    "source_subject",
    "source_event_id",
    "corrects_entry_id",
    "corrects_period_end",
    "memo",
    "currency",
    "amount_minor",
    "running_balance_minor",
)


def _text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _iso(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def statement_csv(st: Statement) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["statement_id", st.id])
    w.writerow(["party", st.party])
    w.writerow(["currency", st.currency])
    w.writerow(["period_start", _iso(st.period_start)])
    w.writerow(["period_end", _iso(st.period_end)])
    w.writerow(["final", "yes" if st.final else "no (the period is still open)"])
    w.writerow(["opening_balance_minor", st.opening])
    w.writerow([])
    w.writerow(COLUMNS)
    for sl in st.lines:
        ln = sl.line
        w.writerow(
            [
                ln.id,
                _iso(ln.created_at),
                _iso(ln.occurred_at),
                ln.entry_id,
                ln.rule,
                ln.account,
                _text(ln.order_id),
                _text(ln.reference),
                ln.source_subject,
                ln.source_event_id,
                ln.corrects_entry_id,
                _iso(ln.corrects_period_end),
                _text(ln.memo),
                ln.currency,
                ln.amount,
                sl.running_balance,
            ]
        )
    w.writerow([])
    w.writerow(["closing_balance_minor", st.closing])
    return out.getvalue().encode("utf-8")


def filename(st: Statement, zone: tzinfo) -> str:
    """Named for the business date (in the brand's `zone`) its period ends on: a month closed at midnight in
    Shanghai ends at 16:00 UTC the day before, which a UTC date would name."""
    end = as_utc(st.period_end).astimezone(zone).date().isoformat() if st.period_end else "open"
    return f"statement-{st.party.replace(':', '-')}-{st.currency}-{end}-{st.id}.csv"
