"""channels: the stock read model keeps whether a location ships parcels

A marketplace was offered a pickup-only store's units, yet every order it sends ships, and inventory sources
a SHIP order only from locations that ship: every import was rejected. What a channel is told now counts only
locations that ship (docs/channel-rules.md), so `stock_locations` keeps inventory's `ships`.

Existing rows start as shipping (what every location counted as until now); the next event of the location, or
a rebuild, brings the real value. A constant default adds the column without rewriting the table.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stock_locations", sa.Column("ships", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.drop_column("stock_locations", "ships")
