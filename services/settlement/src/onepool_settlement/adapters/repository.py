"""Settlement persistence: SQL in, domain objects out.

Posting discipline (no hot row): a transaction that posts first holds the shared side of the period lock
(`hold_open_period`, an advisory lock: no row is written, holders never wait for each other), then an entry
claims its business key with its posting time, `clock_timestamp()` (a duplicate stops there) and writes its
lines. No balance row is updated, so postings of different orders never wait for each other, whichever
parties they touch, and settlement scales with replicas. A balance is the party's latest checkpoint or period
snapshot plus its lines since (balances.py); ClosePeriod takes the period lock exclusively (waiting for postings
in flight) and writes the snapshots.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from onepool_kernel.lines import StockLine
from onepool_runtime.columns import core_tables
from onepool_runtime.commit_order import CommitOrder
from onepool_runtime.mapping import build, row_values
from onepool_runtime.repository import Repository
from onepool_runtime.upserts import upsert_newer
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    tuple_,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from onepool_settlement.adapters import balances, posting_sql
from onepool_settlement.adapters.orm import (
    ChannelTermsRow,
    ChannelTermsVersionRow,
    JournalEntryRow,
    JournalLineRow,
    LocationRow,
    OrderAwaitingSaleRow,
    OrderSettlementRow,
    PayoutRow,
    PeriodBalanceRow,
    PeriodRow,
    StatementLineRow,
    StatementRow,
    UnpricedMoveRow,
    UnsettledOrderRow,
)
from onepool_settlement.domain import parties
from onepool_settlement.domain.model import (
    CASH_RULES,
    DEPOSIT_ACCOUNTS,
    Account,
    ChannelTerms,
    JournalEntry,
    JournalLine,
    OrderSettlement,
    Payout,
    Rule,
)
from onepool_settlement.domain.periods import Period
from onepool_settlement.domain.reconciliation import OffBalanceEntry, OrderTotals, UnsettledOrder
from onepool_settlement.domain.statements import Statement, StatementLine
from onepool_settlement.domain.unpriced import UnpricedMove

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork
    from sqlalchemy.ext.asyncio import AsyncSession

_CHANNELS, _ENTRIES, _LINES = core_tables(ChannelTermsRow, JournalEntryRow, JournalLineRow)
(_CHANNEL_TERMS,) = core_tables(ChannelTermsVersionRow)
_ORDERS, _STATEMENTS, _STATEMENT_LINES, _UNSETTLED = core_tables(
    OrderSettlementRow, StatementRow, StatementLineRow, UnsettledOrderRow
)
_PERIODS, _SNAPSHOTS, _PAYOUTS, _LOCATIONS = core_tables(PeriodRow, PeriodBalanceRow, PayoutRow, LocationRow)
_UNPRICED, _AWAITING = core_tables(UnpricedMoveRow, OrderAwaitingSaleRow)

# The period lock (pg advisory lock key): postings hold it shared, ClosePeriod exclusively.
PERIOD_LOCK_KEY = 0x5E77_1E_0001

_LINE_COLUMNS = (
    _LINES.c.id,
    _LINES.c.entry_id,
    _LINES.c.party,
    _LINES.c.account,
    _LINES.c.amount_minor,
    _LINES.c.currency,
    _LINES.c.order_id,
    _LINES.c.created_at,
    _LINES.c.xact_id,
    _ENTRIES.c.rule,
    _ENTRIES.c.source_event_id,
    _ENTRIES.c.source_subject,
    _ENTRIES.c.memo,
    _ENTRIES.c.occurred_at,
    _ENTRIES.c.reference,
    _ENTRIES.c.corrects_entry_id,
    _ENTRIES.c.corrects_period_end,
)
_LINES_WITH_ENTRY = _LINES.join(_ENTRIES, _ENTRIES.c.id == _LINES.c.entry_id)


# ListEntries pages in (xact_id, id) order over finished transactions (onepool_runtime.commit_order).
_LISTING = CommitOrder(_LINES.c.xact_id, _LINES.c.id)


def _line_filters(
    party: str, currency: str, order_id: str, start: datetime | None, end: datetime | None
) -> list[ColumnElement[bool]]:
    """The optional filters of a lines read ("" and None: not filtered)."""
    conditions: list[ColumnElement[bool]] = []
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
    return conditions


def page_query(
    party: str,
    currency: str,
    order_id: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[int, int],
    limit: int,
    below: int | None = None,
) -> Select[Any]:
    """SettlementRepository.page_lines's statement (an index range scan in (xact_id, id) order:
    tests/settlement/test_posting_plans.py); `below`, if given, bounds xact_id from above (window_bounds)."""
    filters = _line_filters(party, currency, order_id, start, end)
    if below is not None:
        filters.append(_LINES.c.xact_id < below)
    return _LISTING.page(select(*_LINE_COLUMNS).select_from(_LINES_WITH_ENTRY).where(*filters), after, limit)


# How many entries posted from a window's end on are looked at for one whose transaction began after it.
_LATER_ENTRIES = 1000
# How long after a window's end that transaction must have begun. An entry's posting time is read before its
# transaction takes its id when the entry is the transaction's first write (the id comes with the row's insert,
# a moment later): a transaction that began this long after the end took its id after every such one.
_ID_TAKEN_WITHIN = timedelta(seconds=5)


def window_bounds(start: datetime | None, end: datetime | None) -> Select[Any]:
    """One row: the posting window [start, end) as a range of `xact_id` (migration 0011), from (inclusive) and
    below (exclusive), each NULL where nothing bounds it. A window filtered posting times along the listing's
    whole (xact_id, id) index range: a first page read every line before the window, a last page every line
    after it. The bounds are exact, never a line of the window left out:

    - from: the snapshot xmin of the latest entry posted at or before `start`. That snapshot was taken before
      the entry's posting time; a transaction posting at or after `start` was running then or began later, so
      its id is at least that xmin.
    - below: the xact_id of an entry posted at or after `end` whose transaction started _ID_TAKEN_WITHIN or
      more after `end` (among the first _LATER_ENTRIES posted from `end` on): it took its id after that, and
      every line posted before `end` belongs to a transaction that took its id before.

    Entries from before 0011 (0 and NULL) bound nothing: windows over them read as before."""
    lowest: Any = literal(None, BigInteger)
    if start is not None:
        lowest = (
            select(_ENTRIES.c.snapshot_xmin)
            .where(_ENTRIES.c.created_at <= start)
            .order_by(_ENTRIES.c.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
    highest: Any = literal(None, BigInteger)
    if end is not None:
        later = (
            select(_ENTRIES.c.id, _ENTRIES.c.created_at, _ENTRIES.c.xact_started_at)
            .where(_ENTRIES.c.created_at >= end)
            .order_by(_ENTRIES.c.created_at)
            .limit(_LATER_ENTRIES)
            .subquery("later")
        )
        begun = (
            select(later.c.id)
            .where(later.c.xact_started_at >= end + _ID_TAKEN_WITHIN)
            .order_by(later.c.created_at)
            .limit(1)
            .subquery()
        )
        highest = (
            select(_LINES.c.xact_id)
            .select_from(begun.join(_LINES, _LINES.c.entry_id == begun.c.id))
            .limit(1)
            .scalar_subquery()
        )
    return select(lowest, highest)


def held_query(party: str, currency: str) -> Select[Any]:
    """The sum (zero or more) of the party's positive lines on orders settlement has not seen final: those whose
    settlement row is not final (order_settlements.final_at NULL: rules.is_final), and those posted to before
    their sale was booked (orders_awaiting_sale without a settlement row: e.g. goods a dealer's shop gave up
    for a sale read before the sale, or a sale dead-lettered), unless read final without one (a paid order of
    nothing, which never has a sale booked: orders_awaiting_sale.final_at). Lines without an order are not
    held, nor a kept presale deposit (`deposit_kept`: the order lapsed, it is final, and its deposit's entries
    never note it as awaiting a sale).

    Driven from those orders (the partial index `order_settlements_not_final` and the small
    `orders_awaiting_sale`: only those in flight), each order's lines read by `journal_lines_by_order`: the cost
    follows the orders in flight, never the party's history. A plain join let the planner read the party's
    lines first, every line it ever had (for the brand, a parallel scan of the whole journal: 0.9 s at 10M
    lines); the per-order sum is a LATERAL aggregate, which the planner cannot flatten into such a join
    (tests/settlement/test_posting_plans.py)."""
    not_final = select(_ORDERS.c.order_id).where(_ORDERS.c.final_at.is_(None))
    # A stale note (the sale booked by a transaction the noting one did not see) defers to the settlement row.
    # A count per note, a probe of the primary key: NOT EXISTS became a hash anti-join over every order settled.
    booked = select(func.count()).where(_ORDERS.c.order_id == _AWAITING.c.order_id).scalar_subquery()
    awaiting = select(_AWAITING.c.order_id).where(_AWAITING.c.final_at.is_(None), booked == 0)
    held_orders = union_all(not_final, awaiting).subquery("held_orders")
    per_order = (
        select(func.sum(_LINES.c.amount_minor).label("amount"))
        .where(
            _LINES.c.order_id == held_orders.c.order_id,
            _LINES.c.party == party,
            _LINES.c.currency == currency,
            _LINES.c.amount_minor > 0,
            _LINES.c.account != Account.DEPOSIT_KEPT.value,
        )
        .lateral("held")
    )
    return select(func.coalesce(func.sum(per_order.c.amount), 0)).select_from(held_orders.join(per_order, true()))


def order_totals_query(currency: str, start: datetime, end: datetime) -> Select[Any]:
    """Reconcile's all-time totals of every order sold in `currency` that has a line in the period
    (SettlementRepository.order_totals).

    Sold in a currency: its settlement row's (the sale's currency). An order's lines need not all be in it: goods
    a dealer's shop shipped for another's sale are valued at the dealer's wholesale price, in that price's
    currency (a USD sale shipped from a CNY dealer's shop moves CNY ownership), so an order is found by any of its
    lines in the period and reconciled in its sale's currency only. An order without a settlement row (no sale
    booked) is reconciled in the currency of its lines in the period: its `missing_settlement` is found there.

    Each order's totals and report are LATERAL aggregates over its own rows (`journal_lines_by_order`, the
    settlement's primary key), so the read follows the period's orders: joined as a whole, the planner
    merge-joined the entire by-order index and every order settled (9M lines read for a month's 173k orders
    at 10M lines; tests/settlement/test_posting_plans.py)."""
    touched = (
        select(_LINES.c.order_id, func.bool_or(_LINES.c.currency == currency).label("in_currency"))
        .where(
            _LINES.c.created_at >= start,
            _LINES.c.created_at < end,
            _LINES.c.order_id != "",
            # A presale deposit alone sells nothing: an order with only deposit entries is not reconciled.
            _LINES.c.account.notin_([a.value for a in DEPOSIT_ACCOUNTS]),
        )
        .group_by(_LINES.c.order_id)
        .subquery()
    )
    is_sale = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_PAYMENT.value)
    is_refund = and_(_LINES.c.party == parties.CLEARING, _LINES.c.account == Account.CUSTOMER_REFUND.value)
    totals = (
        select(
            func.coalesce(-func.sum(_LINES.c.amount_minor).filter(is_sale), 0).label("gross"),
            func.coalesce(func.sum(_LINES.c.amount_minor).filter(is_refund), 0).label("refunds"),
            (func.count(literal_column("1")).filter(is_sale) > 0).label("has_sale"),
        )
        .where(_LINES.c.order_id == touched.c.order_id, _LINES.c.currency == currency)
        .lateral("totals")
    )
    # Aggregated too (at most one row), so that it stays a probe of the primary key per order, not a merge
    # join with every order settled. Its figures are in the sale's currency.
    reported = (
        select(
            func.max(_ORDERS.c.currency).label("currency"),
            func.max(_ORDERS.c.reported_paid).label("paid"),
            func.max(_ORDERS.c.reported_refunded).label("refunded"),
            func.bool_or(_ORDERS.c.cancelled).label("cancelled"),
        )
        .where(_ORDERS.c.order_id == touched.c.order_id)
        .lateral("reported")
    )
    sold_in_currency = func.coalesce(reported.c.currency == currency, touched.c.in_currency)
    return (
        select(
            touched.c.order_id,
            totals.c.gross,
            totals.c.refunds,
            totals.c.has_sale,
            func.coalesce(reported.c.paid, 0).label("reported_paid"),
            func.coalesce(reported.c.refunded, 0).label("reported_refunded"),
            func.coalesce(reported.c.cancelled, False).label("cancelled"),
        )
        .select_from(touched.join(reported, true()).join(totals, true()))
        .where(sold_in_currency)
    )


def unpriced_moves_query(currency: str, start: datetime, end: datetime) -> Select[Any]:
    """Reconcile's unpriced moves (SettlementRepository.unpriced_moves): those recorded in [start, end) in
    `currency` and not settled by hand, a range of the partial index `unpriced_moves_open`, which holds only the
    moves still open (tests/settlement/test_unpriced_moves.py)."""
    return (
        select(_UNPRICED)
        .where(
            _UNPRICED.c.currency == currency,
            _UNPRICED.c.created_at >= start,
            _UNPRICED.c.created_at < end,
            _UNPRICED.c.settled_at.is_(None),
        )
        .order_by(_UNPRICED.c.created_at, _UNPRICED.c.move_id)
    )


def _unpriced(row: Any) -> UnpricedMove:
    return build(
        UnpricedMove,
        row,
        id=row.move_id,
        lines=tuple(StockLine(ln["sku"], int(ln["quantity"])) for ln in row.lines),
    )


def _line(row: Any) -> JournalLine:
    return build(JournalLine, row, amount=row.amount_minor)


def _payout(row: Any) -> Payout:
    return build(Payout, row)


def _settlement(row: Any) -> OrderSettlement:
    return posting_sql.settlement_of(row._mapping)


class SettlementRepository(Repository):
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        super().__init__(session, uow)
        self._holding = False
        self._closed_through: datetime | None = None

    # --- channel terms ------------------------------------------------------------------------------

    async def get_channel(self, channel_id: str, version: int = 0) -> ChannelTerms | None:
        """The channel's terms at `version` (posting_sql.terms), 0: the newest held; None while not here."""
        return (await self.terms_of({(channel_id, version)})).get((channel_id, version))

    async def save_channel(self, terms: ChannelTerms) -> bool:
        """Keep the version's terms (every version, for sales paid under it), and make them the channel's
        current terms unless a newer version is stored; True if they became current."""
        await self.session.execute(
            insert(_CHANNEL_TERMS).values(row_values(_CHANNEL_TERMS, terms)).on_conflict_do_nothing()
        )
        values = row_values(_CHANNELS, terms)
        return await upsert_newer(self.session, _CHANNELS, values, ["channel_id"], touch=True)

    async def channel_currencies(self, channel_ids: list[str]) -> dict[str, str]:
        """What each channel sells in, for those whose currency is known (migration 0013)."""
        rows = await self.session.execute(
            select(_CHANNELS.c.channel_id, _CHANNELS.c.currency).where(
                _CHANNELS.c.channel_id.in_(channel_ids), _CHANNELS.c.currency != ""
            )
        )
        return {r.channel_id: r.currency for r in rows}

    # --- orders -------------------------------------------------------------------------------------

    async def get_order(self, order_id: str) -> OrderSettlement | None:
        row = (await self.session.execute(select(_ORDERS).where(_ORDERS.c.order_id == order_id))).first()
        return _settlement(row) if row else None

    async def add_order(self, s: OrderSettlement) -> OrderSettlement:
        """Record who sold the order; if another transaction recorded it first, theirs stands."""
        inserted = await self.session.execute(
            insert(_ORDERS)
            .values(**row_values(_ORDERS, s, **asdict(s.terms)))
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
    ) -> bool:
        """What the orders service last said about the order (monotonic: a late, older event cannot lower it);
        False if the order's sale was never recorded (nothing to note it on)."""
        noted = await self.session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.order_id == order_id)
            .values(
                reported_paid=func.greatest(_ORDERS.c.reported_paid, reported_paid),
                reported_refunded=func.greatest(_ORDERS.c.reported_refunded, reported_refunded),
                cancelled=_ORDERS.c.cancelled | cancelled,
                updated_at=func.now(),
            )
            .returning(_ORDERS.c.order_id)
        )
        return noted.first() is not None

    async def note_unsettled(self, report: UnsettledOrder) -> None:
        """A paid order whose sale never booked (its event dead-lettered): keep what orders reported."""
        statement = insert(_UNSETTLED).values(row_values(_UNSETTLED, report))
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["order_id"],
                set_={
                    "reported_paid": func.greatest(_UNSETTLED.c.reported_paid, statement.excluded.reported_paid),
                    "reported_refunded": func.greatest(
                        _UNSETTLED.c.reported_refunded, statement.excluded.reported_refunded
                    ),
                    "event_type": statement.excluded.event_type,
                    "updated_at": func.now(),
                },
            )
        )

    async def unsettled_orders(self, currency: str, start: datetime, end: datetime) -> list[UnsettledOrder]:
        """Paid orders first dead-lettered in [start, end) whose sale the ledger still lacks."""
        settled = select(_ORDERS.c.order_id).where(_ORDERS.c.order_id == _UNSETTLED.c.order_id).exists()
        rows = await self.session.execute(
            select(_UNSETTLED)
            .where(
                _UNSETTLED.c.currency == currency,
                _UNSETTLED.c.created_at >= start,
                _UNSETTLED.c.created_at < end,
                ~settled,
            )
            .order_by(_UNSETTLED.c.order_id)
        )
        return [build(UnsettledOrder, r) for r in rows]

    async def keep_unpriced(self, move: UnpricedMove) -> None:
        """Keep a move with unpriced SKUs once by its id (a redelivered event changes nothing)."""
        values = row_values(
            _UNPRICED, move, move_id=move.id, lines=[{"sku": ln.sku, "quantity": ln.quantity} for ln in move.lines]
        )
        await self.session.execute(insert(_UNPRICED).values(values).on_conflict_do_nothing(index_elements=["move_id"]))

    async def unpriced_moves(self, currency: str, start: datetime, end: datetime) -> list[UnpricedMove]:
        """Moves with unpriced SKUs recorded in [start, end) in `currency` and not settled (unpriced_moves_query)."""
        return [_unpriced(r) for r in await self.session.execute(unpriced_moves_query(currency, start, end))]

    async def unpriced_move(self, move_id: str) -> UnpricedMove | None:
        """The move, locked for the transaction (two requests settling it take turns)."""
        row = (
            await self.session.execute(select(_UNPRICED).where(_UNPRICED.c.move_id == move_id).with_for_update())
        ).first()
        return _unpriced(row) if row else None

    async def unpriced_settled_by(self, key: str) -> str | None:
        """The id of the move the request `key` settled, if it settled one."""
        found = await self.session.execute(select(_UNPRICED.c.move_id).where(_UNPRICED.c.settled_key == key))
        return found.scalar_one_or_none()

    async def settle_unpriced(self, move_id: str, key: str, value: int, entry_id: str) -> UnpricedMove:
        row = (
            await self.session.execute(
                update(_UNPRICED)
                .where(_UNPRICED.c.move_id == move_id)
                .values(settled_at=func.now(), settled_key=key, settled_value=value, settled_entry_id=entry_id)
                .returning(*_UNPRICED.c)
            )
        ).one()
        return _unpriced(row)

    async def refund_basis(
        self, order_id: str, currency: str
    ) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        """For the order's next refund (rules.reverse): what its sale and fee entries booked per (party,
        account), and what its refunds took back (refund_excess not counted). Clearing is excluded, and so are
        goods changing owner after a return (a trade between two owners, not part of what the sale holds).

        Locks the order's settlement row first: each refund is split against what the one before it took, so
        two refunds of one order (two replicas) must not both read the lines before either is written."""
        await self.session.execute(select(_ORDERS.c.order_id).where(_ORDERS.c.order_id == order_id).with_for_update())
        refund = _ENTRIES.c.rule.in_([Rule.RETURN.value, Rule.CANCEL.value]).label("refund")
        rows = await self.session.execute(
            select(_LINES.c.party, _LINES.c.account, refund, func.sum(_LINES.c.amount_minor).label("amount"))
            .select_from(_LINES.join(_ENTRIES, _ENTRIES.c.id == _LINES.c.entry_id))
            .where(
                _LINES.c.order_id == order_id,
                _LINES.c.currency == currency,
                _LINES.c.party != parties.CLEARING,
                _LINES.c.account.not_in([Account.OWNERSHIP.value, Account.REFUND_EXCESS.value]),
            )
            .group_by(_LINES.c.party, _LINES.c.account, refund)
        )
        booked: dict[tuple[str, str], int] = {}
        taken: dict[tuple[str, str], int] = {}
        for r in rows:
            if r.amount:
                if r.refund:
                    taken[(r.party, r.account)] = -int(r.amount)
                else:
                    booked[(r.party, r.account)] = int(r.amount)
        return booked, taken

    # --- journal ------------------------------------------------------------------------------------

    async def closed_through(self) -> datetime | None:
        """Hold the open period for the rest of this transaction (shared) and return the end of the last
        closed period: every posting of this transaction is after it."""
        if not self._holding:
            driver = await self._uow.driver()
            self._closed_through = await driver.fetchval("SELECT hold_open_period($1)", PERIOD_LOCK_KEY)
            self._holding = True
        return self._closed_through

    async def post(self, entry: JournalEntry) -> list[JournalLine] | None:
        """Write an entry once per key; None if its key was already posted (or it is empty)."""
        return (await self.post_many([entry]))[0]

    async def post_many(self, entries: list[JournalEntry]) -> list[list[JournalLine] | None]:
        """Write each entry once per key, all in one statement (posting_sql.py): each entry's lines as written,
        or None where its key was already posted, by this call too (the first of a key wins), or it is empty."""
        await self.closed_through()
        chosen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if not entry.is_empty:
                chosen.setdefault(entry.key, i)
        out: list[list[JournalLine] | None] = [None] * len(entries)
        if not chosen:
            return out
        picked = [entries[i] for i in chosen.values()]
        written = await posting_sql.post(await self._uow.driver(), picked, [str(uuid.uuid4()) for _ in picked])
        for i, lines in zip(chosen.values(), written, strict=True):
            out[i] = lines
        return out

    async def orders_of(self, order_ids: list[str]) -> dict[str, OrderSettlement]:
        return await posting_sql.orders(await self._uow.driver(), order_ids)

    async def add_orders(self, settlements: list[OrderSettlement]) -> set[str]:
        """Record who sold each order; returns the ids recorded here (another transaction's stand)."""
        return await posting_sql.add_orders(await self._uow.driver(), settlements)

    async def note_order_reports(self, reports: dict[str, tuple[int, int]]) -> None:
        await posting_sql.note_reports(await self._uow.driver(), reports)

    async def mark_final(self, order_ids: list[str]) -> None:
        """The orders' events showed them final for payouts (rules.is_final): once final, final for good."""
        await posting_sql.mark_final(await self._uow.driver(), order_ids)

    async def note_final_without_sale(self, order_ids: list[str]) -> None:
        """Paid orders of nothing, which never have a sale booked, showed final: their lines are paid out."""
        await posting_sql.note_final_without_sale(await self._uow.driver(), order_ids)

    async def terms_of(self, wanted: set[tuple[str, int]]) -> dict[tuple[str, int], ChannelTerms]:
        return await posting_sql.terms(await self._uow.driver(), wanted)

    async def entry_heads(self, keys: list[str]) -> dict[str, tuple[str, datetime]]:
        return await posting_sql.entry_heads(await self._uow.driver(), keys)

    async def entry_head(self, key: str) -> tuple[str, datetime] | None:
        """A posted entry's id and posting time, by its business key."""
        row = (
            await self.session.execute(select(_ENTRIES.c.id, _ENTRIES.c.created_at).where(_ENTRIES.c.key == key))
        ).first()
        return (row.id, row.created_at) if row else None

    async def entry_by_key(self, key: str) -> tuple[str, datetime, list[JournalLine]] | None:
        """A posted entry's id, posting time and lines, by its business key."""
        row = await self.entry_head(key)
        if row is None:
            return None
        lines = await self.session.execute(
            select(*_LINE_COLUMNS)
            .select_from(_LINES_WITH_ENTRY)
            .where(_LINES.c.entry_id == row[0])
            .order_by(_LINES.c.id)
        )
        return row[0], row[1], [_line(r) for r in lines]

    async def currencies(self, party: str) -> list[str]:
        """Every currency the party has a line in, in order: one probe of `journal_lines_by_party_time` per
        currency (each the next currency after the last one found), never a read of the party's lines."""
        found = text(
            """
            WITH RECURSIVE c(currency) AS (
              SELECT min(currency) FROM journal_lines WHERE party = :party
              UNION ALL
              SELECT (SELECT min(l.currency) FROM journal_lines l WHERE l.party = :party AND l.currency > c.currency)
                FROM c WHERE c.currency IS NOT NULL
            )
            SELECT currency FROM c WHERE currency IS NOT NULL
            """
        )
        return [r.currency for r in await self.session.execute(found, {"party": party})]

    async def balance(self, party: str, currency: str) -> int:
        """The party's balance now: its latest checkpoint or period snapshot plus its lines since (balances.py)."""
        return await self._balance(party, currency, None)

    async def balance_before(self, party: str, currency: str, when: datetime) -> int:
        """The party's balance just before `when` (lines posted at or after it not counted)."""
        return await self._balance(party, currency, when)

    async def balance_and_held(self, party: str, currency: str) -> tuple[int, int]:
        """The party's balance now and what of it a cancellation could still take back (held_query), read by one
        statement, so from one snapshot: read apart, a sale of an open order committed between the two would
        count in the balance and not in what is held, and a payout would pay it out."""
        moved, snapped = await self._moved(party, currency, None)
        row = (await self.session.execute(select(moved, held_query(party, currency).scalar_subquery()))).one()
        return int(row[0]) + snapped, int(row[1])

    async def _balance(self, party: str, currency: str, when: datetime | None) -> int:
        moved, snapped = await self._moved(party, currency, when)
        return int((await self.session.execute(select(moved))).scalar_one()) + snapped

    async def _moved(self, party: str, currency: str, when: datetime | None) -> tuple[Any, int]:
        """(the sum of the party's lines since its latest checkpoint or snapshot before `when`, as a scalar
        subquery; that base's balance): balances.py."""
        row = (await self.session.execute(balances.base_query(party, currency, when))).first()
        conditions = [_LINES.c.party == party, _LINES.c.currency == currency]
        if row is not None:
            conditions.append(_LINES.c.created_at >= row.at)
        if when is not None:
            conditions.append(_LINES.c.created_at < when)
        moved = select(func.coalesce(func.sum(_LINES.c.amount_minor), 0)).where(*conditions).scalar_subquery()
        return moved, int(row.balance) if row is not None else 0

    async def settled_since(self, party: str, currency: str, since: datetime) -> int:
        """The sum (zero or negative) of the party's payment and payout lines posted at or after `since` that
        reduced what it was owed: payouts to it, payments it received, the commission a channel kept from a
        remittance. Its own payments in (positive lines) are left out (rules.payout_amount)."""
        value = (
            await self.session.execute(
                select(func.coalesce(func.sum(_LINES.c.amount_minor), 0))
                .select_from(_LINES_WITH_ENTRY)
                .where(
                    _LINES.c.party == party,
                    _LINES.c.currency == currency,
                    _LINES.c.created_at >= since,
                    _LINES.c.amount_minor < 0,
                    _ENTRIES.c.rule.in_(CASH_RULES),
                )
            )
        ).scalar_one()
        return int(value)

    async def lock_parties(self, *parties: str) -> None:
        """Serialise what settles the parties' claims, payouts and payments, for the transaction: a payout reads
        what was paid to its party, so a payment in flight must commit first or wait. Taken in one order, so
        two payments between the same parties never deadlock; events' postings never take them."""
        for party in sorted(set(parties)):
            await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"payout:{party}"})

    # --- periods ------------------------------------------------------------------------------------

    async def lock_periods(self) -> datetime:
        """Take the period lock exclusively (waits for every posting in flight); return the time now. The
        checkpoint lock first: a close's snapshots are written in turn with checkpoints (balances.py), and
        waiting for a checkpoint being written must not hold postings up."""
        await self.lock_checkpoints()
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PERIOD_LOCK_KEY})
        now: datetime = (await self.session.execute(select(func.clock_timestamp()))).scalar_one()
        return now

    async def quiet_instant(self, wait_ms: int) -> datetime | None:
        """An instant before which no line can be posted any more (balances.py): the time read while holding
        the period lock exclusively, for this transaction. None if postings held it past `wait_ms` (new
        postings queue behind the wait, so it is kept short)."""
        driver = await self._uow.driver()
        await driver.execute(f"SET LOCAL lock_timeout = {int(wait_ms)}")
        try:
            await driver.execute("SELECT pg_advisory_xact_lock($1)", PERIOD_LOCK_KEY)
        except asyncpg.LockNotAvailableError:
            return None
        instant: datetime = await driver.fetchval("SELECT clock_timestamp()")
        return instant

    async def lock_checkpoints(self) -> None:
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": balances.CHECKPOINT_LOCK_KEY})

    async def checkpoint_due(self, lines: int) -> bool:
        """Whether at least `lines` lines were posted since the last checkpoint (or period close)."""
        return bool((await self.session.execute(text(balances.CHECKPOINT_DUE), {"lines": lines})).scalar_one())

    async def checkpoint_cap(self, lines: int) -> datetime | None:
        """Just after the `lines`-th line since the last checkpoint; None if fewer were posted (balances.py)."""
        cap: datetime | None = (
            await self.session.execute(text(balances.CHECKPOINT_CAP), {"lines": lines})
        ).scalar_one_or_none()
        return cap

    async def write_checkpoints(self, at: datetime) -> int:
        """Checkpoint at `at` (a quiet instant) every party with lines since the last checkpoint; how many."""
        await self.lock_checkpoints()
        result = await self.session.execute(text(balances.WRITE_CHECKPOINTS), {"at": at})
        return int(getattr(result, "rowcount", 0) or 0)

    async def prune_checkpoints(self, batch: int) -> int:
        """Delete up to `batch` checkpoints older than the last closed period's end; how many."""
        result = await self.session.execute(text(balances.PRUNE_CHECKPOINTS), {"batch": batch})
        return int(getattr(result, "rowcount", 0) or 0)

    async def closing_balances(self, start: datetime | None, end: datetime) -> dict[tuple[str, str], int]:
        """Every party's balance at `end`, the previous period having ended at `start` (balances.py). Under
        lock_periods: no line before `end` is in flight."""
        rows = await self.session.execute(text(balances.CLOSING_BALANCES), {"prev": start, "at": end})
        return {(r.party, r.currency): int(r.balance) for r in rows}

    async def periods(self, after: datetime | None = None, limit: int | None = None) -> list[Period]:
        """Closed periods ending after `after` (all: None), oldest first, at most `limit` (None: all)."""
        query = select(_PERIODS).order_by(_PERIODS.c.period_end).limit(limit)
        if after is not None:
            query = query.where(_PERIODS.c.period_end > after)
        rows = await self.session.execute(query)
        return [Period(r.period_end, r.period_start, r.closed_at) for r in rows]

    async def last_period(self) -> Period | None:
        r = (await self.session.execute(select(_PERIODS).order_by(_PERIODS.c.period_end.desc()).limit(1))).first()
        return Period(r.period_end, r.period_start, r.closed_at) if r else None

    async def period_ending(self, period_end: datetime) -> Period | None:
        """The closed period ending exactly at `period_end`, if one did."""
        r = (await self.session.execute(select(_PERIODS).where(_PERIODS.c.period_end == period_end))).first()
        return Period(r.period_end, r.period_start, r.closed_at) if r else None

    async def add_period(self, period: Period, balances: dict[tuple[str, str], int]) -> None:
        await self.session.execute(
            insert(_PERIODS).values(
                period_end=period.period_end, period_start=period.period_start, closed_at=period.closed_at
            )
        )
        if balances:
            await self.session.execute(
                insert(_SNAPSHOTS),
                [
                    {"period_end": period.period_end, "party": party, "currency": currency, "balance": amount}
                    for (party, currency), amount in sorted(balances.items())
                ],
            )

    async def kept_balance(self, party: str, currency: str, period_end: datetime) -> int | None:
        """The party's balance kept when the period ending exactly at `period_end` closed; None if none did."""
        closed = (
            await self.session.execute(select(_PERIODS.c.period_end).where(_PERIODS.c.period_end == period_end))
        ).first()
        if closed is None:
            return None
        value = (
            await self.session.execute(
                select(_SNAPSHOTS.c.balance).where(
                    _SNAPSHOTS.c.period_end == period_end,
                    _SNAPSHOTS.c.party == party,
                    _SNAPSHOTS.c.currency == currency,
                )
            )
        ).scalar_one_or_none()
        return int(value or 0)

    # --- payouts ------------------------------------------------------------------------------------

    async def add_payout(self, payout: Payout) -> None:
        await self.session.execute(
            insert(_PAYOUTS).values(
                id=payout.id,
                party=payout.party,
                currency=payout.currency,
                amount=payout.amount,
                status=payout.status,
                period_end=payout.period_end,
                entry_id=payout.entry_id,
                created_at=payout.created_at,
                held=payout.held,
            )
        )

    async def get_payout(self, payout_id: str) -> Payout | None:
        row = (await self.session.execute(select(_PAYOUTS).where(_PAYOUTS.c.id == payout_id))).first()
        return _payout(row) if row else None

    async def list_payouts(self, party: str, after: tuple[datetime, str] | None, limit: int) -> list[Payout]:
        """Newest first: by created time, then id, both descending (payouts created in the same instant keep one
        order); `after` is the (created time, id) of the last payout sent."""
        query = select(_PAYOUTS)
        if party:
            query = query.where(_PAYOUTS.c.party == party)
        if after is not None:
            query = query.where(tuple_(_PAYOUTS.c.created_at, _PAYOUTS.c.id) < tuple_(*after))
        newest_first = (_PAYOUTS.c.created_at.desc(), _PAYOUTS.c.id.desc())
        rows = await self.session.execute(query.order_by(*newest_first).limit(limit))
        return [_payout(r) for r in rows]

    # --- locations ----------------------------------------------------------------------------------

    async def save_location(self, location_id: str, owner_dealer_id: str) -> None:
        await self.session.execute(
            insert(_LOCATIONS)
            .values(location_id=location_id, owner_dealer_id=owner_dealer_id)
            .on_conflict_do_update(
                index_elements=["location_id"], set_={"owner_dealer_id": owner_dealer_id, "updated_at": func.now()}
            )
        )

    async def location_owner(self, location_id: str) -> str | None:
        """ "" for a brand location, the dealer id for a dealer's, None if the location is not known yet."""
        return (
            await self.session.execute(
                select(_LOCATIONS.c.owner_dealer_id).where(_LOCATIONS.c.location_id == location_id)
            )
        ).scalar_one_or_none()

    async def page_lines(
        self,
        *,
        party: str,
        currency: str,
        order_id: str,
        start: datetime | None,
        end: datetime | None,
        after: tuple[int, int],
        limit: int,
    ) -> list[JournalLine]:
        """Up to `limit` lines after the position `after`, in (xact_id, id) order, of transactions that are
        finished: older than every transaction still running (the snapshot's xmin).

        Why not by id alone: a line's id is taken when it is inserted, not when its transaction commits, so a
        reader who paged past id 6 would never see id 5 committed after it. Why not "by id, finished
        transactions only": a transaction may take its id (at its first write, e.g. its inbox or idempotency
        row) before another and insert its lines after it, so id order and transaction order differ. No
        transaction with an id below the xmin is still running, and none can be given such an id any more, so
        the lines below it are all there will ever be, and every line written later (by a transaction at or
        above the xmin) sorts after every position handed out. The cost: a line appears once every transaction
        older than its own has ended (the xmin is the whole database's, every service's), which is milliseconds
        unless a transaction stays open.

        A posting window (`start`, `end`) is read as a range of xact_ids first (window_bounds): the page then
        starts at the window and stops at its end, whatever the journal holds around it."""
        below = None
        if start is not None or end is not None:
            # Read first, on their own: a bound folded into the position makes the range start there (an
            # xact_id >= beside the position's row comparison would be checked along the range instead).
            lowest, below = (await self.session.execute(window_bounds(start, end))).one()
            after = max(after, (int(lowest or 0), 0))  # (x, 0): every line of x and later (ids start at 1)
        rows = await self.session.execute(page_query(party, currency, order_id, start, end, after, limit, below))
        return [_line(r) for r in rows]

    async def lines_held_back(
        self,
        *,
        party: str,
        currency: str,
        order_id: str,
        start: datetime | None,
        end: datetime | None,
        after: tuple[int, int],
    ) -> bool:
        """Whether committed lines past `after` wait for an older transaction to end (page_lines leaves them
        out until then)."""
        filters = _line_filters(party, currency, order_id, start, end)
        found = await self.session.execute(_LISTING.held_back(select(_LINES.c.id).where(*filters), after))
        return found.first() is not None

    async def lines_by_time(
        self, *, party: str, currency: str, start: datetime, end: datetime, limit: int
    ) -> list[JournalLine]:
        """Up to `limit` of the party's lines posted in [start, end), in (posting time, id) order (statements)."""
        rows = await self.session.execute(
            select(*_LINE_COLUMNS)
            .select_from(_LINES_WITH_ENTRY)
            .where(and_(*_line_filters(party, currency, "", start, end)))
            .order_by(_LINES.c.created_at, _LINES.c.id)
            .limit(limit)
        )
        return [_line(r) for r in rows]

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
                final=st.final,
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

    async def period_currencies(self, start: datetime, end: datetime) -> list[str]:
        """Every currency Reconcile finds anything in for [start, end), in order: the period's lines, the sales of
        the orders it reconciles (order_totals_query: an order with a line in the period, of any currency, is
        checked in its sale's), and its unsettled orders and open unpriced moves."""
        in_period = and_(_LINES.c.created_at >= start, _LINES.c.created_at < end)
        reconciled = select(_LINES.c.order_id).where(
            in_period, _LINES.c.order_id != "", _LINES.c.account.notin_([a.value for a in DEPOSIT_ACCOUNTS])
        )
        settled = select(_ORDERS.c.order_id).where(_ORDERS.c.order_id == _UNSETTLED.c.order_id).exists()
        found = union(
            select(_LINES.c.currency).where(in_period),
            select(_ORDERS.c.currency).where(_ORDERS.c.order_id.in_(reconciled)),
            select(_UNSETTLED.c.currency).where(
                _UNSETTLED.c.created_at >= start, _UNSETTLED.c.created_at < end, ~settled
            ),
            select(_UNPRICED.c.currency).where(
                _UNPRICED.c.created_at >= start, _UNPRICED.c.created_at < end, _UNPRICED.c.settled_at.is_(None)
            ),
        ).subquery()
        rows = await self.session.execute(
            select(found.c.currency).where(found.c.currency != "").order_by(found.c.currency)
        )
        return [r.currency for r in rows]

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
        """All-time totals of every order sold in `currency` that has a line in the period (order_totals_query)."""
        rows = await self.session.execute(order_totals_query(currency, start, end))
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
