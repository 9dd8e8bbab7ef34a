"""channels: the stock feed keeps each location's version and applies only newer (or the same) ones

Two replicas share the stock feed: a location's "disable" whose first attempt failed was redelivered after
the "enable" that followed it and won, so channels sold nothing there while inventory sold from it. Inventory
now publishes a version with every location (inventory.v1.Location.version); `stock_locations` keeps it.

Existing rows start at 0, the version of an event published before inventory had versions: the next event of
the location (or a rebuild) replaces them, whichever version it carries. A constant default adds the column
without rewriting the table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("stock_locations", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("stock_locations", "version")
