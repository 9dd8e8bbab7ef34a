"""inventory: allocations carry a version, so orders keeps each one's newest waiting state

A reservation's waiting line locks stock rows, not the reservation: a receipt filling SKU B and a reschedule
moving SKU A's promise run at once, and each publishes the whole reservation with the other SKU as it read it.
The fill, stamped later, carried A's old date, and orders (which kept news newer than the newest updated_at)
dropped the promise move that came after it: the line kept a date no receipt backed. Each allocation now has a
version, moved on by one with every change of its waiting state under its stock row's lock and published with
it (inventory.v1.Allocation.version); orders keeps per allocation the state with the highest.

Every existing allocation starts at 1, as a new one does (events published before this revision carry 0, which
orders still orders by updated_at). A constant default adds the column without rewriting the table.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("allocations", sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("allocations", "version")
