"""Settlement persistence: SQL in, domain objects out.

Posting discipline: an entry first claims its business key (a duplicate stops there, before any lock), then
locks the balance rows of its parties in (currency, party) order (deadlock freedom), takes the posting time
from `clock_timestamp()` *after* the locks, and writes its lines with each party's balance after them. Lines
of one (party, currency) are therefore written one transaction at a time, so their id order, their time
order and their running balances agree, which is what makes statements cheap and exact.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from onepool_runtime.columns import core_tables
from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import Repository
from onepool_runtime.upserts import upsert_newer
from sqlalchemy import and_, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert

from onepool_settlement.adapters.orm import (
    BalanceRow,
    ChannelTermsRow,
    JournalEntryRow,
    JournalLineRow,
    OrderSettlementRow,
    StatementLineRow,
    StatementRow,
)
from onepool_settlement.domain import parties
from onepool_settlement.domain.model import (
    Account,
    ChannelTerms,
    ChannelType,
    JournalEntry,
    JournalLine,
    OrderSettlement,
)
from onepool_settlement.domain.reconciliation import OffBalanceEntry, OrderTotals
from onepool_settlement.domain.statements import Statement, StatementLine

_CHANNELS, _ENTRIES, _LINES, _BALANCES = core_tables(ChannelTermsRow, JournalEntryRow, JournalLineRow, BalanceRow)
_ORDERS, _STATEMENTS, _STATEMENT_LINES = core_tables(OrderSettlementRow, StatementRow, StatementLineRow)

_LINE_COLUMNS = (
    _LINES.c.id,
    _LINES.c.entry_id,
    _LINES.c.party,
    _LINES.c.account,
    _LINES.c.amount_minor,
    _LINES.c.currency,
    _LINES.c.balance_after,
    _LINES.c.order_id,
    _LINES.c.created_at,
    _ENTRIES.c.rule,
    _ENTRIES.c.source_event_id,
    _ENTRIES.c.source_subject,
    _ENTRIES.c.memo,
    _ENTRIES.c.occurred_at,
)
_LINES_WITH_ENTRY = _LINES.join(_ENTRIES, _ENTRIES.c.id == _LINES.c.entry_id)


def _line(row: Any) -> JournalLine:
    return build(JournalLine, row, amount=row.amount_minor)


def _settlement(row: Any) -> OrderSettlement:
    return build(OrderSettlement, row)


class SettlementRepository(Repository):
    # --- channel terms ------------------------------------------------------------------------------

    async def get_channel(self, channel_id: str) -> ChannelTerms | None:
        row = (await self.session.execute(select(_CHANNELS).where(_CHANNELS.c.channel_id == channel_id))).first()
        if row is None:
            return None
        return build(ChannelTerms, row, type=ChannelType(row.type))

    async def save_channel(self, terms: ChannelTerms) -> bool:
        """Insert or replace with a newer version; an older or equal version changes nothing."""
        values = row_values(_CHANNELS, terms)
        return await upsert_newer(self.session, _CHANNELS, values, ["channel_id"], touch=True)

    # --- orders -------------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> OrderSettlement | None:
        row = (await self.session.execute(select(_ORDERS).where(_ORDERS.c.order_id == order_id))).first()
        return _settlement(row) if row else None

    async def add_order(self, s: OrderSettlement) -> OrderSettlement:
        """Record who sold the order; if another transaction recorded it first, theirs stands."""
        inserted = await self.session.execute(
            insert(_ORDERS)
            .values(**row_values(_ORDERS, s))
            .on_conflict_do_nothing(index_elements=["order_id"])
            .returning(_ORDERS.c.order_id)
        )
        if inserted.first() is not None:
            return s
        existing = await self.get_order(s.order_id)
        assert existing is not None
        return existing

    async def note_order_report(
        self, order_id: str, reported_paid: int, reported_refunded: int, cancelled: bool = False
    ) -> None:
        """What the orders service last said about the order (monotonic: a late, older event cannot lower it)."""
        await self.session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.order_id == order_id)
            .values(
                reported_paid=func.greatest(_ORDERS.c.reported_paid, reported_paid),
                reported_refunded=func.greatest(_ORDERS.c.reported_refunded, reported_refunded),
                cancelled=_ORDERS.c.cancelled | cancelled,
                updated_at=func.now(),
            )
        )

    async def order_positions(self, order_id: str, currency: str) -> dict[tuple[str, str], int]:
        """The order's net amount per (party, account) over all its entries, clearing excluded."""
        rows = await self.session.execute(
            select(_LINES.c.party, _LINES.c.account, func.sum(_LINES.c.amount_minor).label("amount"))
            .where(_LINES.c.order_id == order_id, _LINES.c.currency == currency, _LINES.c.party != parties.CLEARING)
            .group_by(_LINES.c.party, _LINES.c.account)
        )
        return {(r.party, r.account): int(r.amount) for r in rows if r.amount}

    # --- journal ------------------------------------------------------------------------------------

    async def post(self, entry: JournalEntry) -> list[JournalLine] | None:
        """Write an entry once per key; None if its key was already posted (or it is empty)."""
        if entry.is_empty:
            return None
        entry_id = str(uuid.uuid4())
        claimed = await self.session.execute(
            insert(_ENTRIES)
            .values(
                id=entry_id,
                key=entry.key,
                rule=entry.rule.value,
                currency=entry.currency,
                order_id=entry.order_id,
                source_event_id=entry.source.event_id[:64],
                source_subject=entry.source.subject[:255],
                memo=entry.memo[:500],
                occurred_at=entry.source.occurred_at,
                created_at=func.clock_timestamp(),
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(_ENTRIES.c.id)
        )
        if claimed.first() is None:
            return None
        balances = await self._lock_balances(entry.currency, entry.parties)
        posted_at: datetime = (await self.session.execute(select(func.clock_timestamp()))).scalar_one()
        rows: list[dict[str, Any]] = []
        for p in entry.postings:
            balances[p.party] += p.amount
            rows.append(
                {
                    "entry_id": entry_id,
                    "party": p.party,
                    "account": p.account,
                    "currency": entry.currency,
                    "amount_minor": p.amount,
                    "balance_after": balances[p.party],
                    "order_id": entry.order_id,
                    "created_at": posted_at,
                }
            )
        ids = (
            (await self.session.execute(insert(_LINES).returning(_LINES.c.id, sort_by_parameter_order=True), rows))
            .scalars()
            .all()
        )
        await self.session.execute(
            update(_BALANCES)
            .where(_BALANCES.c.party == bindparam("p"), _BALANCES.c.currency == bindparam("c"))
            .values(balance=bindparam("b"), updated_at=posted_at),
            [{"p": party, "c": entry.currency, "b": amount} for party, amount in sorted(balances.items())],
        )
        entry.id, entry.created_at = entry_id, posted_at
        return [
            JournalLine(
                id=line_id,
                entry_id=entry_id,
                party=r["party"],
                account=r["account"],
                amount=r["amount_minor"],
                currency=entry.currency,
                balance_after=r["balance_after"],
                rule=entry.rule.value,
                order_id=entry.order_id,
                source_event_id=entry.source.event_id,
                source_subject=entry.source.subject,
                memo=entry.memo,
                created_at=posted_at,
                occurred_at=entry.source.occurred_at,
            )
            for line_id, r in zip(ids, rows, strict=True)
        ]

    async def _lock_balances(self, currency: str, party_names: list[str]) -> dict[str, int]:
        ordered = sorted(party_names)
        await self.session.execute(
            insert(_BALANCES)
            .values([{"party": p, "currency": currency, "balance": 0} for p in ordered])
            .on_conflict_do_nothing(index_elements=["party", "currency"])
        )
        rows = await self.session.execute(
            select(_BALANCES.c.party, _BALANCES.c.balance)
            .where(_BALANCES.c.currency == currency, _BALANCES.c.party.in_(ordered))
            .order_by(_BALANCES.c.party)
            .with_for_update()
        )
        return {r.party: int(r.balance) for r in rows}

    async def balance(self, party: str, currency: str) -> int:
        value = (
            await self.session.execute(
                select(_BALANCES.c.balance).where(_BALANCES.c.party == party, _BALANCES.c.currency == currency)
            )
        ).scalar_one_or_none()
        return int(value or 0)

    async def list_lines(
        self,
        *,
        party: str,
        currency: str,
        order_id: str,
        start: datetime | None,
        end: datetime | None,
        after_id: int,
        limit: int,
    ) -> list[JournalLine]:
        conditions = [_LINES.c.id > after_id]
        if party:
            conditions.append(_LINES.c.party == party)
        if currency:
            conditions.append(_LINES.c.currency == currency)
        if order_id:
            conditions.append(_LINES.c.order_id == order_id)
        if start is not None:
            conditions.append(_LINES.c.created_at >= start)
        if end is not None:
            conditions.append(_LINES.c.created_at < end)
        rows = await self.session.execute(
            select(*_LINE_COLUMNS)
            .select_from(_LINES_WITH_ENTRY)
            .where(and_(*conditions))
            .order_by(_LINES.c.id)
            .limit(limit)
        )
        return [_line(r) for r in rows]

    async def balance_before(self, party: str, currency: str, when: datetime) -> int:
        """The party's balance just before `when`: the running balance on its last line posted earlier."""
        value = (
            await self.session.execute(
                select(_LINES.c.balance_after)
                .where(_LINES.c.party == party, _LINES.c.currency == currency, _LINES.c.created_at < when)
                .order_by(_LINES.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        return int(value or 0)

    # --- statements ---------------------------------------------------------------------------------

    async def add_statement(self, st: Statement) -> None:
        await self.session.execute(
            insert(_STATEMENTS).values(
                id=st.id,
                party=st.party,
                currency=st.currency,
                period_start=st.period_start,
                period_end=st.period_end,
                opening=st.opening,
                closing=st.closing,
                line_count=st.line_count,
                generated_at=st.generated_at,
            )
        )
        if st.lines:
            await self.session.execute(
                insert(_STATEMENT_LINES),
                [
                    {"statement_id": st.id, "seq": i, "line_id": sl.line.id, "running_balance": sl.running_balance}
                    for i, sl in enumerate(st.lines)
                ],
            )

    async def get_statement(self, statement_id: str) -> Statement | None:
        row = (await self.session.execute(select(_STATEMENTS).where(_STATEMENTS.c.id == statement_id))).first()
        if row is None:
            return None
        lines = await self.session.execute(
            select(*_LINE_COLUMNS, _STATEMENT_LINES.c.running_balance)
            .select_from(_STATEMENT_LINES.join(_LINES_WITH_ENTRY, _LINES.c.id == _STATEMENT_LINES.c.line_id))
            .where(_STATEMENT_LINES.c.statement_id == statement_id)
            .order_by(_STATEMENT_LINES.c.seq)
        )
        return build(
            Statement,
            row,
            lines=[StatementLine(_line(r), r.running_balance) for r in lines],
        )

    # --- reconciliation -----------------------------------------------------------------------------

    async def period_totals(self, currency: str, start: datetime, end: datetime) -> dict[str, int]:
        in_period = and_(_LINES.c.currency == currency, _LINES.c.created_at >= start, _LINES.c.created_at < end)
        is_sale = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_PAYMENT.value)
        is_refund = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_REFUND.value)
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(_LINES.c.amount_minor), 0).label("ledger_sum"),
                    func.count(func.distinct(_LINES.c.entry_id)).label("entries"),
                    func.count(func.distinct(_LINES.c.order_id)).filter(is_sale).label("orders_settled"),
                    func.coalesce(-func.sum(_LINES.c.amount_minor).filter(is_sale), 0).label("gross"),
                    func.coalesce(func.sum(_LINES.c.amount_minor).filter(is_refund), 0).label("refunds"),
                ).where(in_period)
            )
        ).one()
        return {k: int(v) for k, v in row._mapping.items()}

    async def unbalanced_entries(self, currency: str, start: datetime, end: datetime) -> list[OffBalanceEntry]:
        total = func.sum(_LINES.c.amount_minor)
        rows = await self.session.execute(
            select(_LINES.c.entry_id, func.max(_LINES.c.order_id).label("order_id"), total.label("total"))
            .where(_LINES.c.currency == currency, _LINES.c.created_at >= start, _LINES.c.created_at < end)
            .group_by(_LINES.c.entry_id)
            .having(total != 0)
        )
        return [OffBalanceEntry(r.entry_id, r.order_id, int(r.total)) for r in rows]

    async def order_totals(self, currency: str, start: datetime, end: datetime) -> list[OrderTotals]:
        """All-time totals of every order that has a line in the period."""
        touched = (
            select(_LINES.c.order_id)
            .where(
                _LINES.c.currency == currency,
                _LINES.c.created_at >= start,
                _LINES.c.created_at < end,
                _LINES.c.order_id != "",
            )
            .distinct()
            .subquery()
        )
        is_sale = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_PAYMENT.value)
        is_refund = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_REFUND.value)
        rows = await self.session.execute(
            select(
                touched.c.order_id,
                func.coalesce(-func.sum(_LINES.c.amount_minor).filter(is_sale), 0).label("gross"),
                func.coalesce(func.sum(_LINES.c.amount_minor).filter(is_refund), 0).label("refunds"),
                (func.count(literal_column("1")).filter(is_sale) > 0).label("has_sale"),
                func.coalesce(func.max(_ORDERS.c.reported_paid), 0).label("reported_paid"),
                func.coalesce(func.max(_ORDERS.c.reported_refunded), 0).label("reported_refunded"),
                func.coalesce(func.bool_or(_ORDERS.c.cancelled), False).label("cancelled"),
            )
            .select_from(
                touched.join(
                    _LINES, and_(_LINES.c.order_id == touched.c.order_id, _LINES.c.currency == currency)
                ).outerjoin(_ORDERS, _ORDERS.c.order_id == touched.c.order_id)
            )
            .group_by(touched.c.order_id)
        )
        return [
            OrderTotals(
                order_id=r.order_id,
                gross=int(r.gross),
                refunds=int(r.refunds),
                has_sale=bool(r.has_sale),
                reported_paid=int(r.reported_paid),
                reported_refunded=int(r.reported_refunded),
                cancelled=bool(r.cancelled),
            )
            for r in rows
        ]
