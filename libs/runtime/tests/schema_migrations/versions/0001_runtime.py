"""a test service's first release: the runtime tables

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op
from onepool_runtime.migrations import create_runtime_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables()


def downgrade() -> None:
    for table in ("idempotency_keys", "inbox", "outbox"):
        op.drop_table(table)
