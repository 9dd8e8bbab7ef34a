"""dealers: an index of held income by dealer

The dealer overview reports `income_held` (what settlement posted to the dealer from orders that may still be
refunded, kept in held_settlement until the order closes or its goods have all left): a sum per dealer and
currency. Built CONCURRENTLY: entries keep being held and released during the build.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_DEALER = "held_settlement_by_dealer"


def upgrade() -> None:
    create_index_online(BY_DEALER, "held_settlement", ["dealer_id", "currency"])


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(BY_DEALER, table_name="held_settlement", postgresql_concurrently=True, if_exists=True)
