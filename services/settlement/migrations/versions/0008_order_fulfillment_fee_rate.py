"""order_settlements.fulfillment_fee_bps: the fulfillment fee rate an order's fees are priced at

The fee of each fulfillment was priced at `fulfillment_fee_bps` as settings held it when its event was read:
a redeploy with a new rate re-priced the fees of earlier sales whose shipments were still in the backlog (or
replayed), and one order's fulfillments could be charged at two rates. The rate is now recorded with the
order's sale, like its channel fee and brand share, and every fee of the order is priced at it.

Orders settled before this read NULL: their fees keep the rate in settings, as before (nothing says which
rate their sale was made under).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("order_settlements", sa.Column("fulfillment_fee_bps", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("order_settlements", "fulfillment_fee_bps")
