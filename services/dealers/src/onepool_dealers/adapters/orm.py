"""SQLModel tables of the dealers schema. Repositories map them to domain objects; nothing else sees them."""

from __future__ import annotations

from datetime import datetime

from onepool_runtime.columns import (
    Created,
    LocationColumns,
    Stamped,
    Updated,
    counter_column,
    money_column,
    priced_line_checks,
    timestamp_column,
)
from sqlalchemy import BigInteger, Boolean, CheckConstraint, Column, Identity, Index, false, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class DealersTable(SQLModel, registry=registry()):
    pass


metadata = DealersTable.metadata


class DealerRow(DealersTable, Stamped, table=True):
    __tablename__ = "dealers"
    __table_args__ = (
        CheckConstraint("credit_limit_minor >= 0", name="credit_limit_not_negative"),
        CheckConstraint("open_minor >= 0", name="open_not_negative"),
        CheckConstraint("received_minor >= 0", name="received_not_negative"),
        # The recovery loop's scan: dealers whose channel is missing or behind.
        Index(
            "dealers_channel_unsynced",
            "id",
            postgresql_where=text("channel_id = '' OR channel_synced_revision < revision"),
        ),
        Index("dealers_by_name", "name", "id"),  # ListDealers' order (migration 0006)
    )

    id: str = Field(primary_key=True, max_length=64)
    # RegisterDealer's idempotency key and a hash of its request (a key reused for another request is refused).
    request_id: str = Field(max_length=128, unique=True)
    request_fingerprint: str = Field(max_length=64)
    name: str = Field(max_length=200)
    tier: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    credit_limit_minor: int = Field(default=0, sa_column=money_column())
    region: str = Field(default="", max_length=64, index=True)
    status: str = Field(max_length=16)
    channel_id: str = Field(default="", max_length=64, index=True)
    # Running totals of the dealer's replenishments, in its credit currency (see domain.model.Dealer).
    open_minor: int = Field(default=0, sa_column=money_column())
    received_minor: int = Field(default=0, sa_column=money_column())
    revision: int = Field(default=0, sa_column=counter_column())
    channel_synced_revision: int = Field(default=0, sa_column=counter_column())


class LocationRow(DealersTable, LocationColumns, table=True):
    """Locations of the pool (inventory's LocationUpserted events, and AddDealerLocation as soon as it succeeds).

    The columns are inventory's `locations`, declared once (both store one kernel Location), but the table is
    dealers' own: each schema evolves with its own migrations. The version is each one's (inventory gives
    it, dealers keeps the newest)."""

    __tablename__ = "locations"

    # inventory.v1.Location.version of the copy (the newest wins; 0 from before inventory had versions).
    version: int = Field(default=0, sa_column=counter_column())


class WholesalePriceRow(DealersTable, Updated, table=True):
    """The brand's wholesale price list: a list price per SKU and currency (migration 0015). A dealer is priced
    in its credit currency only; setting a price in one currency leaves the SKU's others alone."""

    __tablename__ = "wholesale_price_list"
    __table_args__ = (CheckConstraint("list_price_minor >= 0", name="list_price_not_negative"),)

    sku: str = Field(primary_key=True, max_length=64)
    currency: str = Field(primary_key=True, max_length=3)
    list_price_minor: int = Field(default=0, sa_column=money_column())


class SinglePriceRow(DealersTable, Updated, table=True):
    """One price per SKU: what releases before migration 0015 read and write (a rolling upgrade runs them beside
    this one). Kept up to date in its row's currency only (repository.set_price); a trigger copies what they
    write into `wholesale_price_list`. To drop once no replica runs a release before 0015."""

    __tablename__ = "wholesale_prices"
    __table_args__ = (CheckConstraint("list_price_minor >= 0", name="list_price_not_negative"),)

    sku: str = Field(primary_key=True, max_length=64)
    currency: str = Field(max_length=3)
    list_price_minor: int = Field(default=0, sa_column=money_column())


class ReplenishmentRow(DealersTable, Stamped, table=True):
    __tablename__ = "replenishments"
    __table_args__ = (
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        Index("replenishments_by_dealer", "dealer_id", "seq"),
        # The recovery loop's scan: shipments asked of inventory whose answer was not recorded.
        Index(
            "replenishments_shipping",
            "shipping_requested_at",
            postgresql_where=text("shipping_requested_at IS NOT NULL"),
        ),
        # The recovery loop's scan: received replenishments whose expected receipt may still be open.
        Index("replenishments_receipt_cancel_due", "seq", postgresql_where=text("receipt_cancel_due")),
    )

    id: str = Field(primary_key=True, max_length=64)
    # Keyset pagination cursor (creation order).
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), nullable=False))
    dealer_id: str = Field(max_length=64, foreign_key="dealers.id")
    from_location_id: str = Field(max_length=64)
    to_location_id: str = Field(max_length=64)
    status: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    total_minor: int = Field(default=0, sa_column=money_column())
    transfer_id: str = Field(default="", max_length=64)
    status_reason: str = Field(default="", max_length=500)
    shipping_requested_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    shipped_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # RECEIVED, and its expected receipt in inventory not yet confirmed cancelled (the recovery loop retries).
    receipt_cancel_due: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # The expected receipt inventory answered the shipment's ExpectReceipt with: the one to cancel (empty: not known).
    receipt_id: str = Field(default="", max_length=64)


class ReplenishmentLineRow(DealersTable, table=True):
    __tablename__ = "replenishment_lines"
    __table_args__ = priced_line_checks()

    replenishment_id: str = Field(primary_key=True, max_length=64, foreign_key="replenishments.id")
    position: int = Field(primary_key=True)
    sku: str = Field(max_length=64)
    quantity: int
    unit_price_minor: int = Field(default=0, sa_column=money_column())


class DealerStockRow(DealersTable, table=True):
    """Read model: on_hand per (sku, location) at dealer-owned locations (inventory's StockChanged events)."""

    __tablename__ = "dealer_stock"

    location_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    dealer_id: str = Field(max_length=64, index=True)
    on_hand: int = 0
    version: int = Field(default=0, sa_column=counter_column())


class DealerOrderRow(DealersTable, Created, table=True):
    """Read model: the latest known state of each dealer order (orders.order.*)."""

    __tablename__ = "dealer_orders"
    __table_args__ = (
        Index("dealer_orders_by_created", "dealer_id", "created_at"),
        Index("dealer_orders_open", "dealer_id", postgresql_where=text("open")),
    )

    order_id: str = Field(primary_key=True, max_length=64)
    dealer_id: str = Field(max_length=64)
    open: bool = True
    paid: bool = False
    currency: str = Field(default="", max_length=3)
    total_minor: int = Field(default=0, sa_column=money_column())
    paid_minor: int = Field(default=0, sa_column=money_column())
    refunded_minor: int = Field(default=0, sa_column=money_column())
    net_sales_minor: int = Field(default=0, sa_column=money_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # orders' revision of the state kept (0: its event carried none); see OrderView.newer_than.
    revision: int = Field(default=0, sa_column=counter_column())


class DealerSettlementRow(DealersTable, Updated, table=True):
    """Read model: the sum of settlement's non-wholesale journal lines per dealer party and currency
    (settlement.entry.posted); positive means the ledger owes the dealer."""

    __tablename__ = "dealer_settlement"

    dealer_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(primary_key=True, max_length=3)
    net_minor: int = Field(default=0, sa_column=money_column())


class HeldSettlementRow(DealersTable, Created, table=True):
    """Income settlement posted to a dealer from an order dealers has not heard closed: it may still be refunded,
    so it is not in `dealer_settlement` (nor the dealer's credit) until the order closes (domain/income.py)."""

    __tablename__ = "held_settlement"
    __table_args__ = (
        Index("held_settlement_by_order", "order_id"),
        Index("held_settlement_by_dealer", "dealer_id", "currency"),  # the overview's income_held (0014)
    )

    entry_id: str = Field(primary_key=True, max_length=200)
    dealer_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(primary_key=True, max_length=3)
    order_id: str = Field(max_length=64)
    amount_minor: int = Field(default=0, sa_column=money_column())


class ClosedOrderRow(DealersTable, Created, table=True):
    """Every order (anyone's: a brand order shipped from a dealer's shop pays the dealer too) that dealers heard
    final (OrderFacts.is_final as onepool_runtime.order_facts reads it: cancelled or rejected, wholly refunded, or
    its return window closed, which orders.order.return_window_closed announces; an event of an older orders
    release by the rule of its time). A completed order is not in it until its window closes. Once in it, an
    order's income counts at once. "Closed" is closed to refunds, not the order's status (the table's old name)."""

    __tablename__ = "closed_orders"

    order_id: str = Field(primary_key=True, max_length=64)


class OwnershipMoveRow(DealersTable, Created, table=True):
    """Goods that changed owner other than by a replenishment (domain/ownership.py), each published once."""

    __tablename__ = "ownership_moves"

    id: str = Field(primary_key=True, max_length=200)
    reason: str = Field(max_length=16)
    from_dealer_id: str = Field(default="", max_length=64)
    to_dealer_id: str = Field(default="", max_length=64)
    currency: str = Field(max_length=3)
    total_minor: int = Field(default=0, sa_column=money_column())
    order_id: str = Field(default="", max_length=64)
    reference: str = Field(default="", max_length=200)
    location_id: str = Field(default="", max_length=64)


class OwnershipMoveLineRow(DealersTable, table=True):
    """A recorded move's priced lines: what a returned unit comes back at (domain/ownership.py)."""

    __tablename__ = "ownership_move_lines"
    __table_args__ = priced_line_checks()

    move_id: str = Field(primary_key=True, max_length=200, foreign_key="ownership_moves.id")
    position: int = Field(primary_key=True)
    sku: str = Field(max_length=64)
    quantity: int
    unit_price_minor: int = Field(default=0, sa_column=money_column())
