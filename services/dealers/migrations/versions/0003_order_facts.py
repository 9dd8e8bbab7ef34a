"""dealers: keep orders' facts (open, paid) for each dealer order instead of orders' status

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The read model is rebuilt from orders' events; rows kept so far are paid when money was reported.
    op.add_column("dealer_orders", sa.Column("paid", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE dealer_orders SET paid = paid_minor > 0")
    op.drop_column("dealer_orders", "status")


def downgrade() -> None:
    op.add_column("dealer_orders", sa.Column("status", sa.String(length=32), server_default="", nullable=False))
    op.drop_column("dealer_orders", "paid")
