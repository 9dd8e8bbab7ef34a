"""The admission gate on its own: first come first served, bounded queue, a freed slot passes straight to the
oldest waiter, and waiters that give up (deadline, caller gone) never leak a slot. And the pipeline's budget
for coalesced calls (calls waiting for a batch), which hold no unary slot but are bounded all the same."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.rpc import status_pb2
from onepool_runtime.admission import ADMITTED, EXPIRED, SHED, Admission, Gate
from onepool_runtime.auth import Authorizer
from onepool_runtime.pipeline import CallPipeline
from onepool_runtime.settings import ServiceSettings

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


class _Aborted(Exception):
    pass


class _Context:
    """What the pipeline asks of a grpc.aio servicer context, for a call with no deadline."""

    def __init__(self) -> None:
        self.status: grpc.Status | None = None

    def time_remaining(self) -> float | None:
        return None

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def code(self) -> grpc.StatusCode | None:
        return self.status.code if self.status else None

    async def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise _Aborted


def _details(status: grpc.Status) -> list[Any]:
    raw = dict(status.trailing_metadata)["grpc-status-details-bin"]
    return list(status_pb2.Status.FromString(raw).details)


async def test_coalesced_calls_hold_a_batched_slot_until_answered_and_the_excess_is_refused_with_retry_advice() -> None:
    """A coalesced method (inventory's Reserve) gives its unary slot back at once, yet the calls waiting for
    their batch are bounded: beyond max_batched_rpcs they are refused at once, like any overloaded call."""
    settings = ServiceSettings(max_concurrent_rpcs=1, max_queued_rpcs=0, max_batched_rpcs=3, auth_enabled=False)
    admission = Admission(settings)
    pipeline = CallPipeline(admission, Authorizer(settings, {}), coalesced=frozenset({"/t.T/Batch"}))
    batch_done = asyncio.Event()

    async def wait_for_batch(_request: bytes, _context: object) -> bytes:
        await batch_done.wait()
        return b"ok"

    call = pipeline.wrap("/t.T/Batch", grpc.unary_unary_rpc_method_handler(wait_for_batch)).unary_unary
    contexts = [_Context() for _ in range(5)]
    calls = [asyncio.create_task(call(b"", ctx)) for ctx in contexts]
    await asyncio.sleep(0.05)

    refused = [ctx.status for ctx in contexts if ctx.status is not None]
    assert len(refused) == 2 and all(t.done() for t in calls[3:])
    for status in refused:
        assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        kinds = {d.TypeName() for d in _details(status)}
        assert {"google.rpc.RetryInfo", "google.rpc.ErrorInfo"} <= kinds, kinds
    # Three wait for their batch; each passed the unary gate (deadline, queue) and holds none of its slots.
    assert (admission.batched.in_flight, admission.batched.shed, admission.unary.in_flight) == (3, 2, 0)

    batch_done.set()
    assert await asyncio.gather(*calls[:3]) == [b"ok"] * 3
    assert admission.batched.in_flight == 0 and admission.unary.in_flight == 0
