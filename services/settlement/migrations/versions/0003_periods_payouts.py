"""closed periods with balance snapshots, payouts, locations; postings no longer update balance rows

- `balances` is dropped: every posting used to update the brand's and clearing's row, so all orders
  serialised on two rows. A balance is now the last closed period's snapshot plus the lines posted since.
- `journal_lines.balance_after` is no longer written (default 0; kept so old lines keep their value).
- `journal_entries` gains `reference` and, for late entries, `corrects_entry_id` / `corrects_period_end`.
- `statements.final`: generated after its period closed, so it can never change.
- `periods` (closed periods) and `period_balances` (each party's balance at a closed period's end).
- `payouts`, and `locations` (owner of each location, from inventory.location.upserted).

`hold_open_period(key)` takes the shared side of the period lock and returns the end of the last closed
period, in one round trip (a posting calls it once per transaction; ClosePeriod takes the lock exclusively).

A trigger refuses journal lines posted before the end of the last closed period (the code's own guard is
the period lock; this one holds even against a bug).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_INTO_CLOSED = [
    """
CREATE FUNCTION journal_line_not_in_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.created_at < (SELECT COALESCE(MAX(period_end), '-infinity'::timestamptz) FROM periods) THEN
    RAISE EXCEPTION 'journal line posted into a closed period (%)', NEW.created_at
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$
""",
    """
CREATE TRIGGER journal_lines_not_in_closed_period BEFORE INSERT ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION journal_line_not_in_closed_period()
""",
]


_HOLD_OPEN_PERIOD = """
CREATE FUNCTION hold_open_period(lock_key bigint) RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(lock_key);
  RETURN (SELECT MAX(period_end) FROM periods);
END $$
"""


def _ts(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=nullable, server_default=sa.text("now()") if default else None
    )


def upgrade() -> None:
    op.drop_table("balances")
    op.alter_column("journal_lines", "balance_after", server_default="0")
    op.add_column("journal_entries", sa.Column("reference", sa.String(length=255), server_default="", nullable=False))
    op.add_column(
        "journal_entries", sa.Column("corrects_entry_id", sa.String(length=64), server_default="", nullable=False)
    )
    op.add_column("journal_entries", _ts("corrects_period_end", nullable=True))
    op.add_column("statements", sa.Column("final", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "periods",
        _ts("period_end"),
        _ts("period_start", nullable=True),
        _ts("closed_at", default=True),
        sa.PrimaryKeyConstraint("period_end"),
    )
    op.create_table(
        "period_balances",
        _ts("period_end"),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period_end", "party", "currency"),
    )
    op.create_index("period_balances_by_party", "period_balances", ["party", "currency", "period_end"])
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _ts("period_end"),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("payouts_by_party", "payouts", ["party", "created_at"])
    op.create_table(
        "locations",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), server_default="", nullable=False),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("location_id"),
    )
    for statement in (*_NOT_INTO_CLOSED, _HOLD_OPEN_PERIOD):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER journal_lines_not_in_closed_period ON journal_lines")
    op.execute("DROP FUNCTION journal_line_not_in_closed_period()")
    op.execute("DROP FUNCTION hold_open_period(bigint)")
    op.drop_table("locations")
    op.drop_index("payouts_by_party", table_name="payouts")
    op.drop_table("payouts")
    op.drop_index("period_balances_by_party", table_name="period_balances")
    op.drop_table("period_balances")
    op.drop_table("periods")
    op.drop_column("statements", "final")
    for column in ("corrects_period_end", "corrects_entry_id", "reference"):
        op.drop_column("journal_entries", column)
    op.alter_column("journal_lines", "balance_after", server_default=None)
    op.create_table(
        "balances",
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("party", "currency"),
    )
