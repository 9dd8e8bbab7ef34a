"""inventory: the units each expected receipt line is published as promising

Channels sell presale from what a receipt still brings and nobody was promised, as inventory's receipt events
say. Reservations joining or leaving the waiting line changed those numbers without an event, so a channel went
on offering units promised already. Each line now keeps the number last published; whatever moves the line
compares with it and publishes the receipts whose numbers changed. The open receipts' lines start from what
their waiting lines promise now (the units waiting at each (sku, location) laid along its open receipts in
expected_at, id order, as `domain/expected.py` `promised_by_receipt` does).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PROMISED_NOW = """
UPDATE expected_receipt_lines l SET promised = p.promised
FROM (
    SELECT x.receipt_id, x.sku, GREATEST(0, LEAST(x.remaining, s.awaiting - x.ahead)) AS promised
    FROM (
        SELECT l.receipt_id, l.sku, r.location_id, l.quantity - l.received - l.shortfall AS remaining,
               COALESCE(SUM(l.quantity - l.received - l.shortfall) OVER (
                   PARTITION BY l.sku, r.location_id ORDER BY r.expected_at, r.id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS ahead
        FROM expected_receipt_lines l JOIN expected_receipts r ON r.id = l.receipt_id
        WHERE r.status = 'OPEN' AND l.quantity - l.received - l.shortfall > 0
    ) x JOIN stock_levels s ON s.sku = x.sku AND s.location_id = x.location_id
) p
WHERE l.receipt_id = p.receipt_id AND l.sku = p.sku AND p.promised > 0
"""


def upgrade() -> None:
    op.add_column("expected_receipt_lines", sa.Column("promised", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint("expected_promised_not_negative", "expected_receipt_lines", "promised >= 0")
    op.execute(_PROMISED_NOW)


def downgrade() -> None:
    op.drop_constraint("expected_promised_not_negative", "expected_receipt_lines", type_="check")
    op.drop_column("expected_receipt_lines", "promised")
