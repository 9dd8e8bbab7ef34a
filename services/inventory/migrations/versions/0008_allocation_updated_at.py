"""inventory: when the waiting line last changed an allocation

Goods filling a waiting reservation, or its promise moving, change its allocations under the stock row's lock
without locking the reservation's row (reservation rows are locked before stock rows), so the reservation's
updated_at stayed where it was. The allocation rows that line writes now carry the time; a reservation read
takes the latest. Nullable, without a default: adding it rewrites nothing.

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
    op.add_column("allocations", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("allocations", "updated_at")
