"""orders: an index of the orders whose goods all left but that have no return deadline

Migration 0016 gave every order already there its deadline, but it ran before the rollout: an order a replica
still on the previous release shipped afterwards got none (that release's save does not write it), and the
return-window closer only looked at orders with a deadline, so it stayed returnable for ever and its income was
never final. The closer now also finds these (service_layer/return_windows.py) and fixes their deadline. This
index holds only them (a new release fixes the deadline in the save that moves an order to SHIPPED), so it stays
tiny and the closer's look is cheap on every pass. Built CONCURRENTLY.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "orders_return_window_unfixed"


def upgrade() -> None:
    create_index_online(
        NAME,
        "orders",
        ["id"],
        postgresql_where=sa.text("returnable_until IS NULL AND status IN ('SHIPPED', 'COMPLETED')"),
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(NAME, table_name="orders", postgresql_concurrently=True, if_exists=True)
