"""ledger, balances, order settlements, channel terms, statements

The journal is append-only (lines can be neither updated nor deleted) and an entry whose lines do not sum
to zero cannot commit (a deferred constraint trigger checks each entry at commit time).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Every entry balances: checked once per inserted line at commit, when all of the entry's lines exist.
_BALANCED = [
    """
CREATE FUNCTION journal_entry_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT COALESCE(SUM(amount_minor), 0) FROM journal_lines WHERE entry_id = NEW.entry_id) <> 0 THEN
    RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
""",
    """
CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_must_balance()
""",
]

_APPEND_ONLY = [
    """
CREATE FUNCTION journal_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only: post a reversing entry instead' USING ERRCODE = 'restrict_violation';
END $$
""",
    """
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION journal_is_append_only()
""",
    """
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
  FOR EACH ROW EXECUTE FUNCTION journal_is_append_only()
""",
]


def upgrade() -> None:
    op.create_table(
        "balances",
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("party", "currency"),
    )
    op.create_table(
        "channels",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("fee_rate_bps", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    op.create_table(
        "journal_entries",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("source_event_id", sa.String(length=64), nullable=False),
        sa.Column("source_subject", sa.String(length=255), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(op.f("ix_journal_entries_order_id"), "journal_entries", ["order_id"], unique=False)
    op.create_index("journal_entries_by_time", "journal_entries", ["created_at"], unique=False)
    op.create_table(
        "order_settlements",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("seller", sa.String(length=80), nullable=False),
        sa.Column("gross", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fee_rate_bps", sa.Integer(), nullable=False),
        sa.Column("brand_share_bps", sa.Integer(), nullable=False),
        sa.Column("reported_paid", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reported_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opening", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("closing", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("statements_by_party", "statements", ["party", "generated_at"], unique=False)
    op.create_table(
        "journal_lines",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("journal_lines_by_order", "journal_lines", ["order_id"], unique=False)
    op.create_index("journal_lines_by_party", "journal_lines", ["party", "currency", "id"], unique=False)
    op.create_index("journal_lines_by_party_time", "journal_lines", ["party", "currency", "created_at"], unique=False)
    op.create_index("journal_lines_by_time", "journal_lines", ["created_at"], unique=False)
    op.create_table(
        "statement_lines",
        sa.Column("statement_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.BigInteger(), nullable=False),
        sa.Column("running_balance", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["journal_lines.id"],
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
        ),
        sa.PrimaryKeyConstraint("statement_id", "seq"),
    )
    for statement in (*_BALANCED, *_APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER journal_entries_append_only ON journal_entries")
    op.execute("DROP TRIGGER journal_lines_append_only ON journal_lines")
    op.execute("DROP TRIGGER journal_entry_balances ON journal_lines")
    op.execute("DROP FUNCTION journal_is_append_only()")
    op.execute("DROP FUNCTION journal_entry_must_balance()")
    op.drop_table("statement_lines")
    op.drop_index("journal_lines_by_time", table_name="journal_lines")
    op.drop_index("journal_lines_by_party_time", table_name="journal_lines")
    op.drop_index("journal_lines_by_party", table_name="journal_lines")
    op.drop_index("journal_lines_by_order", table_name="journal_lines")
    op.drop_table("journal_lines")
    op.drop_index("statements_by_party", table_name="statements")
    op.drop_table("statements")
    op.drop_table("order_settlements")
    op.drop_index("journal_entries_by_time", table_name="journal_entries")
    op.drop_index(op.f("ix_journal_entries_order_id"), table_name="journal_entries")
    op.drop_table("journal_entries")
    op.drop_table("channels")
    op.drop_table("balances")
