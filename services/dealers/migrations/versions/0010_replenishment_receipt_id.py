"""dealers: a replenishment keeps the id of the expected receipt its shipment made

Dealers cancelled "the" expected receipt of a received replenishment by looking up an open receipt at the
dealer's location whose reference was the replenishment id: any receipt citing it, so an operator's advance
shipping notice citing the replenishment could be the one cancelled, and the replenishment's own left open
(the dealer's channel could presell the goods a second time). The id inventory answers ExpectReceipt with is
now kept and the receipt cancelled by it.

Existing rows start empty: dealers falls back to the reference, among the receipts that expect exactly the
replenishment's goods (sagas.py). A constant default adds the column without rewriting the table.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("replenishments", sa.Column("receipt_id", sa.String(length=64), server_default="", nullable=False))


def downgrade() -> None:
    op.drop_column("replenishments", "receipt_id")
