"""SQLModel tables of the settlement schema. Repositories map them to domain objects; nothing else sees them.

The journal is append-only and every entry balances: migration 0002 adds triggers that refuse UPDATE/DELETE
of journal lines, and 0004 one that refuses a statement inserting lines whose entries do not sum to zero or
that are dated into a closed period (the domain refuses first).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onepool_runtime.columns import Created, Stamped, Updated, counter_column, money_column, timestamp_column
from onepool_runtime.commit_order import xact_column
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class SettlementTable(SQLModel, registry=registry()):
    pass


metadata = SettlementTable.metadata

# The xmin of the writing statement's snapshot, as a bigint (the 64-bit xid8, as xact_id).
SNAPSHOT_XMIN = "((pg_snapshot_xmin(pg_current_snapshot()))::text)::bigint"


class ChannelTermsRow(SettlementTable, Updated, table=True):
    """Local copy of each channel's fee rate and owner, fed by channels.channel.* events."""

    __tablename__ = "channels"

    channel_id: str = Field(primary_key=True, max_length=64)
    type: str = Field(default="UNSPECIFIED", max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64)
    fee_rate_bps: int = 0
    version: int = Field(default=0, sa_column=counter_column())
    # What the channel sells in (channels keeps it immutable): a remittance in another currency is refused.
    # "" while not known (a channel heard of before migration 0013 with no sale to tell it).
    currency: str = Field(default="", max_length=3)


class ChannelTermsVersionRow(SettlementTable, table=True):
    """Every version of each channel's terms settlement has heard of (never replaced): a sale is split at the
    version orders says it was paid under (OrderFacts.channel_version), however late its event is read."""

    __tablename__ = "channel_terms"

    channel_id: str = Field(primary_key=True, max_length=64)
    version: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str = Field(default="UNSPECIFIED", max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64)
    fee_rate_bps: int = 0


class JournalEntryRow(SettlementTable, Created, table=True):
    __tablename__ = "journal_entries"
    __table_args__ = (Index("journal_entries_by_time", "created_at"),)

    id: str = Field(primary_key=True, max_length=64)
    # The business key (sale:<order>, return:<return>, ...): each is posted once.
    key: str = Field(max_length=255, unique=True)
    rule: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    order_id: str = Field(default="", max_length=64, index=True)
    source_event_id: str = Field(default="", max_length=64)
    source_subject: str = Field(default="", max_length=255)
    memo: str = Field(default="", max_length=500)
    occurred_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    reference: str = Field(default="", max_length=255)
    # A late entry: the entry it corrects (if any) and the end of the closed period its fact belongs to.
    corrects_entry_id: str = Field(default="", max_length=64)
    corrects_period_end: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # Where the posting transaction stood among the others (migration 0011): its statement's snapshot xmin and
    # its start, set by the database. A ListEntries time window becomes an xact range (repository.window_bounds).
    snapshot_xmin: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=False, server_default=text(SNAPSHOT_XMIN))
    )
    xact_started_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, server_default=text("now()"))
    )


class JournalLineRow(SettlementTable, Created, table=True):
    """One posting. balance_after is no longer written (0): postings take no per-party lock, so a running
    balance is computed when a statement is cut, in (created_at, id) order. xact_id is the transaction that
    wrote the line (migration 0006): ListEntries pages in (xact_id, id) order, over finished transactions."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("journal_lines_by_party_xact", "party", "xact_id", "id"),
        Index("journal_lines_by_xact", "xact_id", "id"),
        Index("journal_lines_by_party_time", "party", "currency", "created_at"),
        Index("journal_lines_by_order", "order_id"),
        Index("journal_lines_by_time", "created_at"),
        Index("journal_lines_by_entry", "entry_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    entry_id: str = Field(sa_column=Column(String(64), ForeignKey("journal_entries.id"), nullable=False))
    party: str = Field(max_length=80)
    account: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    order_id: str = Field(default="", max_length=64)
    # The writing transaction's id (pg_current_xact_id(), the 64-bit xid8 as a bigint), set by the database.
    xact_id: int | None = Field(default=None, sa_column=xact_column())


class PeriodRow(SettlementTable, table=True):
    """A closed period: nothing posts before the latest period_end (a trigger refuses it too)."""

    __tablename__ = "periods"

    period_end: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    period_start: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True, default=False))
    closed_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class PeriodBalanceRow(SettlementTable, table=True):
    """Each party's balance at a closed period's end: the opening of everything after it."""

    __tablename__ = "period_balances"
    __table_args__ = (Index("period_balances_by_party", "party", "currency", "period_end"),)

    period_end: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    party: str = Field(primary_key=True, max_length=80)
    currency: str = Field(primary_key=True, max_length=3)
    balance: int = Field(sa_column=Column(BigInteger, nullable=False))


class BalanceCheckpointRow(SettlementTable, table=True):
    """A party's balance of the lines posted before `at`, written between period closes (migration 0012): a
    balance sums its lines since the latest checkpoint or period snapshot, not since the last close."""

    __tablename__ = "balance_checkpoints"
    __table_args__ = (Index("balance_checkpoints_by_time", "at"),)

    party: str = Field(primary_key=True, max_length=80)
    currency: str = Field(primary_key=True, max_length=3)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    balance: int = Field(sa_column=Column(BigInteger, nullable=False))


class PayoutRow(SettlementTable, Created, table=True):
    __tablename__ = "payouts"
    __table_args__ = (
        Index("payouts_by_party", "party", "created_at"),
        Index("payouts_by_time", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    party: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(max_length=16)
    period_end: datetime | None = Field(default=None, sa_column=timestamp_column(default=False))
    entry_id: str = Field(max_length=64)
    # What it held back: the party's income from orders not final yet (rules.payout_amount); 0 before 0010.
    held: int = Field(default=0, sa_column=money_column())


class LocationRow(SettlementTable, Updated, table=True):
    """Who owns each location (inventory.location.upserted): a return received at another owner's
    location moves the goods' ownership."""

    __tablename__ = "locations"

    location_id: str = Field(primary_key=True, max_length=64)
    owner_dealer_id: str = Field(default="", max_length=64)


class OrderSettlementRow(SettlementTable, Stamped, table=True):
    """Who sold an order and on which terms, and what the orders service last reported about it."""

    __tablename__ = "order_settlements"
    # The orders whose income a payout holds back (repository.held_query): few, those in flight; without it
    # the payout's sum read every order ever settled.
    __table_args__ = (Index("order_settlements_not_final", "order_id", postgresql_where=text("final_at IS NULL")),)

    order_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(max_length=3)
    channel_id: str = Field(default="", max_length=64)
    seller: str = Field(max_length=80)
    gross: int = Field(default=0, sa_column=money_column())
    fee_rate_bps: int = 0
    brand_share_bps: int = 0
    # The fulfillment fee rate every fee of the order is priced at (settings' when the sale was booked); NULL
    # for orders settled before migration 0008, whose fees take the rate in settings.
    fulfillment_fee_bps: int | None = None
    reported_paid: int = Field(default=0, sa_column=money_column())
    reported_refunded: int = Field(default=0, sa_column=money_column())
    cancelled: bool = False
    # When an orders event first showed the order final for payouts (rules.is_final: nothing can cancel its
    # payment any more); NULL while its income is held back from payouts. Orders settled before migration 0010
    # read the migration's time: they are paid out as before (nothing says whether they are still open).
    final_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class OrderAwaitingSaleRow(SettlementTable, Created, table=True):
    """An order an entry (other than a presale deposit's) posted to before its sale was booked: e.g. goods a
    dealer's shop gave up for it, read before the sale. A payout holds its lines back as it does an order not
    final (repository.held_query); booking the sale removes it (posting_sql). Few: those whose sale is still to
    come, or was dead-lettered (then held until it is booked); and paid orders of nothing read final, which no
    sale will ever remove (final_at set: not held)."""

    __tablename__ = "orders_awaiting_sale"

    order_id: str = Field(primary_key=True, max_length=64)
    # A paid order of nothing (total 0: no sale is ever booked) read final (rules.is_final): no longer held.
    final_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class UnsettledOrderRow(SettlementTable, Stamped, table=True):
    """A paid order whose event was dead-lettered before its sale was booked: what orders reported, so that
    Reconcile names the sale the ledger lacks (there is no order_settlements row to compare with)."""

    __tablename__ = "unsettled_orders"
    __table_args__ = (Index("unsettled_orders_by_time", "currency", "created_at"),)

    order_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(max_length=3)
    reported_paid: int = Field(default=0, sa_column=money_column())
    reported_refunded: int = Field(default=0, sa_column=money_column())
    # The message type of the last event dead-lettered for it (e.g. onepool.orders.v1.OrderPaid).
    event_type: str = Field(default="", max_length=128)


class UnpricedMoveRow(SettlementTable, Created, table=True):
    """Goods that changed owner with SKUs nothing priced (domain/unpriced.py), once per move: Reconcile lists each
    not settled by hand as `unpriced_move` in the period it was recorded in (created_at)."""

    __tablename__ = "unpriced_moves"
    __table_args__ = (
        # Reconcile's read: the period's moves not settled, in one currency (few: those still open).
        Index("unpriced_moves_open", "currency", "created_at", postgresql_where=text("settled_at IS NULL")),
        # A settling request_id names one move, for ever (the runtime's idempotency keys are purged).
        Index(
            "unpriced_moves_by_settling_request",
            "settled_key",
            unique=True,
            postgresql_where=text("settled_key IS NOT NULL"),
        ),
    )

    move_id: str = Field(primary_key=True, max_length=200)
    reason: str = Field(max_length=16)
    giver: str = Field(max_length=80)
    taker: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    # [{"sku": ..., "quantity": ...}]: the units nothing priced (quantity 0: dealers did not say).
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    priced_total: int = Field(default=0, sa_column=money_column())
    entry_id: str = Field(default="", max_length=64)
    order_id: str = Field(default="", max_length=64)
    reference: str = Field(default="", max_length=200)
    location_id: str = Field(default="", max_length=64)
    occurred_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    settled_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    settled_value: int = Field(default=0, sa_column=money_column())
    settled_key: str | None = Field(default=None, max_length=255)
    settled_entry_id: str = Field(default="", max_length=64)


class StatementRow(SettlementTable, table=True):
    __tablename__ = "statements"
    __table_args__ = (Index("statements_by_party", "party", "generated_at"),)

    id: str = Field(primary_key=True, max_length=64)
    party: str = Field(max_length=80)
    currency: str = Field(max_length=3)
    period_start: datetime | None = Field(default=None, sa_column=timestamp_column(default=False))
    period_end: datetime | None = Field(default=None, sa_column=timestamp_column(default=False))
    opening: int = Field(default=0, sa_column=money_column())
    closing: int = Field(default=0, sa_column=money_column())
    line_count: int = 0
    generated_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # Its period was closed when it was generated: it can never change.
    final: bool = False


class StatementLineRow(SettlementTable, table=True):
    __tablename__ = "statement_lines"

    statement_id: str = Field(sa_column=Column(String(64), ForeignKey("statements.id"), primary_key=True))
    seq: int = Field(primary_key=True)
    line_id: int = Field(sa_column=Column(BigInteger, ForeignKey("journal_lines.id"), nullable=False))
    running_balance: int = Field(sa_column=Column(BigInteger, nullable=False))
