"""What an on-call operator sees of orders that stopped moving (adapters/waiting.py): the gauges per waiting
state with the age of the oldest, the count of stock requests inventory refused by reason, and the reads
behind them on their partial indexes. `onepool orders stuck` against a real stack is tests/flows/
test_orders_stuck.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
from onepool_kernel.money import Money
from onepool_orders.adapters.waiting import COUNTS, Waiting, refused_requests, stuck_orders, waiting_counts
from onepool_orders.domain import commands
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference, OrderLine, OrderStatus
from onepool_orders.entrypoints import waiting_gauges
from onepool_orders.service_layer import handlers, stock_sync
from onepool_runtime.errors import FailedPrecondition, Unavailable
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.servicer import UseCases
from opentelemetry.metrics import CallbackOptions
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.asyncio
Saga = Any  # the `saga` fixture (conftest.py)


def place(external_id: str, sku: str = "A") -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id="web",
        external_order_id=external_id,
        customer=CustomerInfo(phone="13800000000"),
        lines=(OrderLine(sku, 1, Money("CNY", 100)),),
        fulfillment=FulfillmentPreference(address="x"),
        dealer_id="",
        payment_ttl_seconds=0,
    )


async def _pay(saga: Saga, order: Any) -> None:
    await run_in_transaction(
        saga.uow, lambda uow: handlers.pay_order(uow, commands.PayOrder(order.id, f"pay-{order.id}", order.total))
    )


class Recorded:
    def __init__(self) -> None:
        self.added: list[tuple[int, dict[str, str]]] = []

    def add(self, amount: int, attributes: dict[str, str] | None = None) -> None:
        self.added.append((amount, attributes or {}))


async def _world(saga: Saga) -> dict[str, str]:
    """One order in each waiting state and one refused commit; the order id of each."""
    saga.inventory.stock = {"A": 10}
    reserved = await saga.placement.place(place("reserved"))
    refused = await saga.placement.place(place("refused"))
    unsent = await saga.placement.place(place("unsent"))
    saga.inventory.refuse_commit = FailedPrecondition("RESERVATION_EXPIRED", "reservation r expired at ...")
    await _pay(saga, refused)
    assert await saga.stock.send_for_order(refused.id) is True  # refused: the order cancels itself
    saga.inventory.refuse_commit = None
    saga.inventory.unreachable = True
    await _pay(saga, unsent)
    assert await saga.stock.send_for_order(unsent.id) is False  # retried later, its error kept
    with pytest.raises(Unavailable):
        await saga.placement.place(place("pending"))
    pending = await UseCases(saga.uow).read(lambda uow: uow.orders.get_by_external("web", "pending"))
    assert pending is not None and pending.status is OrderStatus.PENDING
    return {"reserved": reserved.id, "refused": refused.id, "unsent": unsent.id, "pending": pending.id}


async def test_gauges_count_each_waiting_state_with_its_oldest(saga: Saga, sessions: Any) -> None:
    made = await _world(saga)
    engine = sessions.kw["bind"]
    await waiting_gauges.WaitingGauges(engine, interval_seconds=1).measure()

    counts = {o.attributes["state"]: o.value for o in waiting_gauges._observe_count(CallbackOptions())}
    ages = {o.attributes["state"]: o.value for o in waiting_gauges._observe_age(CallbackOptions())}
    # awaiting_reservation, not awaiting_stock: that name means lines waiting for goods everywhere else.
    assert counts == {
        "awaiting_reservation": 1,
        "awaiting_payment": 1,
        "balance_overdue": 0,
        "awaiting_inventory": 1,
        "goods_overdue": 0,
    }
    assert all(0 <= age < 60 for age in ages.values()), ages
    assert ages["balance_overdue"] == 0 and ages["goods_overdue"] == 0

    async with engine.connect() as conn:
        await conn.execute(
            text("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = :i"), {"i": made["pending"]}
        )
        await conn.commit()
    await waiting_gauges.WaitingGauges(engine, interval_seconds=1).measure()
    ages = {o.attributes["state"]: o.value for o in waiting_gauges._observe_age(CallbackOptions())}
    assert 3600 <= ages["awaiting_reservation"] < 3660, ages


async def test_stuck_orders_and_refused_requests_say_why(saga: Saga, sessions: Any) -> None:
    made = await _world(saga)
    async with sessions.kw["bind"].connect() as conn:
        stuck = await stuck_orders(conn, 0, 10)
        refused = await refused_requests(conn, 10)
        assert await stuck_orders(conn, 3600, 10) == []  # nothing has waited an hour
        assert len(await stuck_orders(conn, 0, 2)) == 2
    by_id = {s.order_id: s for s in stuck}
    assert set(by_id) == {made["pending"], made["reserved"], made["unsent"]}
    assert by_id[made["pending"]].state is Waiting.RESERVATION
    assert "Reserve" in by_id[made["pending"]].reason
    assert by_id[made["reserved"]].state is Waiting.PAYMENT
    assert "reservation expires at" in by_id[made["reserved"]].reason
    unsent = by_id[made["unsent"]]
    assert (unsent.state, unsent.status, unsent.channel_id) == (Waiting.INVENTORY, "PAID", "web")
    assert "commit not applied by inventory" in unsent.reason and "unavailable" in unsent.reason, unsent
    assert [(r.order_id, r.kind, r.order_status) for r in refused] == [(made["refused"], "commit", "CANCELLED")]
    assert refused[0].error.startswith("FailedPrecondition RESERVATION_EXPIRED: reservation r expired"), refused


async def test_a_refusal_is_counted_by_kind_and_reason(saga: Saga, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Recorded()
    monkeypatch.setattr(stock_sync, "refused_requests", counter)
    await _world(saga)
    assert counter.added == [(1, {"kind": "CommitReservation", "reason": "RESERVATION_EXPIRED"})]


async def test_the_gauges_read_partial_indexes(saga: Saga, sessions: Any) -> None:
    """The gauges' statement reads PENDING and RESERVED orders, overdue balances and open requests on their
    partial indexes: the few that wait, never the whole history."""
    await _world(saga)
    async with sessions.kw["bind"].connect() as conn:
        await conn.execute(text("SET LOCAL enable_seqscan = off"))  # a table this small would be scanned anyway
        plan = "\n".join(r[0] for r in await conn.execute(text(f"EXPLAIN {COUNTS}")))
        counts = {w.state: w.orders for w in await waiting_counts(conn)}
    for index in (
        "orders_pending",
        "orders_awaiting_payment",
        "stock_requests_open",
        "orders_paid_open",
    ):
        assert index in plan, plan
    # Overdue balances: the DEPOSIT_PAID orders by deadline, or all of them (few) by ListOrders' in-flight index
    # (orders migration 0020), as the planner likes; never the history.
    assert "orders_balance_due" in plan or "Index Cond: ((status)::text = 'DEPOSIT_PAID'::text)" in plan, plan
    assert counts[Waiting.RESERVATION] == 1


async def _promise(engine: Any, order_id: str, awaiting: int, promised_in: float) -> None:
    """Make the order's line wait for `awaiting` units promised at now() + `promised_in` seconds (the fake inventory
    reserves on hand only; inventory's fills and moved promises reach lines this way: test_presale_*)."""
    async with engine.connect() as conn:
        await conn.execute(
            text(
                "UPDATE order_lines SET awaiting_quantity = :a, promised_at = now() + make_interval(secs => :p)"
                " WHERE order_id = :i"
            ),
            {"a": awaiting, "p": promised_in, "i": order_id},
        )
        await conn.commit()


async def test_paid_orders_whose_goods_are_late_wait_as_goods_overdue(saga: Saga, sessions: Any) -> None:
    """A paid order whose line waits for goods is not stuck before its promised date, and is goods_overdue
    after it, since that date; an unpaid or cancelled order whose date passed is not counted."""
    made = await _world(saga)
    engine = sessions.kw["bind"]
    gauges = waiting_gauges.WaitingGauges(engine, interval_seconds=1)
    await _promise(engine, made["unsent"], 1, 86400)
    for unpaid in ("reserved", "refused"):  # RESERVED, CANCELLED
        await _promise(engine, made[unpaid], 1, -3 * 3600)
    await gauges.measure()
    assert waiting_gauges.last_measured()["goods_overdue"].orders == 0

    await _promise(engine, made["unsent"], 1, -2 * 3600)
    await gauges.measure()
    late = waiting_gauges.last_measured()["goods_overdue"]
    assert late.orders == 1 and 7200 <= late.oldest_age_seconds < 7260, late
    async with engine.connect() as conn:
        stuck = [s for s in await stuck_orders(conn, 3600, 10) if s.state is Waiting.GOODS]
        assert [s for s in await stuck_orders(conn, 3 * 3600, 10) if s.state is Waiting.GOODS] == []
    assert [(s.order_id, s.status) for s in stuck] == [(made["unsent"], "PAID")]
    assert stuck[0].reason.startswith("1 x A promised for ") and "not arrived" in stuck[0].reason, stuck

    await _promise(engine, made["unsent"], 0, -2 * 3600)  # the goods came
    await gauges.measure()
    assert waiting_gauges.last_measured()["goods_overdue"].orders == 0


def _read_age() -> float:
    [age] = [o.value for o in waiting_gauges._observe_read_age(CallbackOptions())]
    return float(age)


async def test_a_failed_read_is_counted_and_the_values_show_their_age(
    saga: Saga, sessions: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database gone, the gauges keep their last values (an alert firing stays firing) and say how old
    they are: read_age grows from the last read that succeeded, and each failed read is counted."""
    failures = Recorded()
    monkeypatch.setattr(waiting_gauges, "read_failures", failures)
    await _world(saga)
    await waiting_gauges.WaitingGauges(sessions.kw["bind"], interval_seconds=1).measure()
    assert _read_age() < 5
    measured = waiting_gauges.last_measured()

    monkeypatch.setattr(waiting_gauges, "_read_at", [time.monotonic() - 100])
    gone = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(OSError):
            await waiting_gauges.WaitingGauges(gone, interval_seconds=1).measure()
    finally:
        await gone.dispose()
    assert failures.added == [(1, {})]
    assert 100 <= _read_age() < 105
    assert waiting_gauges.last_measured() == measured

    await waiting_gauges.WaitingGauges(sessions.kw["bind"], interval_seconds=1).measure()
    assert _read_age() < 5
