"""SQLModel tables of the settlement schema. Repositories map them to domain objects; nothing else sees them.

The journal is append-only and every entry balances: migration 0002 adds triggers that refuse UPDATE/DELETE
of journal lines and refuse to commit an entry whose lines do not sum to zero (the domain refuses first).
"""

from __future__ import annotations

from datetime import datetime

from onepool_runtime.columns import counter_column, money_column, timestamp_column
from sqlalchemy import BigInteger, Column, ForeignKey, Identity, Index, String
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class SettlementTable(SQLModel, registry=registry()):
    pass


metadata = SettlementTable.metadata


class ChannelTermsRow(SettlementTable, table=True):
    """Local copy of each channel's fee rate and owner, fed by channels.channel.* events."""

    __tablename__ = "channels"

    channel_id: str = Field(primary_key=True, max_length=64)
    type: str = Field(default="UNSPECIFIED", max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64)
    fee_rate_bps: int = 0
    version: int = Field(default=0, sa_column=counter_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class JournalEntryRow(SettlementTable, table=True):
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
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class JournalLineRow(SettlementTable, table=True):
    """One posting. balance_after is the party's balance in this currency right after it (lines of one
    (party, currency) are written under that balance row's lock, so id order is posting order)."""

    __tablename__ = "journal_lines"
    __table_args__ = (
        Index("journal_lines_by_party", "party", "currency", "id"),
        Index("journal_lines_by_party_time", "party", "currency", "created_at"),
        Index("journal_lines_by_order", "order_id"),
        Index("journal_lines_by_time", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True))
    entry_id: str = Field(sa_column=Column(String(64), ForeignKey("journal_entries.id"), nullable=False))
    party: str = Field(max_length=80)
    account: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    order_id: str = Field(default="", max_length=64)
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class BalanceRow(SettlementTable, table=True):
    __tablename__ = "balances"

    party: str = Field(primary_key=True, max_length=80)
    currency: str = Field(primary_key=True, max_length=3)
    balance: int = Field(default=0, sa_column=money_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class OrderSettlementRow(SettlementTable, table=True):
    """Who sold an order and on which terms, and what the orders service last reported about it."""

    __tablename__ = "order_settlements"

    order_id: str = Field(primary_key=True, max_length=64)
    currency: str = Field(max_length=3)
    channel_id: str = Field(default="", max_length=64)
    seller: str = Field(max_length=80)
    gross: int = Field(default=0, sa_column=money_column())
    fee_rate_bps: int = 0
    brand_share_bps: int = 0
    reported_paid: int = Field(default=0, sa_column=money_column())
    reported_refunded: int = Field(default=0, sa_column=money_column())
    cancelled: bool = False
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())


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


class StatementLineRow(SettlementTable, table=True):
    __tablename__ = "statement_lines"

    statement_id: str = Field(sa_column=Column(String(64), ForeignKey("statements.id"), primary_key=True))
    seq: int = Field(primary_key=True)
    line_id: int = Field(sa_column=Column(BigInteger, ForeignKey("journal_lines.id"), nullable=False))
    running_balance: int = Field(sa_column=Column(BigInteger, nullable=False))
