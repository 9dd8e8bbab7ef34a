"""unpriced_moves: goods that changed owner with SKUs nothing priced, kept for Reconcile until settled by hand

Dealers values every ownership move; a SKU without a wholesale list price in the valuing dealer's currency moves
unpriced (named on the event, not in its total). Settlement booked the priced part only, nothing at all for a
move with no priced SKU, so goods changed owner with nothing in the ledger and nothing in Reconcile. Each such
move is now kept here once (its parties, currency, the unpriced SKUs and their units, the order or transfer it
came from, when), and Reconcile lists it as `unpriced_move` until SettleUnpricedMove settles it.

Moves recorded before this are not here (their events were consumed): dealers' WARNING log and
`onepool.dealers.unpriced_moves` named them, and partly priced ones name their unpriced SKUs in the entry's memo.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unpriced_moves",
        sa.Column("move_id", sa.String(length=200), primary_key=True),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("giver", sa.String(length=80), nullable=False),
        sa.Column("taker", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", postgresql.JSONB(), nullable=False),
        sa.Column("priced_total", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("entry_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_value", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("settled_key", sa.String(length=255), nullable=True),
        sa.Column("settled_entry_id", sa.String(length=64), nullable=False),
    )
    op.create_index(
        "unpriced_moves_open",
        "unpriced_moves",
        ["currency", "created_at"],
        postgresql_where=sa.text("settled_at IS NULL"),
    )
    op.create_index(
        "unpriced_moves_by_settling_request",
        "unpriced_moves",
        ["settled_key"],
        unique=True,
        postgresql_where=sa.text("settled_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("unpriced_moves")
