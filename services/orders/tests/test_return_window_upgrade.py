"""The return window through a rolling upgrade, over a real database (inventory faked): an order a replica of the
previous release shipped has no deadline (its save does not write one), and the closer fixes it from when the
goods left and closes it when due, event once; a channel event of the previous channels release states no window,
and orders' copy keeps the one it has; the closer claims and closes by one clock, its own."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.orders.v1 import events_pb2 as oev
from onepool_orders.entrypoints.channel_events import on_channel_event
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.return_windows import ReturnWindowCloser
from onepool_runtime.idempotency import run_in_transaction

from .test_return_window import Saga, _channel, _shipped, _sql, _stored

pytestmark = pytest.mark.asyncio


async def _as_previous_release_shipped(saga: Saga, order_id: str, left_at: datetime) -> None:
    """The row as a replica of the release before the window writes it: goods gone, no deadline."""
    await _sql(saga, "UPDATE orders SET returnable_until = NULL WHERE id = :id", id=order_id)
    await _sql(saga, "UPDATE fulfillments SET shipped_at = :at WHERE order_id = :id", id=order_id, at=left_at)


async def _closings(saga: Saga) -> list[str]:
    rows = (await _sql(saga, "SELECT payload FROM outbox WHERE subject = 'orders.order.return_window_closed'")).all()
    return sorted(oev.OrderReturnWindowClosed.FromString(r.payload).facts.order_id for r in rows)


async def _db_now(saga: Saga) -> datetime:
    value: datetime = (await _sql(saga, "SELECT now()")).scalar_one()
    return value


async def test_an_order_shipped_by_the_previous_release_gets_its_deadline_and_closes(saga: Saga) -> None:
    await _channel(saga, "rw-up-two", 1, 2)
    now = await _db_now(saga)
    long_ago, lately = now - timedelta(days=10), now - timedelta(days=1)
    due = await _shipped(saga, "rw-up-two", "RWU-due")  # its 2-day window passed 8 days ago
    running = await _shipped(saga, "rw-up-two", "RWU-running")  # still a day to go
    await _as_previous_release_shipped(saga, due.id, long_ago)
    await _as_previous_release_shipped(saga, running.id, lately)
    await _sql(saga, "UPDATE orders SET status = 'COMPLETED' WHERE id = :id", id=due.id)
    assert not (await _stored(saga, due.id)).is_final  # as the new release states it, for ever without the fix

    closer = ReturnWindowCloser(saga.uow, interval_seconds=0.01, batch=10)
    assert await closer.run_once() == 1
    assert (closer.fixed, closer.closed) == (2, 1)
    closed, open_ = await _stored(saga, due.id), await _stored(saga, running.id)
    assert closed.returnable_until == long_ago + timedelta(days=2)
    assert closed.return_window_closed and closed.is_final
    assert open_.returnable_until == lately + timedelta(days=2)
    assert not open_.return_window_closed and not open_.is_final
    assert await _closings(saga) == [due.id]

    # Later passes find neither again: the event is published once.
    assert await closer.run_once() == 0
    assert (closer.fixed, closer.closed) == (2, 1)
    assert await _closings(saga) == [due.id]


def _channel_event(channel_id: str, version: int, days: int | None) -> channel_events.ChannelUpdated:
    channel = channels_pb2.Channel(
        id=channel_id, type=channels_pb2.CHANNEL_TYPE_ONLINE_STORE, version=version, currency="CNY"
    )
    if days is not None:
        channel.return_window_days = days
    return channel_events.ChannelUpdated(channel=channel)


async def _window(saga: Saga, channel_id: str) -> tuple[int, int]:
    channel = await run_in_transaction(saga.uow, lambda uow: handlers.channel(uow, channel_id))
    assert channel is not None and channel.return_window_days is not None
    return channel.version, channel.return_window_days


async def _apply(saga: Saga, event: channel_events.ChannelUpdated) -> None:
    await run_in_transaction(saga.uow, lambda uow: on_channel_event(event, uow))


async def test_a_channel_event_without_a_window_keeps_the_one_the_copy_has(saga: Saga) -> None:
    await _apply(saga, _channel_event("rw-up-30", 1, 30))
    # The previous channels release renames it: its event states no window.
    await _apply(saga, _channel_event("rw-up-30", 2, None))
    assert await _window(saga, "rw-up-30") == (2, 30)
    await _apply(saga, _channel_event("rw-up-30", 2, None))  # a repeat of the same version
    assert await _window(saga, "rw-up-30") == (2, 30)
    await _apply(saga, _channel_event("rw-up-30", 3, 0))  # a stated zero is a window too: no return at all
    assert await _window(saga, "rw-up-30") == (3, 0)

    # A channel the copy never had: the default channels applies.
    await _apply(saga, _channel_event("rw-up-new", 1, None))
    assert await _window(saga, "rw-up-new") == (1, 7)

    # Orders shipped afterwards take the window kept.
    await _apply(saga, _channel_event("rw-up-30", 4, 30))
    await _apply(saga, _channel_event("rw-up-30", 5, None))
    shipped = await _shipped(saga, "rw-up-30", "RWU-kept")
    left_at = shipped.fulfillments[0].shipped_at
    assert left_at is not None and shipped.returnable_until == left_at + timedelta(days=30)


async def test_the_closer_claims_and_closes_by_its_own_clock(saga: Saga, monkeypatch: Any) -> None:
    order = await _shipped(saga, "web", "RWU-clock")
    db_now = await _db_now(saga)
    closer = ReturnWindowCloser(saga.uow, interval_seconds=0.01, batch=10)

    # This replica's clock behind the database's: the order is not due by it, so it is not claimed (it was,
    # every pass, and never closed).
    await _sql(saga, "UPDATE orders SET returnable_until = :at WHERE id = :id", id=order.id, at=db_now)
    monkeypatch.setattr(handlers, "now", lambda: db_now - timedelta(hours=1))
    claimed = await run_in_transaction(
        saga.uow, lambda uow: uow.orders.claim_closing_windows(10, db_now - timedelta(hours=1))
    )
    assert claimed == []
    assert await closer.run_once() == 0

    # Ahead of it: due by this replica's clock, it is closed now (the database's now() did not find it).
    later = db_now + timedelta(hours=1)
    await _sql(saga, "UPDATE orders SET returnable_until = :at WHERE id = :id", id=order.id, at=later)
    monkeypatch.setattr(handlers, "now", lambda: later + timedelta(hours=1))
    assert await closer.run_once() == 1
    assert (await _stored(saga, order.id)).return_window_closed
    assert await _closings(saga) == [order.id]
