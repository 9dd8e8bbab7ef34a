"""channel rules: dedicated stock (channel_allocations, stock_levels.dedicated) and sales-cap counters

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


def upgrade() -> None:
    op.add_column("stock_levels", sa.Column("dedicated", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint("dedicated_not_negative", "stock_levels", "dedicated >= 0")
    op.create_check_constraint("dedicated_within_on_hand", "stock_levels", "reserved + dedicated <= on_hand")
    op.create_table(
        "channel_allocations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Integer(), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("quantity > 0", name="channel_allocation_positive"),
        sa.CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_within_quantity"),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "channel_allocations_active",
        "channel_allocations",
        ["sku", "location_id"],
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_index(
        "channel_allocations_ending", "channel_allocations", ["ends_at"], postgresql_where=sa.text("status = 'ACTIVE'")
    )
    op.create_index("channel_allocations_by_channel", "channel_allocations", ["channel_id", "sku"])
    op.create_table(
        "channel_sales",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("cap_units", sa.Integer(), nullable=False),
        sa.Column("cap_version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("counted >= 0", name="counted_not_negative"),
        sa.CheckConstraint("cap_units >= 0", name="cap_not_negative"),
        sa.PrimaryKeyConstraint("channel_id", "sku"),
    )
    # Reservations made before the counters existed count too (a cap set later applies to them).
    op.execute(
        "INSERT INTO channel_sales (channel_id, sku, counted, cap_units) "
        "SELECT r.channel_id, a.sku, sum(CASE WHEN r.status IN ('ACTIVE', 'COMMITTED', 'FULFILLED') "
        "THEN a.quantity ELSE a.fulfilled END), 0 "
        "FROM allocations a JOIN reservations r ON r.id = a.reservation_id WHERE r.channel_id <> '' "
        "GROUP BY r.channel_id, a.sku"
    )


def downgrade() -> None:
    op.drop_table("channel_sales")
    op.drop_index("channel_allocations_by_channel", table_name="channel_allocations")
    op.drop_index("channel_allocations_ending", table_name="channel_allocations")
    op.drop_index("channel_allocations_active", table_name="channel_allocations")
    op.drop_table("channel_allocations")
    op.drop_constraint("dedicated_within_on_hand", "stock_levels")
    op.drop_constraint("dedicated_not_negative", "stock_levels")
    op.drop_column("stock_levels", "dedicated")
