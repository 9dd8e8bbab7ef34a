"""inventory: the lines of transfers in transit, indexed by SKU (GetAvailability's units inbound)

GetAvailability found its units inbound by joining every transfer line of its SKUs to its transfer's status,
which no index answers: each read scanned the whole transfer history. `transfer_lines.in_transit` says a line's
transfer is still on its way (set when it ships, cleared when it is received); partial indexes on the SKUs of
those lines and on the transfers in transit answer the read from what is in transit only.

Online: the column is added with a constant default (no table rewrite; the lines already there read it as
false), new lines default to true (a transfer is created in transit, also by a replica still on the previous
version), and only the lines of transfers in transit are marked. The read keeps the transfer's status as its
condition, so a line a previous-version replica receives without clearing the flag is still left out. The
index is built CONCURRENTLY.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from onepool_runtime.migrations import create_index_online

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("transfer_lines", sa.Column("in_transit", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.alter_column("transfer_lines", "in_transit", server_default=sa.true())
    op.execute(
        "UPDATE transfer_lines l SET in_transit = true FROM transfers t"
        " WHERE t.id = l.transfer_id AND t.status = 'IN_TRANSIT'"
    )
    create_index_online("transfer_lines_in_transit", "transfer_lines", ["sku"], postgresql_where=sa.text("in_transit"))
    create_index_online("transfers_in_transit", "transfers", ["id"], postgresql_where=sa.text("status = 'IN_TRANSIT'"))


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "transfer_lines_in_transit", table_name="transfer_lines", postgresql_concurrently=True, if_exists=True
        )
    op.drop_column("transfer_lines", "in_transit")
