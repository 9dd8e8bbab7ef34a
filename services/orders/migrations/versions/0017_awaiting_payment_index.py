"""orders: an index of the orders awaiting payment (RESERVED), by when they were placed

The waiting-orders gauges (entrypoints/waiting_gauges.py) and `onepool orders stuck` count RESERVED orders and
find the oldest: with no index covering that status each replica scanned the whole orders table every 30 s
(10.5 ms at 100k orders, growing with every order ever placed; 0.27 ms with this index). Built CONCURRENTLY.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "orders_awaiting_payment"


def upgrade() -> None:
    create_index_online(NAME, "orders", ["created_at"], postgresql_where=sa.text("status = 'RESERVED'"))


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(NAME, table_name="orders", postgresql_concurrently=True, if_exists=True)
