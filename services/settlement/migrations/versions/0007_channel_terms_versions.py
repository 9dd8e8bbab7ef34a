"""channel_terms: every version of each channel's terms, so a sale is split at the terms it was paid under

`channels` keeps only each channel's newest terms: a sale whose event was read after the channel changed was
split at the new fee (an OrderPaid waiting in the ORDERS backlog while ChannelUpdated went through, or a
replay). Orders now states the channel version the order was paid under (OrderFacts.channel_version) and
settlement reads that version's terms from `channel_terms`, filled from the same channel events.

Seeded with each channel's current terms: the versions before them were never kept.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_terms",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("owner_dealer_id", sa.String(length=64), nullable=False),
        sa.Column("fee_rate_bps", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "version"),
    )
    op.execute(
        "INSERT INTO channel_terms (channel_id, version, type, owner_dealer_id, fee_rate_bps) "
        "SELECT channel_id, version, type, owner_dealer_id, fee_rate_bps FROM channels"
    )


def downgrade() -> None:
    op.drop_table("channel_terms")
