"""batched postings: journal lines found by entry, one trigger check per statement, payouts by time

- `journal_lines_by_entry` (entry_id): the balance check and `entry_by_key` read an entry's lines by its
  id; without the index each read scanned the whole journal, once per line inserted, so posting slowed
  down as the journal grew (quadratic over a run).
- The per-row checks (`journal_entry_balances`, a deferred constraint trigger summing the entry's lines
  for every line; `journal_lines_not_in_closed_period`, reading the last period for every line) become one
  AFTER INSERT ... FOR EACH STATEMENT trigger over the statement's new lines (a transition table): every
  entry touched must sum to zero and no line may be dated before the last closed period's end. A batch
  of a thousand lines is checked by two queries, not two thousand. What this asks of writers: an entry's
  lines are inserted by one statement (the repository's `post_many` writes them so); a statement leaving an
  entry unbalanced is refused at once rather than at commit.
- `payouts_by_time` (created_at, id): ListPayouts pages every party's payouts oldest first.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK_NEW_LINES = """
CREATE FUNCTION journal_lines_check_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  unbalanced text;
  earliest timestamptz;
BEGIN
  SELECT MIN(created_at) INTO earliest FROM new_lines;
  IF earliest < (SELECT COALESCE(MAX(period_end), '-infinity'::timestamptz) FROM periods) THEN
    RAISE EXCEPTION 'journal line posted into a closed period (%)', earliest USING ERRCODE = 'check_violation';
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

_CHECK_EACH_STATEMENT = """
CREATE TRIGGER journal_lines_checked AFTER INSERT ON journal_lines
  REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION journal_lines_check_statement()
"""


def upgrade() -> None:
    op.create_index("journal_lines_by_entry", "journal_lines", ["entry_id"])
    op.create_index("payouts_by_time", "payouts", ["created_at", "id"])
    op.execute("DROP TRIGGER journal_entry_balances ON journal_lines")
    op.execute("DROP TRIGGER journal_lines_not_in_closed_period ON journal_lines")
    op.execute(_CHECK_NEW_LINES)
    op.execute(_CHECK_EACH_STATEMENT)


def downgrade() -> None:
    op.execute("DROP TRIGGER journal_lines_checked ON journal_lines")
    op.execute("DROP FUNCTION journal_lines_check_statement()")
    op.execute(
        "CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_lines"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()"
    )
    op.execute(
        "CREATE TRIGGER journal_lines_not_in_closed_period BEFORE INSERT ON journal_lines"
        " FOR EACH ROW EXECUTE FUNCTION journal_line_not_in_closed_period()"
    )
    op.drop_index("payouts_by_time", table_name="payouts")
    op.drop_index("journal_lines_by_entry", table_name="journal_lines")
