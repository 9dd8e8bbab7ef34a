"""SQLModel tables of the channels schema. Repositories map them to domain objects; nothing else sees them."""

from __future__ import annotations

from datetime import datetime

from onepool_runtime.columns import Stamped, Updated, counter_column, timestamp_column
from sqlalchemy import ARRAY, BigInteger, Boolean, CheckConstraint, Column, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class ChannelsTable(SQLModel, registry=registry()):
    pass


metadata = ChannelsTable.metadata


class ChannelRow(ChannelsTable, Stamped, table=True):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint("fee_rate_bps BETWEEN 0 AND 10000", name="fee_rate_in_range"),
        CheckConstraint("max_share_bps BETWEEN 0 AND 10000", name="max_share_in_range"),
        CheckConstraint("buffer_units >= 0", name="buffer_not_negative"),
        CheckConstraint("return_window_days BETWEEN 0 AND 365", name="return_window_in_range"),
        CheckConstraint("import_payment_ttl_seconds BETWEEN 60 AND 604800", name="import_payment_ttl_in_range"),
    )

    id: str = Field(primary_key=True, max_length=64)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64, index=True)
    fee_rate_bps: int = 0
    location_ids: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    location_types: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String), nullable=False))
    max_share_bps: int = 0
    buffer_units: int = 0
    own_stock: str = Field(default="WHOLE_ORDER", max_length=16)
    catalogue: str = Field(default="LISTINGS", max_length=16)
    # Presale terms (docs/presale.md): deposits allowed when balance_due_seconds > 0.
    balance_due_seconds: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    min_deposit_bps: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    deposit_rule: str = Field(default="REFUND", max_length=16)
    return_window_days: int = Field(default=7, sa_column=Column(Integer, nullable=False, server_default="7"))
    import_payment_ttl_seconds: int = Field(
        default=86400, sa_column=Column(Integer, nullable=False, server_default="86400")
    )
    status: str = Field(max_length=16)
    currency: str = Field(max_length=3)
    version: int = Field(default=1, sa_column=counter_column(1))


class ListingRow(ChannelsTable, Updated, table=True):
    __tablename__ = "listings"
    __table_args__ = (
        UniqueConstraint("channel_id", "channel_sku", name="listings_channel_sku_unique"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        # Stock events arrive per SKU: find every channel listing it.
        Index("listings_by_sku", "sku"),
    )

    channel_id: str = Field(primary_key=True, max_length=64, foreign_key="channels.id")
    sku: str = Field(primary_key=True, max_length=64)
    channel_sku: str = Field(max_length=128)
    price_currency: str = Field(max_length=3)
    price_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    active: bool = True
    # At most this many units held and sold by the channel (0 = no cap); inventory enforces it.
    sales_cap_units: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Presale allowance beyond on hand (0 = none) and backorder; inventory enforces both.
    presale_units: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    allow_backorder: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    # Increases with every upsert, so inventory's copy of the cap keeps the newest.
    version: int = Field(default=1, sa_column=counter_column(1))


class StockLocationRow(ChannelsTable, table=True):
    """Read model: inventory's locations (type, owner, active), fed by inventory's LocationUpserted events."""

    __tablename__ = "stock_locations"

    id: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64)
    active: bool = True
    # inventory.v1.Location.version of what is stored (newest version wins; 0 from before locations had one).
    version: int = Field(default=0, sa_column=counter_column())
    ships: bool = True


class StockPositionRow(ChannelsTable, table=True):
    """Read model: available units per (sku, location), fed by inventory's StockChanged events (newest version wins)."""

    __tablename__ = "stock_positions"
    __table_args__ = (Index("stock_positions_by_location", "location_id"),)

    sku: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(primary_key=True, max_length=64)
    available: int = 0
    version: int = Field(default=0, sa_column=counter_column())


class ChannelStockRow(ChannelsTable, Updated, table=True):
    """The last sellable number published per listing (ChannelStockUpdated), with its version."""

    __tablename__ = "channel_stock"

    channel_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    channel_sku: str = Field(max_length=128)
    sellable: int = 0
    version: int = Field(default=0, sa_column=counter_column())
    # How `sellable` was reached (the channel's three rules), published with it.
    exposed: int = 0
    dedicated: int = 0
    sales_cap_units: int = 0
    sales_counted: int = 0
    presale_units: int = 0
    presale_counted: int = 0
    expected: int = 0
    presale_sellable: int = 0
    allow_backorder: bool = False


class DedicatedStockRow(ChannelsTable, table=True):
    """Read model: inventory's channel allocations (dedicated stock), fed by ChannelAllocationChanged."""

    __tablename__ = "dedicated_stock"
    __table_args__ = (Index("dedicated_stock_by_channel_sku", "channel_id", "sku"),)

    allocation_id: str = Field(primary_key=True, max_length=64)
    channel_id: str = Field(max_length=64)
    sku: str = Field(max_length=64)
    location_id: str = Field(max_length=64)
    remaining: int = 0
    version: int = Field(default=0, sa_column=counter_column())


class ExpectedStockRow(ChannelsTable, table=True):
    """Read model: units of open expected receipts not yet promised, per (receipt, sku), fed by inventory's
    ExpectedReceipt* events (newest receipt version wins); presale draws on them."""

    __tablename__ = "expected_stock"
    __table_args__ = (Index("expected_stock_by_sku", "sku"),)

    receipt_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    location_id: str = Field(max_length=64)
    unpromised: int = 0
    version: int = Field(default=0, sa_column=counter_column())


class ChannelSalesRow(ChannelsTable, table=True):
    """Read model: what each channel's sales cap counts per SKU, fed by inventory's ChannelSalesChanged."""

    __tablename__ = "channel_sales"

    channel_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    counted: int = 0
    # Units of the channel's reservations waiting under the listing's presale allowance.
    presale_counted: int = 0
    version: int = Field(default=0, sa_column=counter_column())


class ClosedTradeRow(ChannelsTable, table=True):
    """A marketplace trade that was closed (cancelled, refunded): terminal, whatever copy of it arrives later.
    Written by the closed copy's import before it looks for the order, read by an open copy's import before and
    after it places, so a late or racing open copy never leaves a live order (service_layer/importing.py)."""

    __tablename__ = "closed_trades"

    channel_id: str = Field(primary_key=True, max_length=64)
    external_order_id: str = Field(primary_key=True, max_length=128)
    marketplace_status: str = Field(max_length=64)
    closed_at: datetime = Field(sa_column=timestamp_column())


class StartupRunRow(ChannelsTable, table=True):
    """When a piece of start-up work (the stock read model's rebuild, the announcement) last started and
    finished, whichever replica ran it: a replica finishes what another left and skips what another did."""

    __tablename__ = "startup_runs"

    name: str = Field(primary_key=True, max_length=32)
    started_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # Why the last attempt failed ("" once it finished): what an operator reads while it is retried.
    last_error: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))
    # The announcement: the CHANNELS stream (its creation time) and its last sequence when it began, so a
    # later start can tell whether the stream still holds all of it.
    stream_created: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    stream_seq: int = Field(default=0, sa_column=counter_column())
    # The announcement: a fingerprint of the messages it published (announcement.CONTRACT), so a release that
    # adds a field announces again and fills it in every copy.
    contract: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))
