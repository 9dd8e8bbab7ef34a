"""Admission control: a service takes on a bounded amount of concurrent work and refuses the excess at once.

Unary calls share one budget (`max_concurrent_rpcs` running, at most `max_queued_rpcs` waiting, each for at
most `max_queue_wait_seconds`); server streams have their own (`max_concurrent_streams`, no queue), so
long-lived watches can never eat the unary budget. Calls whose handler only hands its work to a batching
worker and waits for the batch (inventory's Reserve; pipeline.py `coalesced`) pass the unary gate and give
its slot back at once, then hold one of `max_batched_rpcs` until answered (no queue: refused when none is
free); those slots are what bounds the batch queue, which would otherwise take a flood whole and answer all
of it late. Health checks and reflection are never counted or shed.
The current call's deadline is kept in a context variable, so the calls it makes to other services carry
what is left of it (onepool_runtime.clients) instead of their own, longer timeout.

What a caller sees:
- RESOURCE_EXHAUSTED with google.rpc.RetryInfo (retry advice) and ErrorInfo reason OVERLOADED: every slot
  is busy and the queue is full, or the call waited its maximum in the queue. Nothing was done.
- DEADLINE_EXCEEDED: the call's deadline had passed, or less than `deadline_margin_seconds` was left, when
  it would have started (on arrival or after queueing). Nothing was done.
- A call whose caller cancels it, or whose deadline passes while it runs, has its task cancelled by grpc.aio
  and gives its slot back; the work it started is either rolled back or finished by the owner's recovery.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from onepool_runtime import metrics
from onepool_runtime.settings import ServiceSettings

# Monotonic deadline of the server call this task is running, None when it has none (or is no call at all).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("onepool_deadline", default=None)


def remaining_time() -> float | None:
    """Seconds left to the deadline of the server call being handled, None when there is no deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


ADMITTED, SHED, EXPIRED = "admitted", "shed", "expired"


@dataclass
class Gate:
    """A counting gate with a bounded FIFO queue; a released slot passes straight to the oldest waiter."""

    name: str
    limit: int
    queue_limit: int = 0
    max_wait: float = 0.0
    in_flight: int = 0
    admitted: int = 0
    shed: int = 0
    expired: int = 0
    peak_in_flight: int = 0
    peak_queued: int = 0
    _waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    @property
    def queued(self) -> int:
        return len(self._waiters)

    async def acquire(self, budget: float | None) -> str:
        """ADMITTED (the caller must `release()`), SHED or EXPIRED. `budget`: seconds the call may still wait
        before it must start, None without a deadline."""
        if budget is not None and budget <= 0:
            return self._count(EXPIRED)
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return self._count(ADMITTED)
        if len(self._waiters) >= self.queue_limit:
            return self._count(SHED)
        wait = self.max_wait if budget is None else min(self.max_wait, budget)
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        self.peak_queued = max(self.peak_queued, len(self._waiters))
        try:
            await asyncio.wait({slot}, timeout=wait)
        except asyncio.CancelledError:  # the caller went away while queued
            self._leave(slot)
            raise
        if slot.done():
            return self._count(ADMITTED)  # the slot was handed over by release(); in_flight already counts it
        self._leave(slot)
        return self._count(EXPIRED if budget is not None and budget <= self.max_wait else SHED)

    def _leave(self, slot: asyncio.Future[None]) -> None:
        if slot.done() and not slot.cancelled():
            self.release()  # handed a slot at the very moment it gave up: pass it on
            return
        slot.cancel()
        self._waiters.remove(slot)

    def release(self) -> None:
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self.in_flight -= 1

    def _count(self, verdict: str) -> str:
        setattr(self, verdict, getattr(self, verdict) + 1)
        return verdict


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def overloaded_status(gate: Gate, retry_after: float) -> grpc.Status:
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(retry_after * 1e9))
    details = [
        _pack(error_details_pb2.RetryInfo(retry_delay=delay)),
        _pack(
            error_details_pb2.ErrorInfo(
                reason="OVERLOADED", domain="onepool", metadata={"budget": gate.name, "limit": str(gate.limit)}
            )
        ),
    ]
    message = f"server busy ({gate.name}: {gate.limit} running, queue full); retry after {retry_after:g}s"
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=details))


def _expired_status() -> grpc.Status:
    message = "deadline passed (or too close) before the call could start; nothing was done"
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message=message))


class Admission:
    """The service's budgets. The call pipeline (pipeline.py) enters every call of a service's own methods
    here first, so a refused call costs no span, token check, decoding or database work."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.unary = Gate(
            "unary", settings.max_concurrent_rpcs, settings.max_queued_rpcs, settings.max_queue_wait_seconds
        )
        self.streams = Gate("streams", settings.max_concurrent_streams)
        self.batched = Gate("batched", settings.max_batched_rpcs)
        self._margin = settings.deadline_margin_seconds
        self._retry_after = settings.overload_retry_after_seconds

    async def enter(self, gate: Gate, method: str, context: Any) -> None:
        """Take a slot of `gate` (the caller must `gate.release()` it) and make the call's deadline current,
        or abort the call (RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED, module doc)."""
        remaining = context.time_remaining()
        if remaining is None:
            verdict = await gate.acquire(None)
            deadline = None
        else:
            deadline = time.monotonic() + remaining
            verdict = await gate.acquire(remaining - self._margin)
        if verdict == ADMITTED:
            _deadline.set(deadline)
            return
        status = _expired_status() if verdict == EXPIRED else overloaded_status(gate, self._retry_after)
        metrics.rpc_requests.add(1, {"rpc.method": method, "rpc.grpc.status_code": status.code.name})
        await context.abort_with_status(status)
        raise AssertionError("abort_with_status returns only by raising")
