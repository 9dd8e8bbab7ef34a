"""channels.currency: what each channel sells in, so a remittance in another currency is refused

RecordPayment took a channel's remittance in any currency: a USD marketplace "remitting" CNY moved CNY out of
clearing that no CNY sale of the channel had put there. Settlement's copy of each channel now keeps the currency
channels states (immutable there), from the channel events, and a payment from or to a channel in another
currency is FAILED_PRECONDITION CURRENCY_MISMATCH.

Channels heard of before this are seeded with the currency their sales were booked in, where that is one
currency; otherwise (no sale yet) "": not known, not checked, until the channel's next event says it.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE channels ADD COLUMN IF NOT EXISTS currency varchar(3) NOT NULL DEFAULT ''")
    op.execute(
        """
        UPDATE channels c SET currency = s.currency
          FROM (SELECT channel_id, min(currency) AS currency FROM order_settlements
                 WHERE channel_id <> '' GROUP BY channel_id HAVING count(DISTINCT currency) = 1) s
         WHERE c.channel_id = s.channel_id AND c.currency = ''
        """
    )


def downgrade() -> None:
    op.drop_column("channels", "currency")
