"""orders: when the delivery address took effect, and the address as placed once it has changed

`address_as_of` lets ChangeDeliveryAddress tell a change older than the current address (a marketplace re-send
arriving late) and answer it with the order as it is. `placed_address` keeps the address a moved order was
placed with, so a repeated PlaceOrder is still the same request. Both are NULL on the rows there are: the time
their address took effect is unknown (any change applies, as before), and a NULL placed_address means the
address has not changed since it was placed (for an order moved before this, that address is lost). Adding
nullable columns without a default rewrites nothing.

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
    op.add_column("orders", sa.Column("address_as_of", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("placed_address", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "placed_address")
    op.drop_column("orders", "address_as_of")
