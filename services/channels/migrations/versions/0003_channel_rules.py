"""channel rules: listings' sales caps and versions, the dedicated-stock and channel-sales read models, and
each published number's breakdown by rule

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


def upgrade() -> None:
    op.add_column("listings", sa.Column("sales_cap_units", sa.Integer(), server_default="0", nullable=False))
    op.add_column("listings", sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))
    for column in ("exposed", "dedicated", "sales_cap_units", "sales_counted"):
        op.add_column("channel_stock", sa.Column(column, sa.Integer(), server_default="0", nullable=False))
        op.alter_column("channel_stock", column, server_default=None)
    op.create_table(
        "dedicated_stock",
        sa.Column("allocation_id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("allocation_id"),
    )
    op.create_index("dedicated_stock_by_channel_sku", "dedicated_stock", ["channel_id", "sku"], unique=False)
    op.create_table(
        "channel_sales",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "sku"),
    )


def downgrade() -> None:
    op.drop_table("channel_sales")
    op.drop_index("dedicated_stock_by_channel_sku", table_name="dedicated_stock")
    op.drop_table("dedicated_stock")
    for column in ("exposed", "dedicated", "sales_cap_units", "sales_counted"):
        op.drop_column("channel_stock", column)
    op.drop_column("listings", "version")
    op.drop_column("listings", "sales_cap_units")
