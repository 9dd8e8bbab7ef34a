"""unsettled_orders: paid orders whose sale never booked, for Reconcile

An orders event that cannot be settled is dead-lettered. For an order already settled, what orders reported
with it is kept on its order_settlements row (Reconcile shows the refund or payment the ledger lacks). An
order whose sale itself never booked had no row to keep it on, and Reconcile, which starts from the ledger's
lines, never saw it: a lost sale was invisible. This table keeps those reports; Reconcile lists each order in
it that still has no sale as `missing_sale`.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unsettled_orders",
        sa.Column("order_id", sa.String(length=64), primary_key=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reported_paid", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("reported_refunded", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("unsettled_orders_by_time", "unsettled_orders", ["currency", "created_at"])


def downgrade() -> None:
    op.drop_index("unsettled_orders_by_time", table_name="unsettled_orders")
    op.drop_table("unsettled_orders")
