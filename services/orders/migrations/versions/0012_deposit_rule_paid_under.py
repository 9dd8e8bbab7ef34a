"""orders: the deposit rule a presale deposit was paid under

The balance sweeper read the channel's rule when the balance lapsed, so an operator switching a channel from
REFUND to KEEP kept deposits customers had paid on refund terms. The rule is now fixed on the order with the
deposit, like its balance deadline.

Existing rows start NULL (not known: the lapse reads the channel's rule, as before). A nullable column without
a default is added without rewriting the table.

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
    op.add_column("orders", sa.Column("deposit_rule", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "deposit_rule")
