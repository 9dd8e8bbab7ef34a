"""initial orders schema: the runtime tables (outbox, inbox, idempotency keys)

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from onepool_runtime.migrations import create_runtime_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_runtime_tables()


def downgrade() -> None:
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
