"""channels: start-up work (the stock read model's rebuild, the announcement) records when it ran and finished

The rebuild ran when `stock_positions` was empty, and each of its pages commits on its own: after one page the
read model counted as built, so a rebuild cut short (a database blip, a replica stopped during a rollout) was
never finished by anyone. Every replica also announced every channel and listing again as it started. Now a
row per kind of work says when it last started and finished (and, for the announcement, where in the
CHANNELS stream it began), so a replica finishes what another left and skips what another just did.

A database migrated from before: a non-empty read model was built by the start-up that filled it (as it
counted until now), so it is recorded as finished and an upgrade does not rebuild everything; an empty one has
no row and is rebuilt at the next start, as before.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "startup_runs",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), server_default="", nullable=False),
        sa.Column("stream_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stream_seq", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("contract", sa.String(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(
        "INSERT INTO startup_runs (name, started_at, finished_at) "
        "SELECT 'stock-rebuild', now(), now() WHERE EXISTS (SELECT 1 FROM stock_positions)"
    )


def downgrade() -> None:
    op.drop_table("startup_runs")
