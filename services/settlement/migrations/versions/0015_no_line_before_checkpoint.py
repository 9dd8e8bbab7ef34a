"""journal lines dated before the latest balance checkpoint are refused, as lines dated into a closed period are

A checkpoint keeps a party's balance of the lines posted before its instant (migration 0012); a line dated before
it afterwards would be left out of every balance read through it, and of every period snapshot after it, for
good. Postings take their time after holding the period lock, so only a database clock gone backwards (an NTP
step, a fail-over to a host behind) could date one there; the statement check now refuses it like a line dated
before the last closed period's end (one probe of `balance_checkpoints_by_time` per statement), and the posting
fails and is retried as one refused by a period.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = """
CREATE OR REPLACE FUNCTION journal_lines_check_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unbalanced text;
  earliest timestamptz;
BEGIN
  SELECT MIN(created_at) INTO earliest FROM new_lines;
  IF earliest < (SELECT COALESCE(MAX(period_end), '-infinity'::timestamptz) FROM periods) THEN
    RAISE EXCEPTION 'journal line posted into a closed period (%)', earliest USING ERRCODE = 'check_violation';
  END IF;
  IF earliest < (SELECT COALESCE(MAX(at), '-infinity'::timestamptz) FROM balance_checkpoints) THEN
    RAISE EXCEPTION 'journal line posted before a balance checkpoint (%)', earliest USING ERRCODE = 'check_violation';
  END IF;
  SELECT l.entry_id INTO unbalanced
    FROM journal_lines l
   WHERE l.entry_id IN (SELECT DISTINCT entry_id FROM new_lines)
   GROUP BY l.entry_id
  HAVING SUM(l.amount_minor) <> 0
   LIMIT 1;
  IF unbalanced IS NOT NULL THEN
    RAISE EXCEPTION 'journal entry % does not balance', unbalanced USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""

_PREVIOUS = _CHECK.replace(
    """  IF earliest < (SELECT COALESCE(MAX(at), '-infinity'::timestamptz) FROM balance_checkpoints) THEN
    RAISE EXCEPTION 'journal line posted before a balance checkpoint (%)', earliest USING ERRCODE = 'check_violation';
  END IF;
""",
    "",
)


def upgrade() -> None:
    op.execute(_CHECK)


def downgrade() -> None:
    op.execute(_PREVIOUS)
