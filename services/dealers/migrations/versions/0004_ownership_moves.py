"""dealers: goods that changed owner other than by a replenishment, each valued and published once

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
        "ownership_moves",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("from_dealer_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("to_dealer_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("order_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("reference", sa.String(length=200), server_default="", nullable=False),
        sa.Column("location_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("ownership_moves")
