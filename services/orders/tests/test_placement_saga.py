"""The PlaceOrder saga and the recovery loop on a real database, with inventory faked so every failure can be
placed exactly where it hurts most. End-to-end versions against the real inventory are in tests/flows."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as ev
from onepool_kernel.money import Money
from onepool_orders.adapters import order_sql
from onepool_orders.adapters.orm import CustomerIdentityRow, CustomerRow
from onepool_orders.domain import commands
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, OrderStatus
from onepool_orders.domain.stock_requests import CommitNotConfirmed
from onepool_orders.service_layer import handlers
from onepool_runtime.columns import core_tables
from onepool_runtime.errors import FailedPrecondition, NotFound, Unavailable
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.readpool import read_pool
from onepool_runtime.servicer import UseCases
from onepool_runtime.testing.plans import generic_plan
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py): placement, stock sync and recovery over a fake inventory


class Crash(Exception):
    """Stands for the process dying at this point (the kill test in tests/flows does it for real)."""


def place(
    external_id: str = "E1", *, sku: str = "A", quantity: int = 1, phone: str = "13800000000", member_id: str = ""
) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="web",
        external_order_id=external_id,
        customer=CustomerInfo(phone=phone, member_id=member_id),
        lines=(OrderLine(sku, quantity, Money("CNY", 100)),),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def status_of(saga: Saga, order_id: str) -> OrderStatus:
    order = await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order_id))
    return order.status


async def pending_order_id(saga: Saga) -> str:
    orders = await UseCases(saga.uow).read(lambda uow: uow.orders.search(commands.ListOrders()))
    assert [o.status for o in orders] == [OrderStatus.PENDING]
    return orders[0].id


async def test_concurrent_placements_of_one_external_order_make_one_order_and_one_reservation(saga: Saga) -> None:
    saga.inventory.stock = {"A": 100}
    orders = await asyncio.gather(*(saga.placement.place(place("E-dup")) for _ in range(20)))
    assert {o.id for o in orders} == {orders[0].id}
    assert {o.status for o in orders} == {OrderStatus.RESERVED}
    assert len(saga.inventory.by_request) == 1 and saga.inventory.stock["A"] == 99
    assert {o.reservation_id for o in orders} == set(saga.inventory.held)


async def test_inventory_unreachable_leaves_the_order_pending_until_recovery_drives_it(saga: Saga) -> None:
    saga.inventory.stock = {"A": 5}
    saga.inventory.unreachable = True
    with pytest.raises(Unavailable):
        await saga.placement.place(place())
    order_id = await pending_order_id(saga)
    await saga.recovery.run_once()  # still unreachable: still PENDING, nothing lost
    assert await status_of(saga, order_id) is OrderStatus.PENDING

    saga.inventory.unreachable = False
    await saga.recovery.run_once()
    assert await status_of(saga, order_id) is OrderStatus.RESERVED
    assert len(saga.inventory.held) == 1


async def test_a_crash_between_reserving_and_recording_is_recovered_with_the_same_reservation(saga: Saga) -> None:
    saga.inventory.stock = {"A": 5}

    def crash() -> None:
        raise Crash

    saga.after_reserve = crash
    with pytest.raises(Crash):
        await saga.placement.place(place())
    saga.after_reserve = None
    order_id = await pending_order_id(saga)

    await saga.recovery.run_once()

    order = await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order_id))
    assert order.status is OrderStatus.RESERVED
    assert saga.inventory.held == [order.reservation_id]  # the reservation made before the crash, no other


async def test_cancelling_an_order_left_pending_by_a_crash_releases_the_reservation_made_for_it(saga: Saga) -> None:
    """Reserve went through, then the driver died (or its caller gave up) before recording it; the customer
    cancels the PENDING order. The recovery loop drives only PENDING orders, so the cancel must release it."""
    saga.inventory.stock = {"A": 5}

    def crash() -> None:
        raise Crash

    saga.after_reserve = crash
    with pytest.raises(Crash):
        await saga.placement.place(place())
    saga.after_reserve = None
    order_id = await pending_order_id(saga)
    assert len(saga.inventory.held) == 1

    cancelled = await saga.lifecycle.cancel(commands.CancelOrder(order_id, "changed my mind"), lambda order: None)
    await saga.recovery.run_once()

    assert cancelled.status is OrderStatus.CANCELLED and cancelled.reservation_id == ""
    assert saga.inventory.held == []
    assert await saga.lifecycle.cancel(commands.CancelOrder(order_id, "again"), lambda order: None) == cancelled


async def test_a_pending_order_whose_reservation_lapsed_meanwhile_asks_for_stock_again(saga: Saga) -> None:
    saga.inventory.stock = {"A": 5}
    made: list[str] = []

    def crash_and_let_it_lapse() -> None:
        made.extend(r.id for r in saga.inventory.by_request.values())
        saga.inventory.lapse(made[-1])
        raise Crash

    saga.after_reserve = crash_and_let_it_lapse
    with pytest.raises(Crash):
        await saga.placement.place(place())
    saga.after_reserve = None

    await saga.recovery.run_once()

    orders = await UseCases(saga.uow).read(lambda uow: uow.orders.search(commands.ListOrders()))
    assert [o.status for o in orders] == [OrderStatus.RESERVED]
    assert orders[0].reservation_id != made[0]
    assert saga.inventory.held == [orders[0].reservation_id]
    # The second attempt was a new request to inventory, not a replay of the lapsed one.
    assert [c.rsplit(":", 1)[1] for c in dict.fromkeys(saga.inventory.reserve_calls)] == ["0", "1"]


async def test_a_reservation_is_released_when_the_order_cannot_be_recorded(saga: Saga, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    saga.inventory.stock = {"A": 5}
    real = handlers.record_reservation_at_once

    async def database_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("database went away")

    monkeypatch.setattr(handlers, "record_reservation_at_once", database_fails)
    with pytest.raises(ConnectionError):
        await saga.placement.place(place())
    assert saga.inventory.held == []  # not kept for an order that was not recorded
    monkeypatch.setattr(handlers, "record_reservation_at_once", real)

    await saga.recovery.run_once()
    orders = await UseCases(saga.uow).read(lambda uow: uow.orders.search(commands.ListOrders()))
    assert [o.status for o in orders] == [OrderStatus.RESERVED]
    assert saga.inventory.held == [orders[0].reservation_id]


async def test_an_order_cancelled_while_its_stock_was_being_reserved_does_not_keep_the_stock(
    saga: Saga, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    saga.inventory.stock = {"A": 5}
    record = handlers.record_reservation_at_once

    async def customer_cancels_first(uow, pending, *args):  # type: ignore[no-untyped-def]
        cancel = commands.CancelOrder(pending.id, "changed mind")
        await run_in_transaction(saga.uow, lambda other: handlers.cancel_order(other, cancel, release=saga.release))
        return await record(uow, pending, *args)

    monkeypatch.setattr(handlers, "record_reservation_at_once", customer_cancels_first)
    order = await saga.placement.place(place())

    assert order.status is OrderStatus.CANCELLED
    assert len(saga.inventory.by_request) == 1 and saga.inventory.held == []


async def test_a_pending_order_too_old_to_pursue_is_cancelled_and_its_stock_released(make_saga) -> None:  # type: ignore[no-untyped-def]
    saga = make_saga(pending_timeout_seconds=0.0)
    saga.inventory.stock = {"A": 5}

    def crash() -> None:
        raise Crash

    saga.after_reserve = crash
    with pytest.raises(Crash):
        await saga.placement.place(place("E-old"))
    saga.after_reserve = None

    await saga.recovery.run_once()

    order = await UseCases(saga.uow).read(
        lambda uow: uow.orders.get_by_external("web", "E-old")  # type: ignore[arg-type, return-value]
    )
    assert order is not None and order.status is OrderStatus.CANCELLED
    assert saga.inventory.held == []


async def test_unknown_skus_are_not_found_and_leave_no_order_behind(saga: Saga) -> None:
    saga.inventory.stock = {"A": 5}
    with pytest.raises(NotFound) as caught:
        await saga.placement.place(place(sku="NEVER-HEARD-OF"))
    assert "NEVER-HEARD-OF" in caught.value.message
    orders = await UseCases(saga.uow).read(lambda uow: uow.orders.search(commands.ListOrders()))
    assert orders == []


async def test_not_enough_stock_rejects_with_the_shortfall(saga: Saga) -> None:
    saga.inventory.stock = {"A": 1}
    order = await saga.placement.place(place(quantity=3))
    assert order.status is OrderStatus.REJECTED
    assert [(s.sku, s.requested, s.available) for s in order.shortfalls] == [("A", 3, 1)]


async def test_one_person_ordering_concurrently_with_the_same_phone_is_one_customer(saga: Saga) -> None:
    saga.inventory.stock = {"A": 100}
    orders = await asyncio.gather(*(saga.placement.place(place(f"E{i}", phone="139 1111 2222")) for i in range(10)))
    assert len({o.customer_id for o in orders}) == 1 and orders[0].customer_id


async def test_a_member_seen_with_a_phone_is_recognised_by_either_later(saga: Saga) -> None:
    saga.inventory.stock = {"A": 100}
    first = await saga.placement.place(place("E1", phone="", member_id="M-1"))
    both = await saga.placement.place(place("E2", phone="13722223333", member_id="M-1"))
    by_phone = await saga.placement.place(place("E3", phone="137-2222-3333"))
    stranger = await saga.placement.place(place("E4", phone="13900000000"))
    assert first.customer_id == both.customer_id == by_phone.customer_id != stranger.customer_id


async def test_a_payment_whose_reservation_lapsed_first_cancels_the_order_with_the_payment_due_back(
    saga: Saga,
) -> None:
    saga.inventory.stock = {"A": 5}
    order = await saga.placement.place(place())
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "p1", order.total))
    )
    saga.inventory.refuse_commit = FailedPrecondition("INVALID_RESERVATION_STATE", "it is EXPIRED")

    assert await saga.stock.send_for_order(order.id) is True

    after = await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order.id))
    assert after.status is OrderStatus.CANCELLED
    assert after.refunded == after.paid == order.total


async def test_stock_requests_wait_out_an_inventory_outage_and_are_sent_once_in_order(saga: Saga) -> None:
    saga.inventory.stock = {"A": 5}
    order = await saga.placement.place(place())
    saga.inventory.unreachable = True
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, "p1", order.total))
    )
    paid = await UseCases(saga.uow).read(lambda uow: handlers.get_order(uow, order.id))
    ship = commands.ShipFulfillment(order.id, paid.fulfillments[0].id, "T")
    # Nothing leaves before inventory confirmed the commit: it may still refuse it (the TTL passes meanwhile).
    with pytest.raises(CommitNotConfirmed):
        await run_in_transaction(saga.uow, lambda uow: handlers.ship_fulfillment(uow, ship, hand_over=saga.hand_over))
    assert await saga.stock.send_for_order(order.id) is False
    assert saga.inventory.committed == [] and saga.inventory.fulfilled == []

    saga.inventory.unreachable = False
    await saga.recovery.run_once()
    await run_in_transaction(saga.uow, lambda uow: handlers.ship_fulfillment(uow, ship, hand_over=saga.hand_over))
    await saga.stock.send_for_order(order.id)
    assert saga.inventory.committed == [order.reservation_id]
    assert saga.inventory.fulfilled == [f"orders:fulfil:{paid.fulfillments[0].id}"]


@contextlib.contextmanager
def statements_sent(engine: Any, checkouts: list[Any] | None = None) -> Iterator[list[str]]:
    """Every statement the engine's connections send meanwhile (asyncpg's query log), BEGIN and COMMIT included,
    through SQLAlchemy's pool or the read pool beside it; `checkouts` collects SQLAlchemy's pool checkouts."""
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(" ".join(record.query.split()))

    logged: list[Any] = []

    def watch(raw: Any) -> None:
        if not any(raw is seen for seen in logged):
            raw.add_query_logger(log)
            logged.append(raw)

    def on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if checkouts is not None:
            checkouts.append(dbapi_connection)
        watch(dbapi_connection.driver_connection)

    pool = read_pool(engine)
    take = pool.take

    async def taken() -> Any:
        conn = await take()
        watch(conn)
        return conn

    pool.take = taken  # type: ignore[method-assign]
    event.listen(engine.sync_engine, "checkout", on_checkout)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "checkout", on_checkout)
        del pool.take
        for raw in logged:
            raw.remove_query_logger(log)


async def test_a_returning_customers_order_is_recorded_by_one_statement_with_its_event_and_no_transaction(
    saga: Saga, sessions: Any
) -> None:
    """tx1 is one statement, which also finds the customer's identities claimed; tx2 records the reservation,
    the fulfillment and the OrderPlaced outbox row in one more, with no One-ID look-up of its own. No BEGIN,
    COMMIT or outbox INSERT of their own."""
    saga.inventory.stock = {"A": 5}
    first = await saga.placement.place(place("E-first"))  # the customer is known from now on
    with statements_sent(sessions.kw["bind"]) as sent:
        order = await saga.placement.place(place("E-again"))
        await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after each statement, not at once
    assert order.status is OrderStatus.RESERVED
    assert [q.split(" ")[0] for q in sent] == ["WITH", "WITH"], sent  # insert (with the identities), save
    assert order.customer_id == first.customer_id != ""
    async with saga.uow() as uow:
        rows = (await uow.session.execute(text("SELECT subject, payload FROM outbox ORDER BY seq"))).all()
    placed = [ev.OrderPlaced.FromString(r.payload).order.id for r in rows if r.subject == "orders.order.placed"]
    assert placed.count(order.id) == 1


async def test_a_returning_customer_with_an_identity_not_seen_before_has_it_claimed_for_the_same_customer(
    saga: Saga, sessions: Any
) -> None:
    """tx1 finds the phone claimed but not the member id: the customer is not settled there, so tx2 looks the
    identities up and claims the new one for the phone's customer (and a third order is settled at tx1)."""
    saga.inventory.stock = {"A": 5}
    first = await saga.placement.place(place("E-phone"))
    second = await saga.placement.place(place("E-member", member_id=f"M-{uuid.uuid4().hex[:8]}"))
    third = await saga.placement.place(place("E-both", member_id=second.customer.member_id))
    assert first.customer_id == second.customer_id == third.customer_id != ""
    async with saga.uow() as uow:
        owner = (
            await uow.session.execute(
                text("SELECT customer_id FROM customer_identities WHERE kind = 'member' AND value = :v"),
                {"v": second.customer.member_id},
            )
        ).scalar_one()
    assert owner == first.customer_id


async def test_placing_an_order_checks_no_connection_out_of_sqlalchemys_pool(saga: Saga, sessions: Any) -> None:
    """tx1, tx2 and the channel read run without a transaction, on the read pool's connections: no SQLAlchemy
    checkout and check-in (their CPU cost about as much as a statement; uow.py)."""
    saga.inventory.stock = {"A": 5}
    await saga.placement.place(place("E-first"))
    checkouts: list[Any] = []
    with statements_sent(sessions.kw["bind"], checkouts) as sent:
        order = await saga.placement.place(place("E-again"))
        terms = await UseCases(saga.uow).read(lambda uow: handlers.sales_terms(uow, "web", ["A"]))
        await asyncio.sleep(0.05)
    assert order.status is OrderStatus.RESERVED and terms is not None
    assert checkouts == [] and len(sent) == 3, sent


async def test_placing_an_order_closes_no_sqlalchemy_session(saga: Saga, monkeypatch: pytest.MonkeyPatch) -> None:
    """The channel read, tx1 and tx2 never begin their sessions (every statement is on the read pool's
    connections): leaving them closes nothing, since a close would only cost a greenlet hop each (uow.py)."""
    saga.inventory.stock = {"A": 5}
    await saga.placement.place(place("E-first"))
    closed: list[AsyncSession] = []
    close = AsyncSession.close

    async def counted(session: AsyncSession) -> None:
        closed.append(session)
        await close(session)

    monkeypatch.setattr(AsyncSession, "close", counted)
    order = await saga.placement.place(place("E-again"))
    terms = await UseCases(saga.uow).read(lambda uow: handlers.sales_terms(uow, "web", ["A"]))
    assert order.status is OrderStatus.RESERVED and terms is not None
    assert closed == []
    async with saga.uow() as uow:  # a unit of work that begins its transaction still closes its session
        await uow.session.execute(text("SELECT 1"))
    assert len(closed) == 1


async def test_the_one_id_look_up_finds_identities_by_index_not_by_a_scan_of_the_table(sessions: Any) -> None:
    """Every placed order looks its customer's identities up (KNOWN_IDENTITIES); the pairs alone were hash-joined
    with a seq scan of the whole table in a prepared statement's generic plan."""
    customers, identities = core_tables(CustomerRow, CustomerIdentityRow)
    tag = uuid.uuid4().hex[:6]
    async with sessions.kw["bind"].connect() as sa:
        transaction = await sa.begin()
        try:
            await sa.execute(insert(customers), [{"id": f"{tag}-{i}"} for i in range(500)])
            rows = [{"kind": "PHONE", "value": f"{tag}-{i}", "customer_id": f"{tag}-{i}"} for i in range(500)]
            await sa.execute(insert(identities), rows)
            await sa.execute(text("ANALYZE customer_identities"))
            raw = (await sa.get_raw_connection()).driver_connection
            plan = await generic_plan(raw, order_sql.KNOWN_IDENTITIES)
            # tx1 reads them too, inside the order's INSERT (EXPLAIN without ANALYZE inserts nothing)
            insert_plan = await generic_plan(raw, order_sql.INSERT_ORDER)
        finally:
            await transaction.rollback()
    assert "Seq Scan on customer_identities" not in plan and "Index" in plan, plan
    assert "Seq Scan on customer_identities" not in insert_plan and "customer_identities" in insert_plan, insert_plan
