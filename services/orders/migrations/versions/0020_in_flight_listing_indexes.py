"""orders: partial indexes for ListOrders filtered by a status in flight (orders, and fulfillments to leave)

A dealer's, a location's or the brand's orders filtered by a status before the goods left (PAID: "to ship")
were read by walking every order or fulfillment of that dealer or location newest first until a page matched:
the last page of a list of 30 paid orders read the whole history, at every refresh of a warehouse's or a
dealer's "to ship" screen. These indexes hold only the orders in flight and the fulfillments still to leave
(the few of any moment), so such a page reads them, not history. Built CONCURRENTLY.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_FLIGHT = "status IN ('DEPOSIT_PAID', 'FULFILLING', 'PAID', 'PENDING', 'READY_FOR_PICKUP', 'RESERVED')"
TO_LEAVE = "status = 'PENDING'"
INDEXES = [
    ("orders_in_flight", "orders", ["status", "created_at", "id"], IN_FLIGHT),
    ("orders_in_flight_by_dealer", "orders", ["dealer_id", "status", "created_at", "id"], IN_FLIGHT),
    ("fulfillments_to_leave_by_owner", "fulfillments", ["owner_dealer_id", "order_created_at", "order_id"], TO_LEAVE),
    ("fulfillments_to_leave_by_location", "fulfillments", ["location_id", "order_created_at", "order_id"], TO_LEAVE),
]


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        create_index_online(name, table, columns, postgresql_where=sa.text(where))


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, _, _ in INDEXES:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
