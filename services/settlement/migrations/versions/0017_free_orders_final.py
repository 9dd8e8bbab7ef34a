"""orders_awaiting_sale.final_at: a paid order of nothing, which never has a sale booked, is paid out once final

A paid order whose total is 0 (a free order: a 100% discount) has no sale to book (rule 1 splits a payment), so
nothing cleared the note an entry posted to it left in orders_awaiting_sale (migration 0016): the goods a dealer's
shop gave up for it were held back from payouts for ever, its return window closed or not. Reading such an order
final (rules.is_final) now stamps its note final_at, written whether or not an entry noted it yet (a later
posting's note keeps it), and a payout holds the lines of a note only while final_at is NULL.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders_awaiting_sale", sa.Column("final_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("orders_awaiting_sale", "final_at")
