"""orders: when the seller broke a promise to a customer holding a deposit

A presale order paid under a keeping rule (定金不退) lapsed with the deposit kept even when the seller was the
party who failed: its receipt was cancelled (the goods had no date any more) or moved later, and the customer
declined to pay the balance for them. The order now records when that first happened while its deposit was
held, and a lapse then refunds the deposit. A nullable column without a default adds it without rewriting the
table; existing orders read as "not broken" (their history is not replayed).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("promise_broken_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "promise_broken_at")
