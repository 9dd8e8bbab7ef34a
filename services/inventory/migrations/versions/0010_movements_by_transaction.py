"""inventory: movements name the transaction that wrote them: ListMovements pages never skip one committed late

A movement's id comes from a sequence when it is inserted, not when its transaction commits, so a movement that
took id 5 and committed after another took id 6 and committed made a reader who had paged past 6 (a client
syncing the stock ledger by next_page_token) miss 5 for ever. Each movement now carries `xact_id`, its
transaction's id (`pg_current_xact_id()`, as a bigint: the 64-bit xid8, which never wraps around), and
ListMovements pages in (xact_id, id) order, only over movements whose transaction is older than every
transaction still running (onepool_runtime.commit_order, as settlement's ListEntries since its 0006).

- The column is added with the constant default 0 (no table rewrite: every existing movement reads 0, and all
  of them were committed before this revision took the table's lock), then defaults to the writing
  transaction's id for every new movement. Existing movements therefore keep their id order, ahead of every new
  one, and a page token of the id order ({"after": id}) reads as (0, id).
- One index per filter ListMovements offers, each ending in (xact_id, id) so that the position and the
  finished-transactions bound are one index range: `movements_by_location_sku_xact` (a location's SKU),
  `movements_by_location_xact` (a location), `movements_by_xact` (every location; a SKU alone filters it).
  They replace `movements_by_location_sku` (location_id, sku, id), which only the id-ordered listing read.
  All are built CONCURRENTLY: stock moves on during the build.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITING_TRANSACTION = "((pg_current_xact_id())::text)::bigint"
INDEXES = {
    "movements_by_location_sku_xact": ["location_id", "sku", "xact_id", "id"],
    "movements_by_location_xact": ["location_id", "xact_id", "id"],
    "movements_by_xact": ["xact_id", "id"],
}


def upgrade() -> None:
    # IF NOT EXISTS: the index builds below commit on their own, so a failure part-way runs this again.
    op.execute("ALTER TABLE movements ADD COLUMN IF NOT EXISTS xact_id bigint NOT NULL DEFAULT 0")
    op.alter_column("movements", "xact_id", server_default=sa.text(WRITING_TRANSACTION))
    for name, columns in INDEXES.items():
        create_index_online(name, "movements", columns)
    with op.get_context().autocommit_block():
        op.drop_index("movements_by_location_sku", table_name="movements", postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "movements_by_location_sku",
            "movements",
            ["location_id", "sku", "id"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        for name in INDEXES:
            op.drop_index(name, table_name="movements", postgresql_concurrently=True, if_exists=True)
    op.drop_column("movements", "xact_id")
