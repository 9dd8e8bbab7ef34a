"""Dealers' order view keeps the state of each order with orders' highest revision (OrderFacts.revision), not
the latest updated_at: that is the clock of whichever orders replica made the change, and replicas' clocks
differ. Events without a revision (published before orders counted them) are ordered by updated_at, and one
without updated_at either is older than any stamped state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2 as facts
from onepool_dealers.domain.overview import OrderView
from onepool_kernel.money import Money
from sqlalchemy import text

from .conftest import cny, eventually

T = datetime(2026, 1, 1, tzinfo=UTC)


def _facts(
    order_id: str, dealer_id: str, *, is_open: bool, paid: int, refunded: int, updated: datetime | None, revision: int
) -> facts.OrderFacts:
    o = facts.OrderFacts(
        order_id=order_id,
        dealer_id=dealer_id,
        is_open=is_open,
        is_paid=paid > 0,
        total=cny(1000),
        paid=cny(paid),
        refunded=cny(refunded),
        revision=revision,
    )
    o.created_at.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
    if updated is not None:
        o.updated_at.FromDatetime(updated)
    return o


async def _row(db, order_id: str):  # type: ignore[no-untyped-def]
    async with db.connect() as conn:
        found = await conn.execute(
            text("SELECT open, refunded_minor FROM dealer_orders WHERE order_id = :o"), {"o": order_id}
        )
        return found.first()


async def _applied_so_far(setup, publish, dealers_db, dealer_id: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until an event published after the ones before it is applied (the consumer takes them in order)."""
    marker = setup.name("O")
    order = _facts(marker, dealer_id, is_open=True, paid=0, refunded=0, updated=datetime.now(UTC), revision=1)
    await publish("orders.order.placed", order_events.OrderPlaced(facts=order))

    async def applied() -> bool:
        return await _row(dealers_db, marker) is not None

    await eventually(applied)


@pytest.mark.asyncio
async def test_a_cancellation_stamped_by_a_replica_whose_clock_is_behind_is_kept(  # type: ignore[no-untyped-def]
    setup, publish, dealers_db
) -> None:
    """Replica A (clock 30 ms ahead) records the payment; replica B cancels 10 ms later in real time, its stamp
    20 ms EARLIER than A's. Delivered in order, the cancellation used to be dropped: the order stayed open and
    unrefunded for ever."""
    dealer = await setup.dealer()
    oid = setup.name("O")
    t = datetime.now(UTC)
    paid = _facts(
        oid, dealer.id, is_open=True, paid=1000, refunded=0, updated=t + timedelta(milliseconds=30), revision=2
    )
    cancelled = _facts(
        oid, dealer.id, is_open=False, paid=1000, refunded=1000, updated=t + timedelta(milliseconds=10), revision=3
    )
    await publish("orders.order.paid", order_events.OrderPaid(facts=paid))
    await publish("orders.order.cancelled", order_events.OrderCancelled(facts=cancelled))
    await _applied_so_far(setup, publish, dealers_db, dealer.id)
    assert tuple(await _row(dealers_db, oid)) == (False, 1000), "the cancellation was dropped"
    # The payment redelivered late (its stamp still the later one) changes nothing.
    await publish("orders.order.paid", order_events.OrderPaid(facts=paid))
    await _applied_so_far(setup, publish, dealers_db, dealer.id)
    assert tuple(await _row(dealers_db, oid)) == (False, 1000), "a redelivered payment reopened the order"


@pytest.mark.asyncio
async def test_an_event_without_updated_at_does_not_roll_a_newer_state_back(setup, publish, dealers_db) -> None:  # type: ignore[no-untyped-def]
    """An OrderPlaced from before facts carried updated_at (or replayed from before an upgrade) arriving after
    the OrderCancelled used to count as newer than anything: the order was open again."""
    dealer = await setup.dealer()
    oid = setup.name("O")
    cancelled = _facts(oid, dealer.id, is_open=False, paid=0, refunded=0, updated=datetime.now(UTC), revision=0)
    placed = _facts(oid, dealer.id, is_open=True, paid=0, refunded=0, updated=None, revision=0)
    await publish("orders.order.cancelled", order_events.OrderCancelled(facts=cancelled))
    await publish("orders.order.placed", order_events.OrderPlaced(facts=placed))
    await _applied_so_far(setup, publish, dealers_db, dealer.id)
    assert (await _row(dealers_db, oid)).open is False, "a stamp-less late event reopened the order"


def _view(*, revision: int, updated: datetime | None) -> OrderView:
    return OrderView("O1", "D1", True, False, Money("CNY", 1000), 0, 0, T, updated, revision)


def test_the_higher_revision_wins_whatever_the_stamps_say() -> None:
    paid = _view(revision=2, updated=T + timedelta(milliseconds=30))
    cancelled = replace(_view(revision=3, updated=T + timedelta(milliseconds=10)), open=False)
    assert cancelled.newer_than(paid)
    assert not paid.newer_than(cancelled)
    assert paid.newer_than(paid)  # the same state again (a redelivery) may be written again


def test_without_a_revision_on_either_side_the_stamps_decide_and_a_missing_one_loses() -> None:
    old_early, old_late = _view(revision=0, updated=T), _view(revision=0, updated=T + timedelta(seconds=1))
    new = _view(revision=5, updated=T + timedelta(milliseconds=500))
    unstamped = _view(revision=0, updated=None)
    assert old_late.newer_than(old_early) and not old_early.newer_than(old_late)
    assert new.newer_than(old_early) and not new.newer_than(old_late)
    assert not unstamped.newer_than(old_early) and not unstamped.newer_than(new)
    assert old_early.newer_than(unstamped)
    assert unstamped.newer_than(unstamped)  # nothing to tell them apart: the one delivered last
