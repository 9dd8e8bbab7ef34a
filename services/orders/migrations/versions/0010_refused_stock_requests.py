"""orders: an index of the stock requests inventory refused, by order

Goods may leave only once inventory confirmed the order's reservation commit; ShipFulfillment and ConfirmPickup
look up the order's refused commit (STOCK_NOT_HELD). Refused requests are few and never purged, so the partial
index stays small; the open ones already have stock_requests_open. Built CONCURRENTLY: orders keep writing
stock requests during the build.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


REFUSED = "stock_requests_refused"


def upgrade() -> None:
    create_index_online(REFUSED, "stock_requests", ["order_id"], postgresql_where="failed_at IS NOT NULL")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(REFUSED, table_name="stock_requests", postgresql_concurrently=True, if_exists=True)
