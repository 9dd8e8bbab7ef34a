"""orders: presale (deposits, balance deadlines, kept deposits), lines waiting for stock with their promised
dates, and the channels' presale terms

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("deposit_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("orders", sa.Column("deposit_ref", sa.String(length=128), server_default="", nullable=False))
    op.add_column("orders", sa.Column("balance_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("deposit_kept_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("orders", sa.Column("stock_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint("deposit_within_paid", "orders", "deposit_minor >= 0 AND deposit_minor <= paid_minor")
    op.create_check_constraint(
        "kept_within_deposit", "orders", "deposit_kept_minor >= 0 AND deposit_kept_minor <= deposit_minor"
    )
    # The balance sweeper's scan: only DEPOSIT_PAID orders can lapse.
    op.create_index(
        "orders_balance_due", "orders", ["balance_due_at"], postgresql_where=sa.text("status = 'DEPOSIT_PAID'")
    )
    op.add_column("order_lines", sa.Column("awaiting_quantity", sa.Integer(), server_default="0", nullable=False))
    op.add_column("order_lines", sa.Column("promised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "awaiting_within_quantity", "order_lines", "awaiting_quantity >= 0 AND awaiting_quantity <= quantity"
    )
    op.add_column("channels", sa.Column("balance_due_seconds", sa.Integer(), server_default="0", nullable=False))
    op.add_column("channels", sa.Column("min_deposit_bps", sa.Integer(), server_default="0", nullable=False))
    op.add_column("channels", sa.Column("deposit_rule", sa.String(length=16), server_default="REFUND", nullable=False))


def downgrade() -> None:
    op.drop_column("channels", "deposit_rule")
    op.drop_column("channels", "min_deposit_bps")
    op.drop_column("channels", "balance_due_seconds")
    op.drop_constraint("awaiting_within_quantity", "order_lines")
    op.drop_column("order_lines", "promised_at")
    op.drop_column("order_lines", "awaiting_quantity")
    op.drop_index("orders_balance_due", "orders")
    op.drop_constraint("kept_within_deposit", "orders")
    op.drop_constraint("deposit_within_paid", "orders")
    for column in ("stock_seen_at", "deposit_kept_minor", "balance_due_at", "deposit_ref", "deposit_minor"):
        op.drop_column("orders", column)
