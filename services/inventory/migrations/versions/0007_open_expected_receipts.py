"""inventory: the expected receipts still open, indexed (what GetAvailability and Reserve read as expected)

Every read of the units expected (GetAvailability, a Reserve batch that may wait for goods) joins the SKUs'
receipt lines to their receipts and keeps the OPEN ones; the planner found those by a seq scan of every expected
receipt ever made, so the reads grew with the purchase-order history. A partial index on the open receipts
bounds them by what is open. Built CONCURRENTLY, the table being written while it builds.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_online(
        "expected_receipts_open", "expected_receipts", ["id"], postgresql_where=sa.text("status = 'OPEN'")
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "expected_receipts_open", table_name="expected_receipts", postgresql_concurrently=True, if_exists=True
        )
