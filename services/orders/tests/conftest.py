from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from onepool_orders.domain.model import AllocatedStock
from onepool_orders.domain.stock_requests import FulfillReservation, ReleaseReservation, StockLine
from onepool_orders.service_layer.lifecycle import OrderLifecycle
from onepool_orders.service_layer.placing import OrderPlacement
from onepool_orders.service_layer.ports import ReservationInfo, ReservationState, ReserveStock, ReturnLocation
from onepool_orders.service_layer.recovery import Recovery
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork
from onepool_runtime import db
from onepool_runtime.errors import DomainError, FailedPrecondition, InsufficientStock, Shortage, Unavailable
from onepool_runtime.migrations import upgrade
from onepool_runtime.servicer import UseCases
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
TABLES = (
    "stock_requests",
    "order_returns",
    "fulfillments",
    "order_lines",
    "orders",
    "customer_identities",
    "customers",
    "outbox",
    "idempotency_keys",
)


class FakeInventory:
    """Inventory as the saga sees it, with the same idempotency: the same request_id returns the reservation
    as it was made; a refused request stores nothing. Knobs make it unreachable or refuse on purpose."""

    def __init__(self) -> None:
        self.stock: dict[str, int] = {}
        self.by_request: dict[str, ReservationInfo] = {}
        self.states: dict[str, ReservationState] = {}
        self.reserve_calls: list[str] = []
        self.released: list[str] = []
        self.committed: list[str] = []
        self.fulfilled: list[str] = []
        self.restocked: list[str] = []
        self.unreachable = False
        self.location_of: dict[str, str] = {}  # where a SKU is reserved (default WH)
        self.left_at: dict[str, set[str]] = {}  # per reservation: the locations everything it held there left
        self.refuse_commit: DomainError | None = None
        self.lock = asyncio.Lock()

    def _check(self) -> None:
        if self.unreachable:
            raise Unavailable("inventory unavailable: UNAVAILABLE")

    async def reserve(self, request: ReserveStock) -> ReservationInfo:
        await asyncio.sleep(0)  # let concurrent callers interleave
        self._check()
        self.reserve_calls.append(request.request_id)
        async with self.lock:
            if request.request_id in self.by_request:
                return self.by_request[request.request_id]
            short = [
                Shortage(ln.sku, ln.quantity, self.stock.get(ln.sku, 0))
                for ln in request.lines
                if ln.quantity > self.stock.get(ln.sku, 0)
            ]
            if short:
                raise InsufficientStock(short)
            for ln in request.lines:
                self.stock[ln.sku] -= ln.quantity
            info = ReservationInfo(
                id=str(uuid.uuid4()),
                state=ReservationState.ACTIVE,
                allocations=tuple(
                    AllocatedStock(ln.sku, self.location_of.get(ln.sku, "WH"), ln.quantity) for ln in request.lines
                ),
                expires_at=datetime.now(UTC) + timedelta(seconds=request.ttl_seconds),
            )
            self.by_request[request.request_id] = info
            self.states[info.id] = info.state
            return info

    @property
    def held(self) -> list[str]:
        return [rid for rid, state in self.states.items() if state.holds_stock]

    def lapse(self, reservation_id: str) -> None:
        self.states[reservation_id] = ReservationState.EXPIRED

    async def reservation(self, reservation_id: str) -> ReservationInfo:
        self._check()
        made = next(r for r in self.by_request.values() if r.id == reservation_id)
        return replace(made, state=self.states[reservation_id], left_at=frozenset(self.left_at.get(reservation_id, ())))

    async def commit(self, reservation_id: str) -> None:
        self._check()
        if self.refuse_commit is not None:
            raise self.refuse_commit
        self.states[reservation_id] = ReservationState.COMMITTED
        self.committed.append(reservation_id)

    async def release(self, reservation_id: str, reason: str) -> ReservationInfo:
        self._check()
        state = self.states.get(reservation_id, ReservationState.RELEASED)
        if state is ReservationState.FULFILLED:
            raise FailedPrecondition(
                "INVALID_RESERVATION_STATE",
                f"cannot release reservation {reservation_id}: it is FULFILLED",
                {"reservation_id": reservation_id, "status": state.value},
            )
        if state.holds_stock:
            self.states[reservation_id] = ReservationState.RELEASED
        self.released.append(reservation_id)
        made = next((r for r in self.by_request.values() if r.id == reservation_id), None)
        info = made or ReservationInfo(reservation_id, ReservationState.RELEASED, (), None)
        return replace(
            info, state=self.states.get(reservation_id, state), left_at=frozenset(self.left_at.get(reservation_id, ()))
        )

    async def fulfill(
        self, reservation_id: str, location_id: str, lines: tuple[StockLine, ...], request_id: str
    ) -> None:
        self._check()
        if request_id in self.fulfilled:
            return  # idempotent on the request id, as inventory is
        state = self.states.get(reservation_id, ReservationState.COMMITTED)
        if state is not ReservationState.COMMITTED:
            raise FailedPrecondition(
                "INVALID_RESERVATION_STATE",
                f"cannot fulfill reservation {reservation_id}: it is {state.value}",
                {"reservation_id": reservation_id, "status": state.value},
            )
        self.fulfilled.append(request_id)
        left = self.left_at.setdefault(reservation_id, set())
        left.add(location_id)
        made = next((r for r in self.by_request.values() if r.id == reservation_id), None)
        if made is not None and {a.location_id for a in made.allocations} <= left:
            self.states[reservation_id] = ReservationState.FULFILLED

    async def restock(
        self, location_id: str, lines: tuple[StockLine, ...], request_id: str, reference: str, reason: str
    ) -> None:
        self._check()
        self.restocked.append(request_id)

    async def unknown_skus(self, skus: list[str]) -> list[str]:
        self._check()
        return [s for s in skus if s not in self.stock]

    async def receiving_location(self, location_id: str) -> ReturnLocation | None:
        return ReturnLocation(location_id)


class Saga:
    """The orders service's saga parts over a real database and a fake inventory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], **settings: float) -> None:
        self.inventory = FakeInventory()
        self.uow: Callable[[], OrdersUnitOfWork] = partial(OrdersUnitOfWork, sessions)
        self.after_reserve: Callable[[], None] | None = None
        self.placement = OrderPlacement(
            self.uow,
            self.inventory,
            payment_ttl_seconds=900,
            recovery_after_seconds=settings.get("recovery_after_seconds", 0.0),
            pending_timeout_seconds=settings.get("pending_timeout_seconds", 600.0),
            after_reserve=lambda: self.after_reserve() if self.after_reserve else None,
        )
        self.stock = StockSync(self.uow, self.inventory, lease_seconds=30, retry_seconds=0.0, retry_max_seconds=0.0)
        self.recovery = Recovery(
            self.uow, self.placement, self.stock, interval_seconds=0.1, retry_in_seconds=0.0, batch=100
        )
        self.lifecycle = OrderLifecycle(UseCases(self.uow), self.stock, self.inventory)

    async def hand_over(self, request: FulfillReservation) -> None:
        """What the lifecycle does for a handler's shipment (tell inventory before it is recorded), for tests
        that run the handlers themselves."""
        await self.inventory.fulfill(request.reservation_id, request.location_id, request.lines, request.request_id)

    async def release(self, request: ReleaseReservation) -> frozenset[str]:
        """What the lifecycle does for a handler's cancellation of a paid order (release in inventory before it
        is recorded, learning what had left), for tests that run the handlers themselves."""
        return (await self.inventory.release(request.reservation_id, request.reason)).left_at


@pytest.fixture(scope="module")
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await upgrade(MIGRATIONS, database_url, "orders")
    engine = db.create_engine(database_url, "orders")
    yield db.session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def make_saga(sessions: async_sessionmaker[AsyncSession]) -> Callable[..., Saga]:
    """A clean slate per test (the recovery loop looks at every order in the database), then sagas with
    the given settings."""
    async with sessions() as session:
        await session.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
        await session.commit()
    return partial(Saga, sessions)


@pytest.fixture
def saga(make_saga: Callable[..., Saga]) -> Saga:
    return make_saga()
