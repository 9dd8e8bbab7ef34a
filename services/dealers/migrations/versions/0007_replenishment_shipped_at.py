"""dealers: when a replenishment shipped

The goods' expected arrival at the dealer is reckoned from it, so a repeated expectation request carries the
same content (inventory refuses a request id reused with another). A replenishment shipped before this keeps
its last change as its shipping time while it is SHIPPED (nothing else changes a shipped one); received ones
stay unknown. Adding a nullable column without a default takes no table rewrite.

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
    op.add_column("replenishments", sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE replenishments SET shipped_at = updated_at WHERE status = 'SHIPPED'")


def downgrade() -> None:
    op.drop_column("replenishments", "shipped_at")
