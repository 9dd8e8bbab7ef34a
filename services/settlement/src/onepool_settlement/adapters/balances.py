"""Balances at an instant, from checkpoints (migration 0012).

A party's balance at an instant is the sum of its lines posted before it. Summed from the beginning, or from the
last closed period, it grows with the ledger: periods close when an operator closes them. So balances are kept at
instants between closes as lines accumulate, as `balance_checkpoints` rows (service_layer/checkpoints.py), and
the period snapshots are kept at each close (`period_balances`). A balance at an instant is the latest of either
at or before it, plus the party's lines from it up to the instant. Every row is exact on its own, so which rows
exist is a matter of speed only, never of what a balance reads.

A row at `at` may be written only once no line can be posted before `at` any more: postings hold the period lock
shared and take their posting time after they have it, so once a transaction has held it exclusively and read
the time, every line before that time has committed and every later one is posted after it (repository.
quiet_instant). A period close writes its snapshots under that lock too.

Which parties get a row: those with lines since the previous checkpoint (or the last period close, if later),
at most about `lines` lines per statement (`CHECKPOINT_CAP`). Checkpoints and closes are written one at a time
(CHECKPOINT_LOCK_KEY), so the intervals they cover follow each other, and a close finds every party that moved
in its period among the parties checkpointed and the lines since the last checkpoint (`CLOSING_BALANCES`).
A line dated before the latest checkpoint is refused, as one before a closed period is (migration 0015): only a
clock gone backwards could post one, and it would change a balance every checkpoint after it has kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onepool_runtime.columns import core_tables
from sqlalchemy import Select, literal_column, select, union_all

from onepool_settlement.adapters.orm import BalanceCheckpointRow, PeriodBalanceRow

(_CHECKPOINTS,) = core_tables(BalanceCheckpointRow)
(_SNAPSHOTS,) = core_tables(PeriodBalanceRow)

# Held (transaction-scoped) by whoever writes checkpoints or closes a period: one at a time.
CHECKPOINT_LOCK_KEY = 0x5E77_1E_0002


def base_query(party: str, currency: str, when: datetime | None) -> Select[Any]:
    """(at, balance) of the party's latest checkpoint or period snapshot at or before `when` (None: any)."""
    checkpoint = select(_CHECKPOINTS.c.at.label("at"), _CHECKPOINTS.c.balance).where(
        _CHECKPOINTS.c.party == party, _CHECKPOINTS.c.currency == currency
    )
    snapshot = select(_SNAPSHOTS.c.period_end.label("at"), _SNAPSHOTS.c.balance).where(
        _SNAPSHOTS.c.party == party, _SNAPSHOTS.c.currency == currency
    )
    if when is not None:
        checkpoint = checkpoint.where(_CHECKPOINTS.c.at <= when)
        snapshot = snapshot.where(_SNAPSHOTS.c.period_end <= when)
    bases = union_all(
        checkpoint.order_by(_CHECKPOINTS.c.at.desc()).limit(1),
        snapshot.order_by(_SNAPSHOTS.c.period_end.desc()).limit(1),
    ).subquery("bases")
    return select(bases.c.at, bases.c.balance).order_by(literal_column("at").desc()).limit(1)


# Each party's (`m`) balance at :at: its latest base at or before :at, plus its lines from there up to :at.
_BALANCE_AT = """
coalesce(b.balance, 0) + (
  SELECT coalesce(sum(l.amount_minor), 0) FROM journal_lines l
   WHERE l.party = m.party AND l.currency = m.currency
     AND l.created_at >= coalesce(b.at, '-infinity'::timestamptz) AND l.created_at < :at)
"""
_BASE_AT = """
LEFT JOIN LATERAL (
  SELECT bases.at, bases.balance FROM (
    (SELECT c.at, c.balance FROM balance_checkpoints c
      WHERE c.party = m.party AND c.currency = m.currency AND c.at <= :at ORDER BY c.at DESC LIMIT 1)
    UNION ALL
    (SELECT s.period_end, s.balance FROM period_balances s
      WHERE s.party = m.party AND s.currency = m.currency AND s.period_end <= :at ORDER BY s.period_end DESC LIMIT 1)
  ) AS bases ORDER BY bases.at DESC LIMIT 1
) b ON true
"""

# Where the next checkpoint's interval starts: the latest checkpoint, or the last period's end if later (its
# snapshots hold every party up to it).
_SINCE = """
SELECT greatest(coalesce((SELECT max(at) FROM balance_checkpoints), '-infinity'::timestamptz),
                coalesce((SELECT max(period_end) FROM periods), '-infinity'::timestamptz)) AS t
"""

# At least :lines lines posted since the last checkpoint (counts no further than that).
CHECKPOINT_DUE = f"""
WITH since AS ({_SINCE})
SELECT count(*) >= :lines FROM (
  SELECT 1 FROM journal_lines, since WHERE journal_lines.created_at >= since.t LIMIT :lines) AS recent
"""

# Where a checkpoint of about :lines lines ends: just after the :lines-th line since the last checkpoint (None:
# fewer). An instant before a quiet one is quiet too, so a backlog (the first pass after an upgrade, a loop that
# was down) is written a bounded chunk per statement, not in one statement over a month of lines.
CHECKPOINT_CAP = f"""
WITH since AS ({_SINCE})
SELECT l.created_at + interval '1 microsecond' FROM journal_lines l, since
 WHERE l.created_at >= since.t ORDER BY l.created_at OFFSET :lines - 1 LIMIT 1
"""

# A row at :at for every party with lines since the last checkpoint.
WRITE_CHECKPOINTS = f"""
WITH since AS ({_SINCE}),
moved AS (
  SELECT DISTINCT l.party, l.currency FROM journal_lines l, since
   WHERE l.created_at >= since.t AND l.created_at < :at
)
INSERT INTO balance_checkpoints (party, currency, at, balance)
SELECT party, currency, at, balance FROM (
  SELECT m.party, m.currency, CAST(:at AS timestamptz) AS at, {_BALANCE_AT} AS balance
    FROM moved m {_BASE_AT}
) AS kept
-- A balance past int64 (limits.py refuses to report it) is not kept: its party's reads sum from further back.
WHERE balance BETWEEN -9223372036854775808 AND 9223372036854775807
ON CONFLICT DO NOTHING
"""

# Every party's balance at a period's end :at, the previous period having ended at :prev (None for the first):
# the parties of the previous snapshots, those checkpointed in the period and those with lines since its last
# checkpoint.
CLOSING_BALANCES = f"""
WITH RECURSIVE prev AS (SELECT coalesce(CAST(:prev AS timestamptz), '-infinity'::timestamptz) AS t),
last_checkpoint AS (SELECT max(at) AS t FROM balance_checkpoints WHERE at <= :at),
-- Every (party, currency) checkpointed, one probe of the primary key each (the rows are many: one per party
-- moved per checkpoint). Parties checkpointed only after :at are in too: their balance at :at is read as exactly.
checkpointed(party, currency) AS (
  (SELECT party, currency FROM balance_checkpoints ORDER BY party, currency LIMIT 1)
  UNION ALL
  SELECT n.party, n.currency FROM checkpointed k, LATERAL (
    SELECT c.party, c.currency FROM balance_checkpoints c
     WHERE (c.party, c.currency) > (k.party, k.currency) ORDER BY c.party, c.currency LIMIT 1) AS n
),
m AS (
  SELECT s.party, s.currency FROM period_balances s, prev WHERE s.period_end = prev.t
  UNION
  SELECT party, currency FROM checkpointed
  UNION
  SELECT l.party, l.currency FROM journal_lines l, prev, last_checkpoint
   WHERE l.created_at >= greatest(prev.t, coalesce(last_checkpoint.t, prev.t)) AND l.created_at < :at
)
SELECT m.party, m.currency, {_BALANCE_AT} AS balance
  FROM m {_BASE_AT}
"""

# Checkpoints before the last period's end: its snapshots (every party's) stand in for them.
PRUNE_CHECKPOINTS = """
DELETE FROM balance_checkpoints WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM balance_checkpoints WHERE at < (SELECT max(period_end) FROM periods) ORDER BY at LIMIT :batch))
"""
