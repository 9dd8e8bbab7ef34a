"""orders: the channel version an order's first payment was made under

Only the payment's own events stated it (OrderFacts.channel_version); an order read back stated 0, so when a
later event (shipped, returned) reached settlement before a delayed paid one, settlement booked the sale at
the newest terms it held. Stored now, every event of the order states it.

Existing rows start at 0 (not known: readers use the terms they hold, as before). A constant default adds the
column without rewriting the table.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("channel_version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("orders", "channel_version")
