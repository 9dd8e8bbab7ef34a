"""dealers: a wholesale price per SKU and currency

`wholesale_prices` held one price per SKU (its primary key): a dealer whose credit is in another currency could
not replenish the SKU (CURRENCY_MISMATCH) and had its goods moved for nothing (the move left the SKU unpriced),
and pricing the SKU in a second currency re-priced it for every dealer. The price list is now
`wholesale_price_list`, keyed by (sku, currency); every price already set is copied into it.

Online, and safe for a rolling upgrade. The key is not changed in place: replicas still on the previous release
keep reading and writing `wholesale_prices` during the rollout (`ON CONFLICT (sku)`, which needs that key, and
one row per SKU, which they take as the SKU's price for every dealer). So:
- what they read stays what it was: this release keeps `wholesale_prices` up to date in its row's currency only
  (a new SKU's first price creates the row), so a price set in another currency never re-prices the SKU for
  the dealers they price (they keep answering CURRENCY_MISMATCH to the others, as before);
- what they write is not lost: a trigger copies each row they insert or update into `wholesale_price_list`.
  It is created before the copy, in the same transaction; creating it takes a SHARE ROW EXCLUSIVE lock on
  `wholesale_prices`, which holds back their SetWholesalePrice (not their reads) until the copy of the price
  list (one row per SKU: small) commits.
A later release, once no replica runs one from before this revision, stops writing `wholesale_prices` and
drops it with the trigger.

Downgrade drops the price list: prices set in a currency other than the SKU's `wholesale_prices` row are lost.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MIRROR = [
    """
CREATE FUNCTION wholesale_prices_to_price_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO wholesale_price_list (sku, currency, list_price_minor, updated_at)
  VALUES (NEW.sku, NEW.currency, NEW.list_price_minor, NEW.updated_at)
  ON CONFLICT (sku, currency) DO UPDATE
    SET list_price_minor = EXCLUDED.list_price_minor, updated_at = EXCLUDED.updated_at;
  RETURN NULL;
END $$
""",
    """
CREATE TRIGGER wholesale_prices_to_price_list AFTER INSERT OR UPDATE ON wholesale_prices
  FOR EACH ROW EXECUTE FUNCTION wholesale_prices_to_price_list()
""",
]

_COPY = """
INSERT INTO wholesale_price_list (sku, currency, list_price_minor, updated_at)
SELECT sku, currency, list_price_minor, updated_at FROM wholesale_prices
ON CONFLICT (sku, currency) DO NOTHING
"""


def upgrade() -> None:
    op.create_table(
        "wholesale_price_list",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("list_price_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("list_price_minor >= 0", name="list_price_not_negative"),
        sa.PrimaryKeyConstraint("sku", "currency"),
    )
    for statement in _MIRROR:
        op.execute(statement)
    op.execute(_COPY)


def downgrade() -> None:
    op.execute("DROP TRIGGER wholesale_prices_to_price_list ON wholesale_prices")
    op.execute("DROP FUNCTION wholesale_prices_to_price_list()")
    op.drop_table("wholesale_price_list")
