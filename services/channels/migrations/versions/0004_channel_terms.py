"""channels: the catalogue a channel sells (listings or the whole pool), a dealer channel's own-stock rule
(listings' versions come with 0003)

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
    op.add_column("channels", sa.Column("catalogue", sa.String(length=16), server_default="LISTINGS", nullable=False))
    op.add_column(
        "channels", sa.Column("own_stock", sa.String(length=16), server_default="WHOLE_ORDER", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("channels", "own_stock")
    op.drop_column("channels", "catalogue")
