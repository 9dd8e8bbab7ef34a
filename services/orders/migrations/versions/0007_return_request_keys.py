"""orders: a return's request id is the caller-scoped key, up to 255 characters

ReturnItems stores `scoped_key(request_id)` ("channel:<channel id>:<request id>"), which outgrows the 128 a
request id may have: a valid id of about 84 characters or more from a channel, dealer or store was refused by
the column (INTERNAL). 255 is what the idempotency keys' column holds. Widening a varchar takes no rewrite.

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
    op.alter_column("order_returns", "request_id", type_=sa.String(255), existing_nullable=False)


def downgrade() -> None:
    op.alter_column("order_returns", "request_id", type_=sa.String(128), existing_nullable=False)
