"""channels: a trade the marketplace closed stays closed (closed_trades)

Webhooks arrive out of order: a closed trade's earlier open or paid copy, delivered after the close, was placed
as a new order (paid: its goods shipped for a refunded trade; unpaid: its stock held for the payment window).
The closed copy's import now records the trade here before it looks for the order, and an open copy's import
reads it before and after placing. One row per closed trade, kept (no purge yet). A new table: online.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "closed_trades",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("external_order_id", sa.String(length=128), nullable=False),
        sa.Column("marketplace_status", sa.String(length=64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "external_order_id"),
    )


def downgrade() -> None:
    op.drop_table("closed_trades")
