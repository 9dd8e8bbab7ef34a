"""order_settlements.final_at, payouts.held: payouts hold back income from orders that can still be cancelled

A payout paid the party's whole balance, its share of sales still open included: a dealer paid out its share of
its own channel's sale, then the sale was cancelled, owed the brand that share back with the cash already gone
(and more than its credit limit). Settlement now records when an orders event first shows an order final
(closed, or paid with all its goods gone: rules.is_final) and a payout holds back the party's positive lines on
orders not final yet. `payouts.held` keeps what each payout held back.

Orders settled before this get the migration's time as final_at: nothing says whether they are still open, so
they are paid out as before. (now() is evaluated once here: the column is added without rewriting the table,
and the default is then dropped so that new rows start NULL, not final.) The partial index of the orders not
final (what a payout's held sum reads) is built CONCURRENTLY: sales keep being booked during the build.

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


def upgrade() -> None:
    # IF NOT EXISTS: the index is built after a commit (below), so a run that failed during the build runs again.
    op.execute("ALTER TABLE order_settlements ADD COLUMN IF NOT EXISTS final_at timestamptz DEFAULT now()")
    op.execute("ALTER TABLE order_settlements ALTER COLUMN final_at DROP DEFAULT")
    op.execute("ALTER TABLE payouts ADD COLUMN IF NOT EXISTS held bigint NOT NULL DEFAULT 0")
    create_index_online(
        "order_settlements_not_final", "order_settlements", ["order_id"], postgresql_where=sa.text("final_at IS NULL")
    )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "order_settlements_not_final",
            table_name="order_settlements",
            postgresql_concurrently=True,
            if_exists=True,
        )
    op.drop_column("payouts", "held")
    op.drop_column("order_settlements", "final_at")
