"""channels, listings, the stock read model (locations, positions) and the published channel stock

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:29:07.169452
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_stock",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("channel_sku", sa.String(length=128), nullable=False),
        sa.Column("sellable", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "sku"),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("fee_rate_bps", sa.Integer(), nullable=False),
        sa.Column("location_ids", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("location_types", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("max_share_bps", sa.Integer(), nullable=False),
        sa.Column("buffer_units", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("buffer_units >= 0", name="buffer_not_negative"),
        sa.CheckConstraint("fee_rate_bps BETWEEN 0 AND 10000", name="fee_rate_in_range"),
        sa.CheckConstraint("max_share_bps BETWEEN 0 AND 10000", name="max_share_in_range"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index(op.f("ix_channels_owner_dealer_id"), "channels", ["owner_dealer_id"], unique=False)
    op.create_table(
        "stock_locations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "stock_positions",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("sku", "location_id"),
    )
    op.create_index("stock_positions_by_location", "stock_positions", ["location_id"], unique=False)
    op.create_table(
        "listings",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("channel_sku", sa.String(length=128), nullable=False),
        sa.Column("price_currency", sa.String(length=3), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="price_not_negative"),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
        ),
        sa.PrimaryKeyConstraint("channel_id", "sku"),
        sa.UniqueConstraint("channel_id", "channel_sku", name="listings_channel_sku_unique"),
    )
    op.create_index("listings_by_sku", "listings", ["sku"], unique=False)


def downgrade() -> None:
    op.drop_index("listings_by_sku", table_name="listings")
    op.drop_table("listings")
    op.drop_index("stock_positions_by_location", table_name="stock_positions")
    op.drop_table("stock_positions")
    op.drop_table("stock_locations")
    op.drop_index(op.f("ix_channels_owner_dealer_id"), table_name="channels")
    op.drop_table("channels")
    op.drop_table("channel_stock")
