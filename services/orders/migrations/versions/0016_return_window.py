"""orders: the return window (returnable_until), and the copy of each channel's window

A COMPLETED order was returnable for ever, so no moment made a sale's income final against returns: a dealer
could ship its own sale, borrow on the income, reorder, and return the sale. An order's return deadline is now
fixed when its last goods leave (the channel's window from then), and the return-window closer publishes
orders.order.return_window_closed once it passes.

Existing orders whose goods all left get their deadline from when the last left and the channel's window
(7 days for every channel copy, as channels' own migration gives every channel). Those already past it are
marked closed without an event: readers counted them final under the rule of their time (paid with all goods
gone), so there is nothing to release; the others are closed by the closer when their time comes.

Online: the columns have constant defaults (no table rewrite); the orders already there are filled in batches by
primary key, each committed on its own (no long lock on orders being returned); the index is built CONCURRENTLY.
An order a replica still on the previous release ships during the rollout gets no deadline: its events state it
final at shipment under the old rule (facts_version 1), which readers trust, and it stays returnable as before.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BATCH = 10_000

# One batch: the next BATCH orders after :after by id, those whose goods all left given their deadline (closed
# already if it passed); returns the last id it read (NULL: none left).
_FILL_BATCH = sa.text("""
WITH batch AS (SELECT id FROM orders WHERE id > :after ORDER BY id LIMIT :n),
gone AS (
  SELECT f.order_id,
         max(f.shipped_at) + make_interval(days => COALESCE(max(c.return_window_days), 7)) AS deadline
  FROM fulfillments f JOIN batch b ON b.id = f.order_id
       JOIN orders o ON o.id = f.order_id LEFT JOIN channels c ON c.id = o.channel_id
  GROUP BY f.order_id
  HAVING bool_and(f.status IN ('SHIPPED', 'PICKED_UP', 'CANCELLED'))
     AND bool_or(f.status IN ('SHIPPED', 'PICKED_UP')) AND max(f.shipped_at) IS NOT NULL),
filled AS (
  UPDATE orders o SET returnable_until = g.deadline, return_window_closed = g.deadline <= now()
  FROM gone g
  WHERE o.id = g.order_id AND o.status NOT IN ('CANCELLED', 'REJECTED') AND o.returnable_until IS NULL)
SELECT max(id) FROM batch
""")


def upgrade() -> None:
    op.add_column("channels", sa.Column("return_window_days", sa.Integer(), server_default="7", nullable=False))
    op.add_column("orders", sa.Column("returnable_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "orders", sa.Column("return_window_closed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        after: str | None = ""
        while after is not None:
            after = bind.scalar(_FILL_BATCH, {"after": after, "n": BATCH})
    create_index_online(
        "orders_return_window_open",
        "orders",
        ["returnable_until"],
        postgresql_where=sa.text("returnable_until IS NOT NULL AND NOT return_window_closed"),
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("orders_return_window_open", table_name="orders", postgresql_concurrently=True, if_exists=True)
    op.drop_column("orders", "return_window_closed")
    op.drop_column("orders", "returnable_until")
    op.drop_column("channels", "return_window_days")
