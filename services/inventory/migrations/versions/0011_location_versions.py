"""inventory: locations carry a version, so the copies other services keep never go back to an older one

Channels (and dealers) applied whichever LocationUpserted arrived last: with two replicas, a "disable" whose
first attempt failed was redelivered after the "enable" that followed it and won, and the location sold
nothing in channels while inventory sold from it. Each location now has a version, published with it
(inventory.v1.Location.version), that every UpsertLocation changing anything moves on by one; the copies keep
the highest.

Every existing location starts at 1, as a new one does: above the 0 of the events published before this
revision, so one of those delivered late is older than anything published from now on. A constant default
adds the column without rewriting the table.

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
    op.add_column("locations", sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("locations", "version")
