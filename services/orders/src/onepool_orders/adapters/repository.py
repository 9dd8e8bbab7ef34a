"""Orders persistence: SQL in, domain objects out.

An order is loaded whole (row, lines, fulfilments) with explicit queries, never lazily. Mutations lock the
order row first (`get(..., lock=True)`); lines, fulfilments and returns are only ever written under that lock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from onepool_kernel.money import Money
from onepool_kernel.timestamps import from_iso
from onepool_runtime.columns import core_tables
from sqlalchemy import and_, bindparam, delete, exists, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from onepool_orders.adapters.orm import (
    CustomerIdentityRow,
    CustomerRow,
    FulfillmentRow,
    OrderLineRow,
    OrderRow,
    ReturnRow,
    StockRequestRow,
)
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.commands import ListOrders
from onepool_orders.domain.customers import Identity, IdentityKind, choose_customer
from onepool_orders.domain.model import (
    CustomerInfo,
    Fulfillment,
    FulfillmentMode,
    FulfillmentPreference,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    Return,
    Shortfall,
)

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork

_ORDERS, _LINES, _FULFIL, _RETURNS = core_tables(OrderRow, OrderLineRow, FulfillmentRow, ReturnRow)
_CUSTOMERS, _IDENTITIES, _REQUESTS = core_tables(CustomerRow, CustomerIdentityRow, StockRequestRow)

# How long a freshly written stock request is left to the use case that wrote it before the background sender
# takes over (the writer sends right after its commit; this only matters if it died or inventory was down).
WRITER_GRACE_SECONDS = 10.0


def _lines_json(lines: tuple[sr.StockLine, ...]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]


def _lines_back(data: list[dict[str, Any]]) -> tuple[sr.StockLine, ...]:
    return tuple(sr.StockLine(d["sku"], int(d["quantity"])) for d in data)


def _customer_json(c: CustomerInfo) -> dict[str, str]:
    return {
        "channel_customer_id": c.channel_customer_id,
        "phone": c.phone,
        "member_id": c.member_id,
        "name": c.name,
        "email": c.email,
    }


def _preference_json(p: FulfillmentPreference) -> dict[str, Any]:
    return {
        "mode": p.mode.value,
        "region": p.region,
        "address": p.address,
        "pickup_location_id": p.pickup_location_id,
        "allow_split": p.allow_split,
    }


def _order(row: Any, lines: list[Any], fulfilments: list[Any]) -> Order:
    currency = row.currency
    pref = row.fulfillment
    return Order(
        id=row.id,
        channel_id=row.channel_id,
        external_order_id=row.external_order_id,
        customer=CustomerInfo(**row.customer),
        lines=[
            OrderLine(
                ln.sku,
                ln.quantity,
                Money(currency, ln.unit_price_minor),
                ln.channel_sku,
                ln.returned_quantity,
                ln.discount_minor,
            )
            for ln in sorted(lines, key=lambda ln: ln.line_no)
        ],
        fulfillment=FulfillmentPreference(
            mode=FulfillmentMode(pref["mode"]),
            region=pref.get("region", ""),
            address=pref.get("address", ""),
            pickup_location_id=pref.get("pickup_location_id", ""),
            allow_split=bool(pref.get("allow_split")),
        ),
        status=OrderStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        dealer_id=row.dealer_id,
        customer_id=row.customer_id,
        payment_ttl_seconds=row.payment_ttl_seconds,
        fulfillments=[
            Fulfillment(
                id=f.id,
                location_id=f.location_id,
                lines=_lines_back(f.lines),
                status=FulfillmentStatus(f.status),
                owner_dealer_id=f.owner_dealer_id,
                tracking_no=f.tracking_no,
                shipped_at=f.shipped_at,
            )
            for f in sorted(fulfilments, key=lambda f: f.seq)
        ],
        reservation_id=row.reservation_id,
        reservation_expires_at=row.reservation_expires_at,
        reserve_attempt=row.reserve_attempt,
        paid=Money(currency, row.paid_minor),
        refunded=Money(currency, row.refunded_minor),
        payment_ref=row.payment_ref,
        status_reason=row.status_reason,
        shortfalls=[Shortfall(s["sku"], int(s["requested"]), int(s["available"])) for s in row.shortfalls],
        shipping_fee_minor=row.shipping_fee_minor,
    )


def _request_json(request: sr.StockRequest) -> tuple[str, dict[str, Any]]:
    match request:
        case sr.CommitReservation(reservation_id=rid):
            return "commit", {"reservation_id": rid}
        case sr.ReleaseReservation(reservation_id=rid, reason=reason):
            return "release", {"reservation_id": rid, "reason": reason}
        case sr.FulfilReservation(reservation_id=rid, location_id=loc, lines=lines, request_id=key):
            return "fulfil", {"reservation_id": rid, "location_id": loc, "lines": _lines_json(lines), "request_id": key}
        case sr.RestockReturn(location_id=loc, lines=lines, request_id=key, reference=ref, reason=reason):
            return "restock", {
                "location_id": loc,
                "lines": _lines_json(lines),
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
        return sr.FulfilReservation(p["reservation_id"], p["location_id"], _lines_back(p["lines"]), p["request_id"])
    if kind == "restock":
        return sr.RestockReturn(p["location_id"], _lines_back(p["lines"]), p["request_id"], p["reference"], p["reason"])
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

    # --- orders -------------------------------------------------------------------------------------------

    async def _load(self, rows: list[Any]) -> list[Order]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        lines: dict[str, list[Any]] = {i: [] for i in ids}
        for ln in (await self.session.execute(select(_LINES).where(_LINES.c.order_id.in_(ids)))).all():
            lines[ln.order_id].append(ln)
        fulfilments: dict[str, list[Any]] = {i: [] for i in ids}
        for f in (await self.session.execute(select(_FULFIL).where(_FULFIL.c.order_id.in_(ids)))).all():
            fulfilments[f.order_id].append(f)
        orders = [_order(r, lines[r.id], fulfilments[r.id]) for r in rows]
        for order in orders:
            self._uow.track(order)
        return orders

    async def get(self, order_id: str, *, lock: bool = False) -> Order | None:
        query = select(_ORDERS).where(_ORDERS.c.id == order_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return (await self._load([row]))[0] if row else None

    async def get_by_external(self, channel_id: str, external_order_id: str) -> Order | None:
        row = (
            await self.session.execute(
                select(_ORDERS).where(
                    _ORDERS.c.channel_id == channel_id, _ORDERS.c.external_order_id == external_order_id
                )
            )
        ).first()
        return (await self._load([row]))[0] if row else None

    async def add(self, order: Order, recover_at: datetime) -> bool:
        """Insert a new order; False (and nothing written) if its (channel, external id) already exists.

        A concurrent insert of the same external id waits on the unique index until the first commits."""
        inserted = await self.session.execute(
            insert(_ORDERS)
            .values(
                id=order.id,
                channel_id=order.channel_id,
                external_order_id=order.external_order_id,
                customer_id=order.customer_id,
                dealer_id=order.dealer_id,
                status=order.status.value,
                currency=order.currency,
                total_minor=order.total.amount_minor,
                shipping_fee_minor=order.shipping_fee_minor,
                payment_ttl_seconds=order.payment_ttl_seconds,
                customer=_customer_json(order.customer),
                fulfillment=_preference_json(order.fulfillment),
                shortfalls=[],
                next_recovery_at=recover_at,
                created_at=order.created_at,
                updated_at=order.updated_at,
            )
            .on_conflict_do_nothing(constraint="orders_channel_external_id")
            .returning(_ORDERS.c.id)
        )
        if inserted.first() is None:
            return False
        await self.session.execute(
            insert(_LINES),
            [
                {
                    "order_id": order.id,
                    "sku": ln.sku,
                    "line_no": i,
                    "quantity": ln.quantity,
                    "unit_price_minor": ln.unit_price.amount_minor,
                    "discount_minor": ln.discount_minor,
                    "channel_sku": ln.channel_sku,
                    "returned_quantity": 0,
                }
                for i, ln in enumerate(order.lines)
            ],
        )
        self._uow.track(order)
        return True

    async def save(self, order: Order) -> None:
        assert order.paid is not None and order.refunded is not None
        await self.session.execute(
            update(_ORDERS)
            .where(_ORDERS.c.id == order.id)
            .values(
                status=order.status.value,
                status_reason=order.status_reason[:500],
                customer_id=order.customer_id,
                paid_minor=order.paid.amount_minor,
                refunded_minor=order.refunded.amount_minor,
                payment_ref=order.payment_ref,
                reservation_id=order.reservation_id,
                reservation_expires_at=order.reservation_expires_at,
                reserve_attempt=order.reserve_attempt,
                shortfalls=[
                    {"sku": s.sku, "requested": s.requested, "available": s.available} for s in order.shortfalls
                ],
                updated_at=order.updated_at,
            )
        )
        await self.session.execute(
            update(_LINES)
            .where(and_(_LINES.c.order_id == bindparam("b_order"), _LINES.c.sku == bindparam("b_sku")))
            .values(returned_quantity=bindparam("b_returned")),
            [{"b_order": order.id, "b_sku": ln.sku, "b_returned": ln.returned} for ln in order.lines],
        )
        if order.fulfillments:
            stmt = insert(_FULFIL).values(
                [
                    {
                        "id": f.id,
                        "order_id": order.id,
                        "seq": i,
                        "location_id": f.location_id,
                        "owner_dealer_id": f.owner_dealer_id,
                        "status": f.status.value,
                        "tracking_no": f.tracking_no,
                        "lines": _lines_json(f.lines),
                        "shipped_at": f.shipped_at,
                    }
                    for i, f in enumerate(order.fulfillments)
                ]
            )
            await self.session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"],
                    set_={
                        "status": stmt.excluded.status,
                        "tracking_no": stmt.excluded.tracking_no,
                        "shipped_at": stmt.excluded.shipped_at,
                    },
                )
            )
        if order.new_returns:
            await self.session.execute(
                insert(_RETURNS),
                [
                    {
                        "id": r.id,
                        "order_id": r.order_id,
                        "request_id": r.request_id,
                        "location_id": r.location_id,
                        "lines": _lines_json(r.lines),
                        "currency": r.refund.currency,
                        "refund_minor": r.refund.amount_minor,
                        "reason": r.reason[:500],
                        "created_at": r.created_at,
                    }
                    for r in order.new_returns
                ],
            )
            order.new_returns.clear()
        if order.stock_requests:
            rows = []
            # The writer sends these itself right after its commit; the background sender only takes what
            # is still there after the grace period (so it never races the writer for a fresh request).
            background_after = datetime.now(UTC) + timedelta(seconds=WRITER_GRACE_SECONDS)
            for request in order.stock_requests:
                kind, payload = _request_json(request)
                rows.append({"order_id": order.id, "kind": kind, "payload": payload, "not_before": background_after})
            await self.session.execute(insert(_REQUESTS), rows)
            order.stock_requests.clear()
        self._uow.track(order)

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

    async def search(self, query: ListOrders) -> list[Order]:
        stmt = select(_ORDERS)
        if query.channel_id:
            stmt = stmt.where(_ORDERS.c.channel_id == query.channel_id)
        if query.customer_id:
            stmt = stmt.where(_ORDERS.c.customer_id == query.customer_id)
        if query.status is not None:
            stmt = stmt.where(_ORDERS.c.status == query.status.value)
        if query.dealer_id:
            fulfilled_by_dealer = exists().where(
                _FULFIL.c.order_id == _ORDERS.c.id, _FULFIL.c.owner_dealer_id == query.dealer_id
            )
            stmt = stmt.where(or_(_ORDERS.c.dealer_id == query.dealer_id, fulfilled_by_dealer))
        if query.location_id:
            at_location = exists().where(_FULFIL.c.order_id == _ORDERS.c.id, _FULFIL.c.location_id == query.location_id)
            stmt = stmt.where(at_location)
        if query.after is not None:
            created, order_id = query.after
            stmt = stmt.where(tuple_(_ORDERS.c.created_at, _ORDERS.c.id) < tuple_(from_iso(created), order_id))
        stmt = stmt.order_by(_ORDERS.c.created_at.desc(), _ORDERS.c.id.desc()).limit(query.limit)
        return await self._load(list((await self.session.execute(stmt)).all()))

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
                _lines_back(r.lines),
                r.location_id,
                Money(r.currency, r.refund_minor),
                r.reason,
                r.created_at,
            )
            for r in rows
        ]

    # --- One-ID -------------------------------------------------------------------------------------------

    async def _known(self, wanted: list[Identity]) -> dict[Identity, str]:
        rows = (
            await self.session.execute(
                select(_IDENTITIES).where(
                    tuple_(_IDENTITIES.c.kind, _IDENTITIES.c.value).in_([(i.kind.value, i.value) for i in wanted])
                )
            )
        ).all()
        return {Identity(IdentityKind(r.kind), r.value): r.customer_id for r in rows}

    async def _claim_identities(self, identities: list[Identity], customer_id: str) -> set[Identity]:
        if not identities:
            return set()
        claimed = await self.session.execute(
            insert(_IDENTITIES)
            .values([{"kind": i.kind.value, "value": i.value, "customer_id": customer_id} for i in identities])
            .on_conflict_do_nothing()
            .returning(_IDENTITIES.c.kind, _IDENTITIES.c.value)
        )
        return {Identity(IdentityKind(r.kind), r.value) for r in claimed.all()}

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
                await self.session.execute(insert(_CUSTOMERS).values(id=candidate))
                # The strongest identity decides; a concurrent resolver claiming it first wins, we adopt theirs.
                if not await self._claim_identities(wanted[:1], candidate):
                    await self.session.execute(delete(_CUSTOMERS).where(_CUSTOMERS.c.id == candidate))
                    continue
                chosen, known = candidate, {**known, wanted[0]: candidate}
            # Identities seen for the first time join this customer; ones owned by another customer stay there.
            await self._claim_identities(sorted(i for i in wanted if i not in known), chosen)
            return chosen
        raise RuntimeError("could not resolve the customer after repeated concurrent changes")


class StockRequestRepository:
    """The command outbox's sender side. Each order's requests are sent in the order they were recorded."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        tried: its writer sends it) or due for a retry."""
        head = (
            select(_REQUESTS.c.seq)
            .where(_REQUESTS.c.order_id == order_id, self._open())
            .order_by(_REQUESTS.c.seq)
            .limit(1)
            .scalar_subquery()
        )
        due = or_(_REQUESTS.c.attempts == 0, _REQUESTS.c.not_before <= text("now()"))
        claimed = await self._claim(_REQUESTS.c.seq == head, due, lease_seconds)
        return claimed[0] if claimed else None

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
        await self.session.execute(update(_REQUESTS).where(_REQUESTS.c.seq == seq).values(done_at=text("now()")))

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
