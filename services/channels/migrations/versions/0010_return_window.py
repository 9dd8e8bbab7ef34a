"""channels: each channel's return window (days an order may be returned after its goods left)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing channels get the 7-day no-reason rule, as a channel created without a window does.
    op.add_column("channels", sa.Column("return_window_days", sa.Integer(), server_default="7", nullable=False))
    op.create_check_constraint("return_window_in_range", "channels", "return_window_days BETWEEN 0 AND 365")


def downgrade() -> None:
    op.drop_constraint("return_window_in_range", "channels")
    op.drop_column("channels", "return_window_days")
