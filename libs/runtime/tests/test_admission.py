"""The admission gate on its own: first come first served, bounded queue, a freed slot passes straight to the
oldest waiter, and waiters that give up (deadline, caller gone) never leak a slot."""

from __future__ import annotations

import asyncio

import pytest
from onepool_runtime.admission import ADMITTED, EXPIRED, SHED, Gate

pytestmark = pytest.mark.asyncio


async def test_admits_up_to_the_limit_queues_up_to_the_queue_and_sheds_the_rest() -> None:
    gate = Gate("unary", limit=2, queue_limit=1, max_wait=60)
    assert [await gate.acquire(None), await gate.acquire(None)] == [ADMITTED, ADMITTED]
    queued = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    assert (gate.in_flight, gate.queued) == (2, 1)
    assert await gate.acquire(None) == SHED  # slots and queue full: at once, no waiting

    gate.release()  # the slot goes to the waiter, not back to the pool
    assert await queued == ADMITTED
    assert (gate.in_flight, gate.queued) == (2, 0)
    gate.release()
    gate.release()
    assert (gate.in_flight, gate.admitted, gate.shed) == (0, 3, 1)


async def test_waiters_are_served_in_arrival_order() -> None:
    gate = Gate("unary", limit=1, queue_limit=3, max_wait=60)
    assert await gate.acquire(None) == ADMITTED
    order: list[int] = []

    async def wait(i: int) -> None:
        assert await gate.acquire(None) == ADMITTED
        order.append(i)

    waiters = [asyncio.create_task(wait(i)) for i in range(3)]
    await asyncio.sleep(0)
    for _ in range(3):
        gate.release()
        await asyncio.sleep(0)
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2] and gate.in_flight == 1


async def test_a_call_with_no_time_left_is_expired_and_a_waiter_runs_out_of_queue_time_or_deadline() -> None:
    gate = Gate("unary", limit=1, queue_limit=2, max_wait=0.05)
    assert await gate.acquire(0.0) == EXPIRED  # deadline (minus margin) already gone: not even a free slot
    assert await gate.acquire(None) == ADMITTED
    assert await gate.acquire(None) == SHED  # waited the queue's maximum: overloaded, retry later
    assert await gate.acquire(0.01) == EXPIRED  # its deadline came first
    assert (gate.in_flight, gate.queued) == (1, 0)


async def test_a_waiter_whose_caller_goes_away_leaves_the_queue_and_leaks_nothing() -> None:
    gate = Gate("unary", limit=1, queue_limit=2, max_wait=60)
    assert await gate.acquire(None) == ADMITTED
    leaving = asyncio.create_task(gate.acquire(None))
    staying = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.gather(leaving, return_exceptions=True)
    assert gate.queued == 1
    gate.release()
    assert await staying == ADMITTED
    gate.release()
    assert (gate.in_flight, gate.queued) == (0, 0)


async def test_a_slot_handed_to_a_waiter_at_the_moment_it_is_cancelled_is_passed_on() -> None:
    gate = Gate("unary", limit=1, queue_limit=2, max_wait=60)
    assert await gate.acquire(None) == ADMITTED
    first = asyncio.create_task(gate.acquire(None))
    second = asyncio.create_task(gate.acquire(None))
    await asyncio.sleep(0)
    gate.release()  # hands the slot to `first` ...
    first.cancel()  # ... which is cancelled before it runs again
    await asyncio.gather(first, return_exceptions=True)
    assert await second == ADMITTED
    gate.release()
    assert (gate.in_flight, gate.queued) == (0, 0)
