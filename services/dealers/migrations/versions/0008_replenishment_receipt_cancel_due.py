"""dealers: a received replenishment whose expected receipt is still to be cancelled

A replenishment received other than by a successful ReceiveReplenishment (inventory's transfer.received event,
or a cancel that failed) left its expected receipt open, so the dealer's channel could presell units that had
already arrived. The flag is kept until inventory confirms the cancel; the recovery loop scans for it.
Replenishments received before this are marked too: cancelling a receipt that is already cancelled, closed
or was never made changes nothing, so the loop cancels those left open and only clears the rest. Adding a
column with a constant default takes no table rewrite; the loop's index is built CONCURRENTLY, the table being
written while it builds.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "replenishments",
        sa.Column("receipt_cancel_due", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE replenishments SET receipt_cancel_due = true WHERE status = 'RECEIVED'")
    create_index_online(
        "replenishments_receipt_cancel_due", "replenishments", ["seq"], postgresql_where=sa.text("receipt_cancel_due")
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "replenishments_receipt_cancel_due",
            table_name="replenishments",
            postgresql_concurrently=True,
            if_exists=True,
        )
    op.drop_column("replenishments", "receipt_cancel_due")
