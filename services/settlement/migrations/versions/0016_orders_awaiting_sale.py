"""orders_awaiting_sale: orders with income posted before settlement booked their sale, held from payouts

A payout held back the party's positive lines on orders whose settlement row was not final, and took an order
without a row for final (a lapsed presale whose deposit was kept). Goods a dealer's shop gave up for a sale,
their ownership move read before the sale, were therefore paid out while the sale's return window was open
(and for ever, if the sale was dead-lettered). The posting path now notes here each order an entry other than
a deposit's posts to while it has no settlement row; the payout's held sum reads these orders beside those not
final, and booking the sale removes the order (its row then says whether it is final).

Orders posted before this are not noted: nothing says whether their sale is still to come, and holding their
old lines would hold back income long paid out (as migration 0010 took the orders settled before it for final).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "orders_awaiting_sale",
        sa.Column("order_id", sa.String(length=64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )


def downgrade() -> None:
    op.drop_table("orders_awaiting_sale")
