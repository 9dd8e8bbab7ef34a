"""dealers: ListDealers' order, indexed (name, then id)

ListDealers pages in name order, as its contract says; without an index every page sorted the whole dealer
network. Built CONCURRENTLY, the table being written while it builds.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_index_online("dealers_by_name", "dealers", ["name", "id"])


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("dealers_by_name", table_name="dealers", postgresql_concurrently=True, if_exists=True)
