"""dealers: keep each ownership move's priced lines, so a returned unit comes back at what it went out at

A unit that left a dealer's location for a sale and came back was priced at the dealer's tier when it left
and again at its tier (and list price) when it came back: a tier change in between charged the dealer more
(or less) than it was paid for the same unit. A return now prices such units at the unit price of the
fulfillment move they left with, which needs that move's lines (domain/ownership.py).

Moves recorded before this migration kept only their total: their returns are priced as before.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ownership_move_lines",
        sa.Column("move_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("quantity > 0", name="line_quantity_positive"),
        sa.CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
        sa.ForeignKeyConstraint(["move_id"], ["ownership_moves.id"]),
        sa.PrimaryKeyConstraint("move_id", "position"),
    )


def downgrade() -> None:
    op.drop_table("ownership_move_lines")
