"""orders: a revision per order, one more with every saved change

Order events stated the order's state with updated_at alone, the clock of the replica that made the change:
readers keeping the latest state (dealers' order view) kept a payment stamped by a replica whose clock ran
ahead over the cancellation that followed it. The revision is counted under the order's row lock, so it orders
the changes whatever the clocks; events carry it (OrderFacts.revision).

Existing rows start at 0 and count on from there: their events published so far carry no revision, and readers
order those by updated_at as before. A constant default adds the column without rewriting the table.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("orders", "revision")
