"""channels: how long an imported unpaid order holds its stock (each channel's import payment TTL)

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing channels get 24 hours, as a channel created without the term does: their imported unpaid orders
    # were cut at orders' 15-minute default, far shorter than a marketplace gives its buyer.
    op.add_column(
        "channels", sa.Column("import_payment_ttl_seconds", sa.Integer(), server_default="86400", nullable=False)
    )
    op.create_check_constraint(
        "import_payment_ttl_in_range", "channels", "import_payment_ttl_seconds BETWEEN 60 AND 604800"
    )


def downgrade() -> None:
    op.drop_constraint("import_payment_ttl_in_range", "channels")
    op.drop_column("channels", "import_payment_ttl_seconds")
