"""channels: presale terms of a channel (deposits and balances), listings' presale allowance and backorder,
the expected-stock read model and the presale numbers of the stock feed

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
    op.add_column("channels", sa.Column("balance_due_seconds", sa.Integer(), server_default="0", nullable=False))
    op.add_column("channels", sa.Column("min_deposit_bps", sa.Integer(), server_default="0", nullable=False))
    op.add_column("channels", sa.Column("deposit_rule", sa.String(length=16), server_default="REFUND", nullable=False))
    op.add_column("listings", sa.Column("presale_units", sa.Integer(), server_default="0", nullable=False))
    op.add_column("listings", sa.Column("allow_backorder", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("channel_sales", sa.Column("presale_counted", sa.Integer(), server_default="0", nullable=False))
    for column in ("presale_sellable", "presale_units", "presale_counted", "expected"):
        op.add_column("channel_stock", sa.Column(column, sa.Integer(), server_default="0", nullable=False))
    op.add_column("channel_stock", sa.Column("allow_backorder", sa.Boolean(), server_default="false", nullable=False))
    # Read model: units still expected and not yet promised, per open receipt, SKU and location.
    op.create_table(
        "expected_stock",
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("unpromised", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("receipt_id", "sku"),
    )
    op.create_index("expected_stock_by_sku", "expected_stock", ["sku"])


def downgrade() -> None:
    op.drop_index("expected_stock_by_sku", "expected_stock")
    op.drop_table("expected_stock")
    op.drop_column("channel_stock", "allow_backorder")
    for column in ("expected", "presale_counted", "presale_units", "presale_sellable"):
        op.drop_column("channel_stock", column)
    op.drop_column("channel_sales", "presale_counted")
    op.drop_column("listings", "allow_backorder")
    op.drop_column("listings", "presale_units")
    op.drop_column("channels", "deposit_rule")
    op.drop_column("channels", "min_deposit_bps")
    op.drop_column("channels", "balance_due_seconds")
