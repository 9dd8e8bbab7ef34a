"""Open-loop load against PlaceOrder and what each call came back with (shared by the fast and slow tests).

Open loop: call i starts at t0 + i/rate whether or not earlier calls have answered, as real traffic does; a
closed loop (each caller waits for its answer) would slow down with the server and never overload it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2
from onepool_runtime.testing.services import status_of

from tests.support.orders import World, uid


@dataclass
class Outcome:
    external_id: str
    code: grpc.StatusCode
    seconds: float
    retry_delay: float | None = None  # from google.rpc.RetryInfo, when the answer carried one
    reason: str = ""  # ErrorInfo.reason, when the answer carried one
    message: str = ""


def outcome_of(external_id: str, started: float, error: grpc.aio.AioRpcError | None) -> Outcome:
    seconds = time.perf_counter() - started
    if error is None:
        return Outcome(external_id, grpc.StatusCode.OK, seconds)
    outcome = Outcome(external_id, error.code(), seconds, message=error.details() or "")
    status = status_of(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            outcome.retry_delay = info.retry_delay.ToNanoseconds() / 1e9
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            error_info = error_details_pb2.ErrorInfo()
            detail.Unpack(error_info)
            outcome.reason = error_info.reason
    return outcome


def placer(world: World, channel: str, sku: str, *, timeout: float) -> Callable[[], Awaitable[Outcome]]:
    """A PlaceOrder of one unit of `sku`, with a fresh external order id each time."""

    async def place() -> Outcome:
        external_id = uid("LOAD")
        request = world.place_request(channel, {sku: (1, 100)}, external_order_id=external_id)
        started = time.perf_counter()
        try:
            await world.orders.PlaceOrder(request, metadata=world.admin, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            return outcome_of(external_id, started, exc)
        return outcome_of(external_id, started, None)

    return place


async def open_loop(call: Callable[[], Awaitable[Outcome]], *, rate: float, seconds: float) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks: list[asyncio.Task[Outcome]] = []
    for i in range(int(rate * seconds)):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(call()))
    return list(await asyncio.gather(*tasks))


async def closed_loop(call: Callable[[], Awaitable[Outcome]], *, callers: int, seconds: float) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    outcomes: list[Outcome] = []

    async def caller() -> None:
        while loop.time() < end:
            outcomes.append(await call())

    await asyncio.gather(*(caller() for _ in range(callers)))
    return outcomes


def codes(outcomes: list[Outcome]) -> Counter[str]:
    return Counter(o.code.name for o in outcomes)


def rss_mib() -> float:
    """Resident memory of this process (services and load generator share it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def orders_made(host: Any, channel: str) -> set[str]:
    """External ids of the orders the service recorded on `channel` (whatever their status)."""
    from sqlalchemy import text

    async with host.infra.engine.connect() as conn:
        rows = await conn.execute(text("SELECT external_order_id FROM orders WHERE channel_id = :c"), {"c": channel})
        return {r.external_order_id for r in rows}
