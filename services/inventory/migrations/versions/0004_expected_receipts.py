"""inventory: expected receipts and reservations waiting for them (issue 17, presale and backorder)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expected_receipts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference", sa.String(length=128), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cancel_reason", sa.String(length=500), server_default="", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("expected_receipts_by_location", "expected_receipts", ["location_id", "expected_at"])
    op.create_table(
        "expected_receipt_lines",
        sa.Column("receipt_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shortfall", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("quantity > 0", name="expected_line_positive"),
        sa.CheckConstraint("received >= 0", name="expected_received_not_negative"),
        sa.CheckConstraint("shortfall >= 0", name="expected_shortfall_not_negative"),
        sa.ForeignKeyConstraint(["receipt_id"], ["expected_receipts.id"]),
        sa.PrimaryKeyConstraint("receipt_id", "sku"),
    )
    op.create_index("expected_receipt_lines_by_sku", "expected_receipt_lines", ["sku"])
    # Per (sku, location): units still expected on open receipts, and units of reservations waiting there.
    op.add_column("stock_levels", sa.Column("expected", sa.Integer(), server_default="0", nullable=False))
    op.add_column("stock_levels", sa.Column("awaiting", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint("expected_not_negative", "stock_levels", "expected >= 0")
    op.create_check_constraint("awaiting_not_negative", "stock_levels", "awaiting >= 0")
    op.add_column("allocations", sa.Column("awaiting", sa.Integer(), server_default="0", nullable=False))
    op.add_column("allocations", sa.Column("promised_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("allocations", sa.Column("receipt_id", sa.String(length=64), server_default="", nullable=False))
    op.add_column("allocations", sa.Column("source", sa.String(length=16), server_default="ON_HAND", nullable=False))
    op.add_column("allocations", sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        "awaiting_within_open", "allocations", "awaiting >= 0 AND awaiting + fulfilled <= quantity"
    )
    op.create_index(
        "allocations_waiting", "allocations", ["sku", "location_id"], postgresql_where=sa.text("awaiting > 0")
    )
    op.add_column("channel_sales", sa.Column("presale_units", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "channel_sales", sa.Column("allow_backorder", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("channel_sales", sa.Column("presale_counted", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint("presale_counted_not_negative", "channel_sales", "presale_counted >= 0")


def downgrade() -> None:
    op.drop_constraint("presale_counted_not_negative", "channel_sales")
    for column in ("presale_counted", "allow_backorder", "presale_units"):
        op.drop_column("channel_sales", column)
    op.drop_index("allocations_waiting", table_name="allocations")
    op.drop_constraint("awaiting_within_open", "allocations")
    for column in ("filled_at", "source", "receipt_id", "promised_at", "awaiting"):
        op.drop_column("allocations", column)
    op.drop_constraint("awaiting_not_negative", "stock_levels")
    op.drop_constraint("expected_not_negative", "stock_levels")
    op.drop_column("stock_levels", "awaiting")
    op.drop_column("stock_levels", "expected")
    op.drop_index("expected_receipt_lines_by_sku", table_name="expected_receipt_lines")
    op.drop_table("expected_receipt_lines")
    op.drop_index("expected_receipts_by_location", table_name="expected_receipts")
    op.drop_table("expected_receipts")
