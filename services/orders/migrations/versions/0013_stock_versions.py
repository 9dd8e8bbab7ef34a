"""orders: the inventory allocation versions an order's lines followed

Orders kept a line's promised date from the news with the newest reservation updated_at. Two inventory
transactions changing different SKUs of one reservation at once (a promise move on A, a fill of B) each publish
the other SKU as they read it; the fill, stamped later, carried A's old date and the promise move was dropped:
the line kept a date no receipt backed. Inventory now versions each allocation (its migration 0012); orders
keeps, per allocation, the highest version its lines followed, as [sku, location_id, version] triples.

Existing rows start with none ('[]': every versioned news is newer; news without versions is still ordered by
stock_seen_at). A constant default adds the column without rewriting the table.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("stock_versions", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("orders", "stock_versions")
