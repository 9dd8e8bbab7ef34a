"""dealers: the order view keeps orders' revision of each order and only moves to a higher one

The view kept the state with the latest updated_at, the clock of whichever orders replica made the change: a
cancellation stamped by a replica whose clock ran behind the one that recorded the payment was dropped, and an
event without the stamp replaced any state. Orders now counts each order's changes (OrderFacts.revision).

Existing rows start at 0, the revision of an event published before orders counted them: such states are
ordered by updated_at as before. A constant default adds the column without rewriting the table.

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
    op.add_column("dealer_orders", sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("dealer_orders", "revision")
