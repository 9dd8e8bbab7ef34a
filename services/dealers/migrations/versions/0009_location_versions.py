"""dealers: the copy of each location keeps inventory's version and only moves to a newer one

Dealers applied whichever location arrived last (an event redelivered after a later one, AddDealerLocation's
answer after the event of a later change), so a copy could go back to a disabled location that inventory had
enabled again and placements to it were refused. Inventory now publishes a version with every location
(inventory.v1.Location.version); the copy keeps it.

Existing rows start at 0, the version of an event published before inventory had versions: the next event of
the location replaces them, whichever version it carries. A constant default adds the column without
rewriting the table.

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
    op.add_column("locations", sa.Column("version", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("locations", "version")
