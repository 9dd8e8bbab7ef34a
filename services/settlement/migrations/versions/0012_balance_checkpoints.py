"""balance_checkpoints: each party's balance at instants between period closes, so a balance sums lines since the
last checkpoint, not since the last closed period

A balance was the party's snapshot at the last closed period plus every line it was posted since. Periods close
when an operator closes them (monthly at best), so the brand's balance, read by every RecordPayment, CreatePayout
and GetBalance, summed a whole month of its lines (about 1 s at 50k orders a day) and grew until the next close.
Settlement now writes checkpoints as lines accumulate (service_layer/checkpoints.py): each row is the party's
exact balance of the lines posted before `at`. A balance reads the latest checkpoint or period snapshot at or
before the instant wanted, plus the lines since it.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "balance_checkpoints",
        sa.Column("party", sa.String(length=80), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("party", "currency", "at"),
    )
    # Where the next checkpoint starts (the latest one) and what a period close prunes (those before it).
    op.create_index("balance_checkpoints_by_time", "balance_checkpoints", ["at"])


def downgrade() -> None:
    op.drop_table("balance_checkpoints")
