"""orders: when an order's prices took effect, and its prices as placed once repriced

RepriceOrder (a marketplace's price adjustment before payment) changes an unpaid order's line discounts and
shipping fee. `prices_as_of` lets it tell a reprice older than the current prices (a re-send arriving late) and
answer it with the order as it is; `placed_prices` keeps the prices a repriced order was placed with, so a
repeated PlaceOrder of the copy as placed is still the same request (answered, never priced back). Both NULL
on the rows there are (any reprice applies; never repriced). Nullable columns without a default rewrite
nothing.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("prices_as_of", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("placed_prices", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "placed_prices")
    op.drop_column("orders", "prices_as_of")
