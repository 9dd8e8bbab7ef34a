"""inventory: the expected receipt lines still bringing units, indexed by SKU (what GetAvailability and Reserve read)

0007 bounded the receipts read by what is open, but the lines were still found by SKU among every line ever
written for it: a best-selling SKU restocked by purchase order every day read a year of received lines to keep
the few still open (an audit: 15,558 lines read for 568 kept, growing every day). A line still brings units
exactly while `quantity > received + shortfall`: receiving, closing short and cancelling bring every line of a
receipt that is no longer OPEN to zero (`ExpectedReceipt._write_off`), so the open receipts' lines that matter are
the ones this partial index holds. Built CONCURRENTLY, the table being written while it builds.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_online(
        "expected_receipt_lines_open",
        "expected_receipt_lines",
        ["sku"],
        postgresql_where=sa.text("quantity > received + shortfall"),
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "expected_receipt_lines_open",
            table_name="expected_receipt_lines",
            postgresql_concurrently=True,
            if_exists=True,
        )
