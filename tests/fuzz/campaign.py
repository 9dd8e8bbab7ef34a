"""Send generated requests to real services and judge every reply.

A reply fails the campaign when its code is INTERNAL or UNKNOWN (a caller caused a bug), DEADLINE_EXCEEDED
(the 10 s deadline passed), UNAVAILABLE (the stack is up, so a service fell over or gave up on a peer), or
RESOURCE_EXHAUSTED because the client refused the reply's metadata (an unbounded error). Each failure keeps
the exact bytes sent.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import message_factory, text_format
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor

from tests.fuzz.generate import Generator, Request

DEADLINE = 10.0
STREAM_LOOK_SECONDS = 1.0  # a stream still open after this long is working; the suite hangs up
NOTED = {"RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED"}
FAILING = {"INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED", "UNAVAILABLE"}


@dataclass(frozen=True)
class Rpc:
    service: str
    descriptor: ServiceDescriptor
    method: MethodDescriptor

    @property
    def name(self) -> str:
        return f"{self.descriptor.name}.{self.method.name}"

    @property
    def path(self) -> str:
        return f"/{self.descriptor.full_name}/{self.method.name}"


@dataclass(frozen=True)
class Outcome:
    code: str
    seconds: float
    details: str = ""


@dataclass
class Finding:
    rpc: str
    code: str
    details: str
    request: str


@dataclass
class Tally:
    codes: dict[str, Counter[str]] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)  # first details of unusual refusals
    max_loop_lag: float = 0.0

    def add(self, rpc: Rpc, request: Request, outcome: Outcome) -> None:
        self.codes.setdefault(rpc.name, Counter())[outcome.code] += 1
        self.slowest[rpc.name] = max(self.slowest.get(rpc.name, 0.0), outcome.seconds)
        if outcome.code in NOTED:
            self.notes.setdefault((rpc.name, outcome.code), outcome.details[:200])
        if is_failure(outcome) and len([f for f in self.findings if f.rpc == rpc.name]) < 5:
            self.findings.append(Finding(rpc.name, outcome.code, outcome.details[:300], describe(rpc, request)))

    @property
    def failures(self) -> int:
        return sum(n for c in self.codes.values() for code, n in c.items() if code in FAILING or code == "METADATA")

    def table(self, title: str) -> str:
        codes = sorted({code for c in self.codes.values() for code in c})
        width = max(len(name) for name in self.codes) if self.codes else 10
        lines = [title, f"{'rpc':<{width}} {'calls':>6} " + " ".join(f"{c[:12]:>12}" for c in codes) + "  max s"]
        for name in sorted(self.codes):
            counts = self.codes[name]
            row = " ".join(f"{counts.get(c, 0):>12}" for c in codes)
            lines.append(f"{name:<{width}} {sum(counts.values()):>6} {row}  {self.slowest[name]:5.2f}")
        total = Counter[str]()
        for counts in self.codes.values():
            total.update(counts)
        row = " ".join(f"{total.get(c, 0):>12}" for c in codes)
        lines.append(f"{'total':<{width}} {sum(total.values()):>6} {row}")
        lines.append(f"longest event-loop stall: {self.max_loop_lag:.2f} s")
        return "\n".join(lines)


def is_failure(outcome: Outcome) -> bool:
    return outcome.code in FAILING or outcome.code == "METADATA"


def describe(rpc: Rpc, request: Request) -> str:
    if not request.raw and len(request.payload) < 64 * 1024:
        cls = message_factory.GetMessageClass(rpc.method.input_type)
        text = text_format.MessageToString(cls.FromString(request.payload), as_one_line=True)
        return text[:600]
    return f"raw {len(request.payload)} bytes: {request.payload[:120].hex()}"


async def send(channel: grpc.aio.Channel, rpc: Rpc, request: Request, metadata: Any) -> Outcome:
    start = time.perf_counter()
    try:
        if rpc.method.server_streaming:
            call = channel.unary_stream(rpc.path)(request.payload, metadata=metadata, timeout=DEADLINE)
            try:
                async with asyncio.timeout(STREAM_LOOK_SECONDS):
                    await call.read()
                    code = await call.code()
            except TimeoutError:
                code = grpc.StatusCode.OK  # open and quiet: the stream works; hang up
            finally:
                call.cancel()
            if code != grpc.StatusCode.OK and code != grpc.StatusCode.CANCELLED:
                return Outcome(code.name, time.perf_counter() - start, await call.details() or "")
            return Outcome("OK", time.perf_counter() - start)
        await channel.unary_unary(rpc.path)(request.payload, metadata=metadata, timeout=DEADLINE)
        return Outcome("OK", time.perf_counter() - start)
    except grpc.aio.AioRpcError as exc:
        details = exc.details() or ""
        code = exc.code().name
        if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "metadata" in details:
            code = "METADATA"
        return Outcome(code, time.perf_counter() - start, details)


def generator(seed: int, rpc: Rpc, known: Mapping[str, Sequence[str]], *, huge: bool = True) -> Generator:
    """One generator per RPC, seeded from the run's seed and the RPC's name: the run repeats exactly."""
    return Generator(random.Random(f"{seed}:{rpc.name}"), known, huge=huge)


async def bombard(
    channels: Mapping[str, grpc.aio.Channel],
    rpcs: Sequence[Rpc],
    per_rpc: int,
    seed: int,
    known: Mapping[str, Sequence[str]],
    metadata: Any,
    *,
    concurrency: int = 32,
    tally: Tally | None = None,
) -> Tally:
    """`per_rpc` generated requests to each RPC, every RPC at once, at most `concurrency` in flight."""
    tally = tally or Tally()
    gate = asyncio.Semaphore(concurrency)

    async def one(rpc: Rpc, request: Request) -> None:
        async with gate:
            tally.add(rpc, request, await send(channels[rpc.service], rpc, request, metadata))

    async def drive(rpc: Rpc) -> None:
        gen = generator(seed, rpc, known)
        pending: set[asyncio.Task[None]] = set()
        for _ in range(per_rpc):
            task = asyncio.create_task(one(rpc, gen.request(rpc.method)))
            pending.add(task)
            task.add_done_callback(pending.discard)
            if len(pending) >= concurrency:
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            await asyncio.gather(*pending)

    lag = asyncio.create_task(_loop_lag(tally))
    try:
        await asyncio.gather(*(drive(rpc) for rpc in rpcs))
    finally:
        lag.cancel()
    return tally


async def _loop_lag(tally: Tally) -> None:
    """Services and client share this event loop: a stall here delays every call, so it is reported."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(0.1)
        tally.max_loop_lag = max(tally.max_loop_lag, loop.time() - start - 0.1)
