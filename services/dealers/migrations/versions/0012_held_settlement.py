"""dealers: income from an order that is still open is held until the order closes

A dealer paid for its own sale counted its share as credit at once; cancelling the sale after spending that
credit on a replenishment left it owing more than its limit. Positive amounts settlement posts to a dealer from
an order are now held (held_settlement) until dealers hears the order closed (closed_orders); see
domain/income.py.

Amounts counted before this migration stay counted (there is no per-entry history to hold them back). The
dealer orders already known closed are recorded closed, so a late entry of one of them counts at once.

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
        "held_settlement",
        sa.Column("entry_id", sa.String(length=200), nullable=False),
        sa.Column("dealer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("entry_id", "dealer_id", "currency"),
    )
    op.create_index("held_settlement_by_order", "held_settlement", ["order_id"])
    op.create_table(
        "closed_orders",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.execute("INSERT INTO closed_orders (order_id) SELECT order_id FROM dealer_orders WHERE NOT open")


def downgrade() -> None:
    # What is still held is income the dealer was owed: counted again, as before this migration.
    op.execute(
        "INSERT INTO dealer_settlement (dealer_id, currency, net_minor) "
        "SELECT dealer_id, currency, SUM(amount_minor) FROM held_settlement GROUP BY dealer_id, currency "
        "ON CONFLICT (dealer_id, currency) DO UPDATE SET net_minor = dealer_settlement.net_minor + EXCLUDED.net_minor"
    )
    op.drop_table("closed_orders")
    op.drop_index("held_settlement_by_order", table_name="held_settlement")
    op.drop_table("held_settlement")
