"""orders: ListOrders by dealer or location and a status reads the orders in that status, not the history

With a status filter, the dealer's and location's pages (adapters/order_listing.py) filtered the order's status
while walking the dealer's or location's fulfillments (or the dealer's sales) newest first: a dealer with
200,000 fulfilled orders, 10 of them PAID, read all 200,000 to fill a page (150 to 175 ms; 200,000 sold: 30 ms;
tests.bench.list_by_status). The status now leads the keyset in three indexes: `orders_by_dealer_status`, and on
fulfillments `order_status`, a copy of the order's status, after the owning dealer and after the location.

The copy is kept by triggers, not by the save: an order's status changes in SAVE_ORDER's UPDATE, whose statement
writes only the fulfillments that changed, and a replica still on the previous release changes it knowing
nothing of the column; an AFTER UPDATE trigger on orders (only when the status changed) sets it on the order's
fulfillments, at the end of the statement, so also on those the same statement inserted; a BEFORE INSERT trigger
on fulfillments sets it from the order on insert. The write cost: per fulfillment inserted, a primary-key read
of its order and two more index entries; per change of an order's status, one update of its fulfillments
(usually one or two rows, each writing an entry in every fulfillments index), and an order insert or status
change one more orders index entry. Partial indexes per open status would be smaller but would still need the
copy, and would leave the closed statuses (CANCELLED: a dealer's few among its history) walking the history.

Online: the column is nullable with no default (no rewrite); the triggers are created before the rows already
there are filled in, in batches by primary key, each committed on its own; the indexes are built
CONCURRENTLY. The reads use them once this release runs, after the migration.

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

BATCH = 10_000
FULFILLMENTS = {"fulfillments_by_owner_status": "owner_dealer_id", "fulfillments_by_location_status": "location_id"}
ORDERS = "orders_by_dealer_status"

_KEEP_STATUS = [
    """
CREATE FUNCTION fulfillment_order_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.order_status IS NULL THEN
    NEW.order_status := (SELECT status FROM orders WHERE id = NEW.order_id);
  END IF;
  RETURN NEW;
END $$
""",
    """
CREATE TRIGGER fulfillments_order_status BEFORE INSERT ON fulfillments
  FOR EACH ROW EXECUTE FUNCTION fulfillment_order_status()
""",
    # The insert above may have read the order's status from before the statement that changes it (SAVE_ORDER
    # inserts fulfillments in the statement that updates the order): this runs after that statement and
    # corrects them too.
    """
CREATE FUNCTION order_status_to_fulfillments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE fulfillments SET order_status = NEW.status
   WHERE order_id = NEW.id AND order_status IS DISTINCT FROM NEW.status;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER orders_status_to_fulfillments AFTER UPDATE OF status ON orders
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION order_status_to_fulfillments()
""",
]

# One batch: the next BATCH fulfillments after :after by id; returns the last id it read (NULL: none left). A
# status change racing it sets the column first (the trigger) or after (waiting on the row): `IS NULL` keeps the
# batch from writing an older status over it.
_FILL_BATCH = sa.text("""
WITH batch AS (SELECT id FROM fulfillments WHERE id > :after ORDER BY id LIMIT :n),
filled AS (
  UPDATE fulfillments f SET order_status = o.status FROM orders o, batch b
  WHERE f.id = b.id AND o.id = f.order_id AND f.order_status IS NULL)
SELECT max(id) FROM batch
""")


def upgrade() -> None:
    op.add_column("fulfillments", sa.Column("order_status", sa.String(32), nullable=True))
    for statement in _KEEP_STATUS:
        op.execute(statement)
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        after: str | None = ""
        while after is not None:
            after = bind.scalar(_FILL_BATCH, {"after": after, "n": BATCH})
    for name, column in FULFILLMENTS.items():
        create_index_online(name, "fulfillments", [column, "order_status", "order_created_at", "order_id"])
    create_index_online(ORDERS, "orders", ["dealer_id", "status", "created_at", "id"])


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in (*FULFILLMENTS, ORDERS):
            op.drop_index(name, postgresql_concurrently=True, if_exists=True)
    op.execute("DROP TRIGGER orders_status_to_fulfillments ON orders")
    op.execute("DROP FUNCTION order_status_to_fulfillments()")
    op.execute("DROP TRIGGER fulfillments_order_status ON fulfillments")
    op.execute("DROP FUNCTION fulfillment_order_status()")
    op.drop_column("fulfillments", "order_status")
