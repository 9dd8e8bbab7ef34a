"""orders: the channels' terms (currency, catalogue) and listings, line discounts and shipping fees

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
    # Copies made before this revision learn currency and catalogue when channels re-announces at start.
    op.add_column("channels", sa.Column("currency", sa.String(length=3), server_default="", nullable=False))
    op.add_column("channels", sa.Column("catalogue", sa.String(length=16), server_default="LISTINGS", nullable=False))
    op.create_table(
        "channel_listings",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("price_currency", sa.String(length=3), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "sku"),
    )
    op.add_column("orders", sa.Column("shipping_fee_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("order_lines", sa.Column("discount_minor", sa.BigInteger(), server_default="0", nullable=False))
    op.create_check_constraint(
        "discount_within_line", "order_lines", "discount_minor >= 0 AND discount_minor <= unit_price_minor * quantity"
    )


def downgrade() -> None:
    op.drop_constraint("discount_within_line", "order_lines")
    op.drop_column("order_lines", "discount_minor")
    op.drop_column("orders", "shipping_fee_minor")
    op.drop_table("channel_listings")
    op.drop_column("channels", "catalogue")
    op.drop_column("channels", "currency")
