"""Orders persistence: SQL in, domain objects out.

An order is loaded whole (row, lines, fulfillments) with explicit queries, never lazily. Mutations lock the
order row first (`get(..., lock=True)`); lines, fulfillments and returns are only ever written under that lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from onepool_kernel.money import Money
from onepool_runtime.columns import core_tables
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.repository import Repository
from sqlalchemy import and_, delete, exists, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_orders.adapters import order_sql as sql
from onepool_orders.adapters.order_listing import list_query
from onepool_orders.adapters.orm import (
    CustomerIdentityRow,
    CustomerRow,
    OrderLineRow,
    OrderRow,
    ReturnRow,
    StockRequestRow,
)
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.commands import ListOrders
from onepool_orders.domain.customers import Identity, IdentityKind, choose_customer
from onepool_orders.domain.model import (
    Order,
    OrderStatus,
    Return,
)

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

_ORDERS, _LINES, _RETURNS = core_tables(OrderRow, OrderLineRow, ReturnRow)
_CUSTOMERS, _IDENTITIES, _REQUESTS = core_tables(CustomerRow, CustomerIdentityRow, StockRequestRow)

# How long a freshly written stock request is left to the use case that wrote it before the background sender
# takes over (the writer sends right after its commit; this only matters if it died or inventory was down).
WRITER_GRACE_SECONDS = 10.0


def _request_json(request: sr.StockRequest) -> tuple[str, dict[str, Any]]:
    # The kinds are stored: "fulfil" keeps its first spelling so rows written by older replicas still read.
    match request:
        case sr.CommitReservation(reservation_id=rid):
            return "commit", {"reservation_id": rid}
        case sr.ReleaseReservation(reservation_id=rid, reason=reason):
            return "release", {"reservation_id": rid, "reason": reason}
        case sr.FulfillReservation(reservation_id=rid, location_id=loc, lines=lines, request_id=key):
            return "fulfil", {
                "reservation_id": rid,
                "location_id": loc,
                "lines": sql.lines_json(lines),
                "request_id": key,
            }
        case sr.RestockReturn(location_id=loc, lines=lines, request_id=key, reference=ref, reason=reason):
            return "restock", {
                "location_id": loc,
                "lines": sql.lines_json(lines),
                "request_id": key,
                "reference": ref,
                "reason": reason,
            }
    raise TypeError(f"unknown stock request {request!r}")


def _request_back(kind: str, p: dict[str, Any]) -> sr.StockRequest:
    if kind == "commit":
        return sr.CommitReservation(p["reservation_id"])
    if kind == "release":
        return sr.ReleaseReservation(p["reservation_id"], p["reason"])
    if kind == "fulfil":
        return sr.FulfillReservation(p["reservation_id"], p["location_id"], sql.lines_back(p["lines"]), p["request_id"])
    if kind == "restock":
        return sr.RestockReturn(
            p["location_id"], sql.lines_back(p["lines"]), p["request_id"], p["reference"], p["reason"]
        )
    raise ValueError(f"unknown stock request kind {kind!r}")


@dataclass(frozen=True)
class PendingStockRequest:
    seq: int
    order_id: str
    attempts: int
    request: sr.StockRequest


class OrderRepository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
        self._stored: dict[str, sql.Stored] = {}

    # --- orders -------------------------------------------------------------------------------------------

    async def _fetch(self, query: str, *args: Any) -> list[Order]:
        pg = await self._uow.driver()
        orders = [sql.order_of(r) for r in await pg.fetch(query, *args)]
        for order in orders:
            self._adopt(order)
        return orders

    def _adopt(self, order: Order) -> None:
        """Remember the order as stored, so that `save` writes only what changed since."""
        self._stored[order.id] = sql.stored(order)
        self._uow.track(order)

    async def get(self, order_id: str, *, lock: bool = False) -> Order | None:
        if lock:
            pg = await self._uow.driver()
            row = await pg.fetchrow(sql.SELECT_LOCKED, order_id)
            if row is None:
                return None
            if row["locked_version"] == row["seen_version"]:
                order = sql.order_of(row)
                self._adopt(order)
                return order
            # It changed while we waited for the lock: read it again, now that we hold it (see SELECT_LOCKED).
        found = await self._fetch(sql.SELECT_ONE, order_id)
        return found[0] if found else None

    async def get_by_external(self, channel_id: str, external_order_id: str) -> Order | None:
        found = await self._fetch(sql.SELECT_BY_EXTERNAL, channel_id, external_order_id)
        return found[0] if found else None

    async def add(self, order: Order, recover_at: datetime, identities: list[Identity]) -> dict[Identity, str] | None:
        """Insert a new order with its lines; None (and nothing written) if its (channel, external id) already
        exists. A concurrent insert of the same external id waits on the unique index until the first commits.
        Inserted: which of `identities` are claimed, and by which customer, read by the same statement."""
        pg = await self._uow.driver()
        row = await pg.fetchrow(sql.INSERT_ORDER, *sql.insert_args(order, recover_at, identities))
        if row is None or not row["added"]:
            return None
        self._adopt(order)
        return {Identity(IdentityKind(kind), value): customer for kind, value, customer in row["known"]}

    async def save(self, order: Order, *, pending_attempt: int | None = None) -> bool:
        """Write the order: its row, the lines and fulfillments that changed since it was loaded or last saved,
        its new returns, stock requests and events (outbox rows). With `pending_attempt`, write it only if the
        stored order is still PENDING at that reserve attempt without a reservation (then the order need not
        have been loaded and locked in this transaction); False, and nothing written, if it is not."""
        # The writer sends its stock requests itself right after its commit; the background sender only takes
        # what is still there after the grace period (so it never races the writer for a fresh request).
        background_after = datetime.now(UTC) + timedelta(seconds=WRITER_GRACE_SECONDS)
        requests = [_request_json(r) for r in order.stock_requests]
        before = self._stored.get(order.id)
        if before is None:
            # Not loaded here: a PENDING order (pending_attempt) as placed, with nothing returned, no
            # fulfillments and its delivery as placed (a PENDING order's address never changes); anything else
            # unknown, so every line, fulfillment and the preference are written.
            before = (
                (tuple(sql.as_placed(ln) for ln in order.lines), {}, order.fulfillment)
                if pending_attempt is not None
                else ((), {}, None)
            )
        pg = await self._uow.driver()
        # The revision counts up under the row lock (or, pending, only from the revision placed), so no two
        # states of an order share one; set before the events are built, which carry it.
        order.revision += 1
        # Its new events go in the same statement (written only if the order is), not in an INSERT at commit.
        events = self._uow.outbox_columns(order)
        args = sql.save_args(order, before, requests, background_after, events, pending_attempt)
        if not await pg.fetchval(sql.SAVE_ORDER, *args):
            order.revision -= 1
            return False
        order.stock_requests.clear()
        if order.new_returns:
            # A request id is unique among returns; a caller reusing one after its idempotency key was purged
            # (30 days) is told so, rather than meeting the constraint as an internal error.
            written = await self.session.execute(
                insert(_RETURNS).on_conflict_do_nothing(index_elements=["request_id"]).returning(_RETURNS.c.id),
                [
                    {
                        "id": r.id,
                        "order_id": r.order_id,
                        "request_id": r.request_id,
                        "location_id": r.location_id,
                        "lines": sql.lines_json(r.lines),
                        "currency": r.refund.currency,
                        "refund_minor": r.refund.amount_minor,
                        "reason": r.reason[:500],
                        "created_at": r.created_at,
                    }
                    for r in order.new_returns
                ],
            )
            if len(written.all()) < len(order.new_returns):
                raise InvalidArgument("request_id", "already used for an earlier return")
            order.new_returns.clear()
        self._adopt(order)
        return True

    async def discard_pending(self, order_id: str) -> bool:
        """Forget a PENDING order whose request named something that does not exist (it changed nothing)."""
        pending = (
            await self.session.execute(
                select(_ORDERS.c.id)
                .where(_ORDERS.c.id == order_id, _ORDERS.c.status == OrderStatus.PENDING.value)
                .with_for_update()
            )
        ).first()
        if pending is None:
            return False
        await self.session.execute(delete(_LINES).where(_LINES.c.order_id == order_id))
        await self.session.execute(delete(_ORDERS).where(_ORDERS.c.id == order_id))
        return True

    async def bump_reserve_attempt(self, order_id: str, attempt: int) -> bool:
        bumped = await self.session.execute(
            update(_ORDERS)
            .where(
                _ORDERS.c.id == order_id,
                _ORDERS.c.status == OrderStatus.PENDING.value,
                _ORDERS.c.reserve_attempt == attempt,
            )
            .values(reserve_attempt=attempt + 1)
            .returning(_ORDERS.c.id)
        )
        return bumped.first() is not None

    async def claim_stuck(self, limit: int, retry_in_seconds: float) -> list[str]:
        """PENDING orders due for recovery, pushed `retry_in_seconds` ahead so other replicas skip them."""
        due = (
            select(_ORDERS.c.id)
            .where(_ORDERS.c.status == OrderStatus.PENDING.value, _ORDERS.c.next_recovery_at <= text("now()"))
            .order_by(_ORDERS.c.next_recovery_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await self.session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.id.in_(due))
            .values(next_recovery_at=text(f"now() + interval '{float(retry_in_seconds)} seconds'"))
            .returning(_ORDERS.c.id)
        )
        return [r.id for r in claimed.all()]

    async def claim_overdue_balances(self, limit: int) -> list[str]:
        """DEPOSIT_PAID orders whose balance deadline has passed, locked for this transaction; orders another
        transaction holds are skipped (SKIP LOCKED), so concurrent sweepers take different orders and an order
        one of them lapsed no longer matches for the other."""
        pg = await self._uow.driver()
        rows = await pg.fetch(sql.CLAIM_OVERDUE_BALANCES, limit)
        return [r["id"] for r in rows]

    async def claim_closing_windows(self, limit: int, at: datetime) -> list[str]:
        """Orders whose return deadline passed by `at` and whose closing is not published yet, locked for this
        transaction; rows another closer holds are skipped (SKIP LOCKED), so replicas take different orders."""
        pg = await self._uow.driver()
        rows = await pg.fetch(sql.CLAIM_CLOSING_WINDOWS, limit, at)
        return [r["id"] for r in rows]

    async def claim_unfixed_windows(self, limit: int) -> list[str]:
        """Orders whose goods all left but that have no return deadline (left on a replica of the release before
        it), locked for this transaction as `claim_closing_windows` locks."""
        pg = await self._uow.driver()
        rows = await pg.fetch(sql.CLAIM_UNFIXED_WINDOWS, limit)
        return [r["id"] for r in rows]

    async def search(self, query: ListOrders) -> list[Order]:
        stmt = list_query(query)
        ids = list((await self.session.execute(stmt)).scalars())
        by_id = {o.id: o for o in await self._fetch(sql.SELECT_MANY, ids)} if ids else {}
        return [by_id[i] for i in ids if i in by_id]

    async def returns(self, order_id: str) -> list[Return]:
        rows = (
            await self.session.execute(
                select(_RETURNS).where(_RETURNS.c.order_id == order_id).order_by(_RETURNS.c.created_at)
            )
        ).all()
        return [
            Return(
                r.id,
                r.order_id,
                r.request_id,
                sql.lines_back(r.lines),
                r.location_id,
                Money(r.currency, r.refund_minor),
                r.reason,
                r.created_at,
            )
            for r in rows
        ]

    # --- One-ID -------------------------------------------------------------------------------------------

    async def _known(self, wanted: list[Identity]) -> dict[Identity, str]:
        pg = await self._uow.driver()
        rows = await pg.fetch(sql.KNOWN_IDENTITIES, [i.kind.value for i in wanted], [i.value for i in wanted])
        return {Identity(IdentityKind(r["kind"]), r["value"]): r["customer_id"] for r in rows}

    async def _claim_identities(self, identities: list[Identity], customer_id: str) -> set[Identity]:
        if not identities:
            return set()
        pg = await self._uow.driver()
        kinds, values = [i.kind.value for i in identities], [i.value for i in identities]
        claimed = await pg.fetch(sql.CLAIM_IDENTITIES, kinds, values, customer_id)
        return {Identity(IdentityKind(r["kind"]), r["value"]) for r in claimed}

    async def resolve_customer(self, wanted: list[Identity]) -> str:
        """The One-ID customer for these identities (strongest first), creating or extending it (see
        domain/customers.py). Safe under concurrency: identities are claimed with INSERT .. ON CONFLICT, and
        a resolver that loses a race reads the winner's customer instead."""
        if not wanted:
            return ""
        for _ in range(3):
            known = await self._known(wanted)
            chosen = choose_customer(wanted, known)
            if chosen is None:
                candidate = str(uuid.uuid4())
                pg = await self._uow.driver()
                await pg.execute(sql.INSERT_CUSTOMER, candidate)
                # The strongest identity decides; a concurrent resolver claiming it first wins, we adopt theirs.
                if not await self._claim_identities(wanted[:1], candidate):
                    await pg.execute(sql.DELETE_CUSTOMER, candidate)
                    continue
                chosen, known = candidate, {**known, wanted[0]: candidate}
            # Identities seen for the first time join this customer; ones owned by another customer stay there.
            await self._claim_identities(sorted(i for i in wanted if i not in known), chosen)
            return chosen
        raise RuntimeError("could not resolve the customer after repeated concurrent changes")


class StockRequestRepository(Repository):
    """The command outbox's sender side. Each order's requests are sent in the order they were recorded."""

    def _open(self) -> Any:
        return and_(_REQUESTS.c.done_at.is_(None), _REQUESTS.c.failed_at.is_(None))

    async def _claim(self, which: Any, due: Any, lease_seconds: float) -> list[PendingStockRequest]:
        # Concurrent claimers of one row queue on its lock and then re-check the condition: one wins.
        claimed = await self.session.execute(
            update(_REQUESTS)
            .where(which, due, self._open())
            .values(
                not_before=text(f"now() + interval '{float(lease_seconds)} seconds'"), attempts=_REQUESTS.c.attempts + 1
            )
            .returning(
                _REQUESTS.c.seq, _REQUESTS.c.order_id, _REQUESTS.c.attempts, _REQUESTS.c.kind, _REQUESTS.c.payload
            )
        )
        rows = sorted(claimed.all(), key=lambda r: r.seq)
        return [PendingStockRequest(r.seq, r.order_id, r.attempts, _request_back(r.kind, r.payload)) for r in rows]

    async def claim_next(self, order_id: str, lease_seconds: float) -> PendingStockRequest | None:
        """The oldest unfinished request of this order, if nobody else holds it and it is either new (never
        tried: its writer sends it) or due for a retry. One statement (sent after every order change)."""
        pg = await self._uow.driver()
        r = await pg.fetchrow(sql.CLAIM_NEXT_REQUEST, order_id, float(lease_seconds))
        if r is None:
            return None
        return PendingStockRequest(r["seq"], r["order_id"], r["attempts"], _request_back(r["kind"], r["payload"]))

    async def claim_due(self, limit: int, lease_seconds: float) -> list[PendingStockRequest]:
        """The oldest unfinished request of each order that is due (at most `limit` orders)."""
        heads = (
            select(_REQUESTS.c.seq, _REQUESTS.c.not_before)
            .where(self._open())
            .order_by(_REQUESTS.c.order_id, _REQUESTS.c.seq)
            .ext(distinct_on(_REQUESTS.c.order_id))
            .subquery()
        )
        due = select(heads.c.seq).where(heads.c.not_before <= text("now()")).order_by(heads.c.seq).limit(limit)
        return await self._claim(_REQUESTS.c.seq.in_(due), _REQUESTS.c.not_before <= text("now()"), lease_seconds)

    async def done(self, seq: int) -> None:
        pg = await self._uow.driver()
        await pg.execute(sql.REQUEST_DONE, seq)

    async def retry_later(self, seq: int, delay_seconds: float, error: str) -> None:
        await self.session.execute(
            update(_REQUESTS)
            .where(_REQUESTS.c.seq == seq)
            .values(not_before=text(f"now() + interval '{float(delay_seconds)} seconds'"), last_error=error[:2000])
        )

    async def refused(self, seq: int, error: str) -> None:
        await self.session.execute(
            update(_REQUESTS).where(_REQUESTS.c.seq == seq).values(failed_at=text("now()"), last_error=error[:2000])
        )

    async def commit_state(self, order_id: str, reservation_id: str) -> sr.CommitState:
        """Where inventory stands on this order's commit of `reservation_id`: a commit request set aside (refused)
        is REFUSED, one not yet answered PENDING; answered (done, or purged once done) or never asked for is
        CONFIRMED. Refused requests are never purged. Each look-up reads a partial index (open, refused)."""

        def commit_where(*state: Any) -> Any:
            return exists().where(
                _REQUESTS.c.order_id == order_id,
                *state,
                _REQUESTS.c.kind == "commit",
                _REQUESTS.c.payload["reservation_id"].astext == reservation_id,
            )

        refused = commit_where(_REQUESTS.c.failed_at.is_not(None))
        pending = commit_where(_REQUESTS.c.done_at.is_(None), _REQUESTS.c.failed_at.is_(None))
        row = (await self.session.execute(select(refused, pending))).one()
        if row[0]:
            return sr.CommitState.REFUSED
        return sr.CommitState.PENDING if row[1] else sr.CommitState.CONFIRMED
