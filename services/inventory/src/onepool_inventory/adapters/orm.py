"""SQLModel tables of the inventory schema. Repositories map them to domain objects; nothing else sees them."""

from __future__ import annotations

from datetime import datetime

from onepool_runtime.columns import Created, LocationColumns, Stamped, counter_column, timestamp_column
from onepool_runtime.commit_order import xact_column
from sqlalchemy import ARRAY, BigInteger, Boolean, CheckConstraint, Column, Identity, Index, Integer, String, text, true
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class InventoryTable(SQLModel, registry=registry()):
    pass


metadata = InventoryTable.metadata


class LocationRow(InventoryTable, LocationColumns, table=True):
    __tablename__ = "locations"

    # inventory.v1.Location.version: 1 when created (and for the locations older than versions, migration 0011).
    version: int = Field(default=1, sa_column=counter_column(1))


class StockLevelRow(InventoryTable, table=True):
    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
        CheckConstraint("dedicated >= 0", name="dedicated_not_negative"),
        CheckConstraint("reserved + dedicated <= on_hand", name="dedicated_within_on_hand"),
        CheckConstraint("expected >= 0", name="expected_not_negative"),
        CheckConstraint("awaiting >= 0", name="awaiting_not_negative"),
    )

    sku: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(primary_key=True, max_length=64, foreign_key="locations.id")
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    version: int = Field(default=0, sa_column=counter_column())
    # Sum of `remaining` of the ACTIVE channel allocations here (kept in the same transaction).
    dedicated: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Units still expected here on OPEN expected receipts (never part of on_hand).
    expected: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Units of open reservations waiting here for stock (not part of reserved until filled).
    awaiting: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class MovementRow(InventoryTable, Created, table=True):
    """The append-only ledger: on_hand of a (sku, location) is the sum of its movements' deltas. xact_id is the
    transaction that wrote the movement (migration 0010): ListMovements pages in (xact_id, id) order, over
    finished transactions, through one index per filter it offers."""

    __tablename__ = "movements"
    __table_args__ = (
        Index("movements_by_location_sku_xact", "location_id", "sku", "xact_id", "id"),
        Index("movements_by_location_xact", "location_id", "xact_id", "id"),
        Index("movements_by_xact", "xact_id", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    location_id: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    delta: int
    kind: str = Field(max_length=32)
    reason: str = Field(default="", max_length=500)
    reference: str = Field(default="", max_length=128)
    on_hand_after: int
    # The writing transaction's id (pg_current_xact_id(), the 64-bit xid8 as a bigint), set by the database.
    xact_id: int | None = Field(default=None, sa_column=xact_column())


class ReservationRow(InventoryTable, Stamped, table=True):
    __tablename__ = "reservations"
    __table_args__ = (
        # The sweeper's scan: only ACTIVE reservations can expire.
        Index("reservations_expiring", "expires_at", postgresql_where="status = 'ACTIVE'"),
    )

    id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(default="", max_length=64, index=True)
    channel_id: str = Field(default="", max_length=64)
    status: str = Field(max_length=16)
    expires_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    release_reason: str = Field(default="", max_length=500)


class AllocationRow(InventoryTable, table=True):
    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="allocation_positive"),
        CheckConstraint("fulfilled >= 0 AND fulfilled <= quantity", name="fulfilled_within_quantity"),
        CheckConstraint("awaiting >= 0 AND awaiting + fulfilled <= quantity", name="awaiting_within_open"),
        Index("allocations_by_stock", "sku", "location_id"),
        # Arriving goods look up the allocations waiting at their (sku, location).
        Index("allocations_waiting", "sku", "location_id", postgresql_where="awaiting > 0"),
    )

    reservation_id: str = Field(primary_key=True, max_length=64, foreign_key="reservations.id")
    sku: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(primary_key=True, max_length=64)
    quantity: int
    fulfilled: int = 0
    owner_dealer_id: str = Field(default="", max_length=64)
    location_type: str = Field(default="WAREHOUSE", max_length=32)
    # Units of quantity still waiting for goods (AWAITING_STOCK), the receipt they count on and its date.
    awaiting: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    promised_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    receipt_id: str = Field(default="", max_length=64)
    source: str = Field(default="ON_HAND", max_length=16)
    filled_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # When the waiting line last changed this allocation (filled it, moved its promise). The line holds the
    # stock row, not the reservation's (reservation rows are locked first), so it cannot write the
    # reservation's updated_at; a reservation read takes the latest of its own and these.
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # inventory.v1.Allocation.version: moved on by each change of the waiting state (adapters/reservations.py);
    # 1 when reserved, and for the allocations older than versions (migration 0012).
    version: int = Field(default=1, sa_column=counter_column(1))


class TransferRow(InventoryTable, Created, table=True):
    __tablename__ = "transfers"
    # The transfers on their way, for GetAvailability's units inbound (migration 0006): a receipt takes one out.
    __table_args__ = (Index("transfers_in_transit", "id", postgresql_where=text("status = 'IN_TRANSIT'")),)

    id: str = Field(primary_key=True, max_length=64)
    from_location_id: str = Field(max_length=64, foreign_key="locations.id")
    to_location_id: str = Field(max_length=64, foreign_key="locations.id")
    status: str = Field(max_length=16)
    reference: str = Field(default="", max_length=128)
    received_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class TransferLineRow(InventoryTable, table=True):
    __tablename__ = "transfer_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="transfer_line_positive"),
        # GetAvailability's units inbound: the lines still on their way, by SKU (migration 0006).
        Index("transfer_lines_in_transit", "sku", postgresql_where=text("in_transit")),
    )

    transfer_id: str = Field(primary_key=True, max_length=64, foreign_key="transfers.id")
    sku: str = Field(primary_key=True, max_length=64)
    quantity: int
    # Its transfer is still in transit: set when it ships, cleared when it is received.
    in_transit: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default=true()))


class ChannelPolicyRow(InventoryTable, table=True):
    """Local copy of each channel's allocation policy, fed by channels.channel.* events."""

    __tablename__ = "channel_policies"

    channel_id: str = Field(primary_key=True, max_length=64)
    location_ids: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    location_types: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    max_share_bps: int = 0
    buffer_units: int = 0
    owner_dealer_id: str = Field(default="", max_length=64)
    active: bool = True
    version: int = Field(default=0, sa_column=counter_column())
    fill_own_first: bool = False


class ChannelAllocationRow(InventoryTable, Stamped, table=True):
    """Dedicated stock: units at a location only one channel may sell (ACTIVE until released or ended)."""

    __tablename__ = "channel_allocations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="channel_allocation_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quantity", name="remaining_within_quantity"),
        # The reservation path reads the ACTIVE allocations of the SKUs it reserves; the sweeper the ending ones.
        Index("channel_allocations_active", "sku", "location_id", postgresql_where="status = 'ACTIVE'"),
        Index("channel_allocations_ending", "ends_at", postgresql_where="status = 'ACTIVE'"),
        Index("channel_allocations_by_channel", "channel_id", "sku"),
    )

    id: str = Field(primary_key=True, max_length=64)
    channel_id: str = Field(max_length=64)
    location_id: str = Field(max_length=64, foreign_key="locations.id")
    sku: str = Field(max_length=64)
    quantity: int
    remaining: int
    returned: int = 0
    ends_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    status: str = Field(max_length=16)
    version: int = Field(default=1, sa_column=counter_column(1))


class ChannelSalesRow(InventoryTable, table=True):
    """Per (channel, sku): the units the sales cap counts, and the cap from the channel's listing."""

    __tablename__ = "channel_sales"
    __table_args__ = (
        CheckConstraint("counted >= 0", name="counted_not_negative"),
        CheckConstraint("cap_units >= 0", name="cap_not_negative"),
        CheckConstraint("presale_counted >= 0", name="presale_counted_not_negative"),
    )

    channel_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    counted: int = 0
    cap_units: int = 0
    cap_version: int = Field(default=0, sa_column=counter_column())
    version: int = Field(default=0, sa_column=counter_column())
    # From the listing: presale allowance and backorder; presale_counted = units now waiting under presale.
    presale_units: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    allow_backorder: bool = False
    presale_counted: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class ExpectedReceiptRow(InventoryTable, Stamped, table=True):
    """A purchase order or advance shipping notice: goods on their way to one location."""

    __tablename__ = "expected_receipts"
    __table_args__ = (
        Index("expected_receipts_by_location", "location_id", "expected_at"),
        # The receipts still open, for every read of what is expected (migration 0007): a receipt that is received
        # or cancelled leaves it, so the reads do not grow with the purchase-order history.
        Index("expected_receipts_open", "id", postgresql_where=text("status = 'OPEN'")),
    )

    id: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(max_length=64, foreign_key="locations.id")
    expected_at: datetime = Field(sa_column=timestamp_column(default=False))
    reference: str = Field(default="", max_length=128)
    status: str = Field(max_length=16)
    cancel_reason: str = Field(default="", max_length=500)
    version: int = Field(default=1, sa_column=counter_column(1))


class ExpectedReceiptLineRow(InventoryTable, table=True):
    __tablename__ = "expected_receipt_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="expected_line_positive"),
        CheckConstraint("received >= 0", name="expected_received_not_negative"),
        CheckConstraint("shortfall >= 0", name="expected_shortfall_not_negative"),
        CheckConstraint("promised >= 0", name="expected_promised_not_negative"),
        Index("expected_receipt_lines_by_sku", "sku"),
        # The lines still bringing units (migration 0013): what the reads of expected units look through.
        Index("expected_receipt_lines_open", "sku", postgresql_where=text("quantity > received + shortfall")),
    )

    receipt_id: str = Field(primary_key=True, max_length=64, foreign_key="expected_receipts.id")
    sku: str = Field(primary_key=True, max_length=64)
    quantity: int
    received: int = 0
    shortfall: int = 0
    # Units of the line promised to waiting reservations as last published (migration 0009): a change is found
    # by comparing with it (service_layer/promises.py).
    promised: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
