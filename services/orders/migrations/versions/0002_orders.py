"""orders: the unified order (lines, fulfilments, returns), One-ID customers, and the stock-request outbox

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("external_order_id", sa.String(length=128), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("payment_ref", sa.String(length=128), nullable=False),
        sa.Column("reservation_id", sa.String(length=64), nullable=False),
        sa.Column("reservation_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reserve_attempt", sa.Integer(), nullable=False),
        sa.Column("payment_ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("customer", postgresql.JSONB(), nullable=False),
        sa.Column("fulfillment", postgresql.JSONB(), nullable=False),
        sa.Column("shortfalls", postgresql.JSONB(), nullable=False),
        sa.Column("next_recovery_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("paid_minor >= 0", name="paid_not_negative"),
        sa.CheckConstraint("refunded_minor >= 0 AND refunded_minor <= paid_minor", name="refund_within_paid"),
        sa.CheckConstraint("total_minor >= 0", name="total_not_negative"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", "external_order_id", name="orders_channel_external_id"),
    )
    op.create_index("orders_by_channel", "orders", ["channel_id", "created_at", "id"], unique=False)
    op.create_index("orders_by_created", "orders", ["created_at", "id"], unique=False)
    op.create_index("orders_by_customer", "orders", ["customer_id", "created_at", "id"], unique=False)
    op.create_index("orders_by_dealer", "orders", ["dealer_id", "created_at", "id"], unique=False)
    op.create_index(
        "orders_pending", "orders", ["next_recovery_at"], unique=False, postgresql_where="status = 'PENDING'"
    )
    op.create_table(
        "stock_requests",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        "stock_requests_open",
        "stock_requests",
        ["order_id", "seq"],
        unique=False,
        postgresql_where="done_at IS NULL AND failed_at IS NULL",
    )
    op.create_table(
        "customer_identities",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    op.create_index(op.f("ix_customer_identities_customer_id"), "customer_identities", ["customer_id"], unique=False)
    op.create_table(
        "fulfillments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tracking_no", sa.String(length=128), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_fulfillments_location_id"), "fulfillments", ["location_id"], unique=False)
    op.create_index(op.f("ix_fulfillments_order_id"), "fulfillments", ["order_id"], unique=False)
    op.create_index(op.f("ix_fulfillments_owner_dealer_id"), "fulfillments", ["owner_dealer_id"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("channel_sku", sa.String(length=128), nullable=False),
        sa.Column("returned_quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="line_quantity_positive"),
        sa.CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity", name="returned_within_quantity"),
        sa.CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("order_id", "sku"),
    )
    op.create_table(
        "order_returns",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("refund_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_order_returns_order_id"), "order_returns", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_returns_order_id"), table_name="order_returns")
    op.drop_table("order_returns")
    op.drop_table("order_lines")
    op.drop_index(op.f("ix_fulfillments_owner_dealer_id"), table_name="fulfillments")
    op.drop_index(op.f("ix_fulfillments_order_id"), table_name="fulfillments")
    op.drop_index(op.f("ix_fulfillments_location_id"), table_name="fulfillments")
    op.drop_table("fulfillments")
    op.drop_index(op.f("ix_customer_identities_customer_id"), table_name="customer_identities")
    op.drop_table("customer_identities")
    op.drop_index(
        "stock_requests_open", table_name="stock_requests", postgresql_where="done_at IS NULL AND failed_at IS NULL"
    )
    op.drop_table("stock_requests")
    op.drop_index("orders_pending", table_name="orders", postgresql_where="status = 'PENDING'")
    op.drop_index("orders_by_dealer", table_name="orders")
    op.drop_index("orders_by_customer", table_name="orders")
    op.drop_index("orders_by_created", table_name="orders")
    op.drop_index("orders_by_channel", table_name="orders")
    op.drop_table("orders")
    op.drop_table("customers")
