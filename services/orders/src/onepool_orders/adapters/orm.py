"""SQLModel tables of the orders schema. Repositories map them to domain objects; nothing else sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onepool_runtime.columns import Created, Stamped, counter_column, money_column, priced_line_checks, timestamp_column
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from onepool_orders.domain.model import IN_FLIGHT_STATES, FulfillmentStatus

# Partial indexes' predicates, written into the statements that should read them too (order_listing.py): a
# generic plan uses a partial index only when the query's own text implies its predicate.
IN_FLIGHT = "status IN (" + ", ".join(f"'{s}'" for s in sorted(IN_FLIGHT_STATES)) + ")"
TO_LEAVE = f"status = '{FulfillmentStatus.PENDING}'"


class OrdersTable(SQLModel, registry=registry()):
    pass


metadata = OrdersTable.metadata


class CustomerRow(OrdersTable, Created, table=True):
    __tablename__ = "customers"

    id: str = Field(primary_key=True, max_length=64)


class CustomerIdentityRow(OrdersTable, Created, table=True):
    """One-ID: each identity (member id, phone, channel buyer id) points at exactly one customer."""

    __tablename__ = "customer_identities"

    kind: str = Field(primary_key=True, max_length=16)
    value: str = Field(primary_key=True, max_length=200)
    customer_id: str = Field(max_length=64, foreign_key="customers.id", index=True)


class OrderRow(OrdersTable, Stamped, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        # Idempotent intake: one order per external order id in a channel, even under concurrent placement.
        UniqueConstraint("channel_id", "external_order_id", name="orders_channel_external_id"),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
        CheckConstraint("paid_minor >= 0", name="paid_not_negative"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= paid_minor", name="refund_within_paid"),
        CheckConstraint("deposit_minor >= 0 AND deposit_minor <= paid_minor", name="deposit_within_paid"),
        CheckConstraint("deposit_kept_minor >= 0 AND deposit_kept_minor <= deposit_minor", name="kept_within_deposit"),
        # ListOrders pages newest first, filtered by channel, customer or dealer.
        Index("orders_by_created", "created_at", "id"),
        Index("orders_by_channel", "channel_id", "created_at", "id"),
        Index("orders_by_customer", "customer_id", "created_at", "id"),
        Index("orders_by_dealer", "dealer_id", "created_at", "id"),
        # ListOrders filtered by a status in flight (the last page of "to ship" read no history, orders_listing.py).
        Index("orders_in_flight", "status", "created_at", "id", postgresql_where=IN_FLIGHT),
        Index("orders_in_flight_by_dealer", "dealer_id", "status", "created_at", "id", postgresql_where=IN_FLIGHT),
        # The recovery loop's scan: only PENDING orders can be stuck.
        Index("orders_pending", "next_recovery_at", postgresql_where="status = 'PENDING'"),
        # The waiting-orders gauges and `onepool orders stuck`: orders awaiting payment, oldest first.
        Index("orders_awaiting_payment", "created_at", postgresql_where="status = 'RESERVED'"),
        # The goods_overdue gauge and `onepool orders stuck`: paid orders still to ship, their lines by key.
        Index("orders_paid_open", "id", postgresql_where="status IN ('PAID', 'FULFILLING', 'DEPOSIT_PAID')"),
        # The balance sweeper's scan: only DEPOSIT_PAID orders can lapse.
        Index("orders_balance_due", "balance_due_at", postgresql_where="status = 'DEPOSIT_PAID'"),
        # The return-window closer's scan: only orders whose window is still to be closed.
        Index(
            "orders_return_window_open",
            "returnable_until",
            postgresql_where="returnable_until IS NOT NULL AND NOT return_window_closed",
        ),
        # The closer's other scan: goods gone without a deadline (left on the release before it; migration 0018).
        Index(
            "orders_return_window_unfixed",
            "id",
            postgresql_where="returnable_until IS NULL AND status IN ('SHIPPED', 'COMPLETED')",
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    channel_id: str = Field(max_length=64)
    external_order_id: str = Field(max_length=128)
    customer_id: str = Field(default="", max_length=64)
    dealer_id: str = Field(default="", max_length=64)
    status: str = Field(max_length=32)
    status_reason: str = Field(default="", max_length=500)
    currency: str = Field(max_length=3)
    total_minor: int = Field(default=0, sa_column=money_column())
    paid_minor: int = Field(default=0, sa_column=money_column())
    refunded_minor: int = Field(default=0, sa_column=money_column())
    # Shipping charged to the customer (part of total_minor).
    shipping_fee_minor: int = Field(default=0, sa_column=money_column())
    payment_ref: str = Field(default="", max_length=128)
    reservation_id: str = Field(default="", max_length=64)
    reservation_expires_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    reserve_attempt: int = 0
    payment_ttl_seconds: int = 0
    customer: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    fulfillment: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    shortfalls: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    next_recovery_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # Presale (docs/presale.md): the deposit part of paid_minor, its reference, the balance deadline, the
    # deposit kept by the seller after a lapse; the reservation state the lines last followed.
    deposit_minor: int = Field(default=0, sa_column=money_column())
    deposit_ref: str = Field(default="", max_length=128)
    balance_due_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    deposit_kept_minor: int = Field(default=0, sa_column=money_column())
    # The deposit rule the deposit was paid under (NULL: no deposit, or paid before it was kept; a lapse then
    # applies the channel's rule).
    deposit_rule: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    stock_seen_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # Per inventory allocation, the highest version of its waiting state the lines followed: [sku, location_id,
    # version] triples (Order.stock_versions; migration 0013).
    stock_versions: list[list[Any]] = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    # Order.promise_broken_at: when the seller broke a promise to a customer holding a deposit (migration 0014).
    promise_broken_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # When the delivery address took effect (older changes are moot; NULL: unknown, on orders placed before it
    # was kept), and the address as placed once it has changed (NULL: unchanged), which a repeated PlaceOrder
    # is compared with.
    address_as_of: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    placed_address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # When the lines' discounts and the shipping fee took effect (older reprices are moot; NULL: unknown), and
    # the prices as placed once repriced (NULL: never), {"shipping_fee_minor": n, "discounts": [[sku, n]...]}
    # (Order.placed_prices; migration 0021).
    prices_as_of: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    placed_prices: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # One more with every saved change, under the row lock: events carry it, so readers order the order's
    # states by it rather than by updated_at (each replica's own clock).
    revision: int = Field(default=0, sa_column=counter_column())
    # The channel version the first payment was made under (0: unpaid, or paid before it was kept).
    channel_version: int = Field(default=0, sa_column=counter_column())
    # Order.returnable_until, and whether OrderReturnWindowClosed was published (migration 0016).
    returnable_until: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    return_window_closed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )


class OrderLineRow(OrdersTable, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        *priced_line_checks(),
        CheckConstraint(
            "discount_minor >= 0 AND discount_minor <= unit_price_minor * quantity", name="discount_within_line"
        ),
        CheckConstraint("returned_quantity >= 0 AND returned_quantity <= quantity", name="returned_within_quantity"),
        CheckConstraint("awaiting_quantity >= 0 AND awaiting_quantity <= quantity", name="awaiting_within_quantity"),
    )

    order_id: str = Field(primary_key=True, max_length=64, foreign_key="orders.id")
    sku: str = Field(primary_key=True, max_length=64)
    line_no: int
    quantity: int
    unit_price_minor: int = Field(default=0, sa_column=money_column())
    # The reduction on the whole line (line total = unit price x quantity - discount).
    discount_minor: int = Field(default=0, sa_column=money_column())
    channel_sku: str = Field(default="", max_length=128)
    returned_quantity: int = 0
    # Units waiting for goods to arrive, and their promised date (presale, backorder).
    awaiting_quantity: int = 0
    promised_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class FulfillmentRow(OrdersTable, table=True):
    __tablename__ = "fulfillments"
    __table_args__ = (
        # ListOrders by dealer or location pages these in the keyset order of their orders (order_listing.py).
        Index("fulfillments_by_owner", "owner_dealer_id", "order_created_at", "order_id"),
        Index("fulfillments_by_location", "location_id", "order_created_at", "order_id"),
        # ...and, for an order status before anything left, only the fulfillments still to leave.
        Index(
            "fulfillments_to_leave_by_owner",
            "owner_dealer_id",
            "order_created_at",
            "order_id",
            postgresql_where=TO_LEAVE,
        ),
        Index(
            "fulfillments_to_leave_by_location",
            "location_id",
            "order_created_at",
            "order_id",
            postgresql_where=TO_LEAVE,
        ),
    )

    id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=64, foreign_key="orders.id", index=True)
    seq: int
    location_id: str = Field(max_length=64)
    owner_dealer_id: str = Field(default="", max_length=64)
    status: str = Field(max_length=16)
    tracking_no: str = Field(default="", max_length=128)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    shipped_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # The order's created_at, written with the order (order_sql.SAVE_ORDER), or set from the order by a trigger
    # on an insert without it (migration 0015: a replica of the release before): never NULL once migrated (the
    # type says it may be only because the column came later).
    order_created_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ReturnRow(OrdersTable, Created, table=True):
    __tablename__ = "order_returns"

    id: str = Field(primary_key=True, max_length=64)
    order_id: str = Field(max_length=64, foreign_key="orders.id", index=True)
    request_id: str = Field(max_length=255, unique=True)  # the caller-scoped key (migration 0007)
    location_id: str = Field(max_length=64)
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    currency: str = Field(max_length=3)
    refund_minor: int = Field(default=0, sa_column=money_column())
    reason: str = Field(default="", max_length=500)


class StockRequestRow(OrdersTable, Created, table=True):
    """The command outbox: what inventory must still be told, written with the change that requires it."""

    __tablename__ = "stock_requests"
    __table_args__ = (
        # The sender's scan: the oldest unfinished request of each order.
        Index("stock_requests_open", "order_id", "seq", postgresql_where="done_at IS NULL AND failed_at IS NULL"),
        # A refused commit stops goods leaving (STOCK_NOT_HELD); refused requests are few and never purged.
        Index("stock_requests_refused", "order_id", postgresql_where="failed_at IS NOT NULL"),
    )

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    order_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(String, nullable=True))
    # Not before this time (retry backoff), and a claim: whoever sends it pushes it into the future first.
    not_before: datetime | None = Field(default=None, sa_column=timestamp_column())
    done_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ChannelRow(OrdersTable, table=True):
    """Orders' copy of each channel (fed by channels.channel.* events): whose sale an order on it is, and
    its terms (currency, catalogue)."""

    __tablename__ = "channels"

    id: str = Field(primary_key=True, max_length=64)
    type: str = Field(max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64)
    version: int = Field(default=0, sa_column=counter_column())
    currency: str = Field(default="", max_length=3)
    catalogue: str = Field(default="LISTINGS", max_length=16)
    # Presale terms: deposits allowed when balance_due_seconds > 0 (domain/channels.py PresaleTerms).
    balance_due_seconds: int = 0
    min_deposit_bps: int = 0
    deposit_rule: str = Field(default="REFUND", max_length=16)
    # Days an order may be returned after its last goods left (migration 0016; 7 for copies made before).
    return_window_days: int = Field(default=7, sa_column=Column(Integer, nullable=False, server_default="7"))


class ChannelListingRow(OrdersTable, table=True):
    """Orders' copy of each listing (fed by channels.listing.upserted): what a channel sells, at what price."""

    __tablename__ = "channel_listings"

    channel_id: str = Field(primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    price_currency: str = Field(max_length=3)
    price_minor: int = Field(default=0, sa_column=money_column())
    active: bool = True
    version: int = Field(default=0, sa_column=counter_column())
