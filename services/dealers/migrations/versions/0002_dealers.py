"""dealers, locations, wholesale prices, replenishments and read models

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:29:52.193462
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
        "dealer_orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("net_sales_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index("dealer_orders_by_created", "dealer_orders", ["dealer_id", "created_at"], unique=False)
    op.create_index(
        "dealer_orders_open", "dealer_orders", ["dealer_id"], unique=False, postgresql_where=sa.text("open")
    )
    op.create_table(
        "dealer_settlement",
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("dealer_id", "currency"),
    )
    op.create_table(
        "dealer_stock",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("location_id", "sku"),
    )
    op.create_index(op.f("ix_dealer_stock_dealer_id"), "dealer_stock", ["dealer_id"], unique=False)
    op.create_table(
        "dealers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("request_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("credit_limit_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("open_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("received_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("channel_synced_revision", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("credit_limit_minor >= 0", name="credit_limit_not_negative"),
        sa.CheckConstraint("open_minor >= 0", name="open_not_negative"),
        sa.CheckConstraint("received_minor >= 0", name="received_not_negative"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(
        "dealers_channel_unsynced",
        "dealers",
        ["id"],
        unique=False,
        postgresql_where=sa.text("channel_id = '' OR channel_synced_revision < revision"),
    )
    op.create_index(op.f("ix_dealers_channel_id"), "dealers", ["channel_id"], unique=False)
    op.create_index(op.f("ix_dealers_region"), "dealers", ["region"], unique=False)
    op.create_table(
        "locations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("ships", sa.Boolean(), nullable=False),
        sa.Column("pickup", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_locations_owner_dealer_id"), "locations", ["owner_dealer_id"], unique=False)
    op.create_table(
        "wholesale_prices",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("list_price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("list_price_minor >= 0", name="list_price_not_negative"),
        sa.PrimaryKeyConstraint("sku"),
    )
    op.create_table(
        "replenishments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("from_location_id", sa.String(length=64), nullable=False),
        sa.Column("to_location_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=False),
        sa.Column("shipping_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("total_minor >= 0", name="total_not_negative"),
        sa.ForeignKeyConstraint(
            ["dealer_id"],
            ["dealers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("replenishments_by_dealer", "replenishments", ["dealer_id", "seq"], unique=False)
    op.create_index(
        "replenishments_shipping",
        "replenishments",
        ["shipping_requested_at"],
        unique=False,
        postgresql_where=sa.text("shipping_requested_at IS NOT NULL"),
    )
    op.create_table(
        "replenishment_lines",
        sa.Column("replenishment_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("quantity > 0", name="line_quantity_positive"),
        sa.CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        sa.ForeignKeyConstraint(
            ["replenishment_id"],
            ["replenishments.id"],
        ),
        sa.PrimaryKeyConstraint("replenishment_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("replenishment_lines")
    op.drop_index(
        "replenishments_shipping",
        table_name="replenishments",
        postgresql_where=sa.text("shipping_requested_at IS NOT NULL"),
    )
    op.drop_index("replenishments_by_dealer", table_name="replenishments")
    op.drop_table("replenishments")
    op.drop_table("wholesale_prices")
    op.drop_index(op.f("ix_locations_owner_dealer_id"), table_name="locations")
    op.drop_table("locations")
    op.drop_index(op.f("ix_dealers_region"), table_name="dealers")
    op.drop_index(op.f("ix_dealers_channel_id"), table_name="dealers")
    op.drop_index(
        "dealers_channel_unsynced",
        table_name="dealers",
        postgresql_where=sa.text("channel_id = '' OR channel_synced_revision < revision"),
    )
    op.drop_table("dealers")
    op.drop_index(op.f("ix_dealer_stock_dealer_id"), table_name="dealer_stock")
    op.drop_table("dealer_stock")
    op.drop_table("dealer_settlement")
    op.drop_index("dealer_orders_open", table_name="dealer_orders", postgresql_where=sa.text("open"))
    op.drop_index("dealer_orders_by_created", table_name="dealer_orders")
    op.drop_table("dealer_orders")
