"""CPU per call of the runtime's hot paths, read from /proc: what a change to the runtime saves, measured in a
way a loaded machine does not distort (throughput and latency do; CPU seconds per call hardly).

`python -m tests.bench.cpu_per_call [--calls 2000] [--callers 16] [--rounds 3] [--env ONEPOOL_X=y ...]`

Starts PostgreSQL, NATS, inventory, orders and channels as production processes (`stack.py`, with the extra
environment given), lays out one warehouse, 500 SKUs and a channel, then for each path runs `calls` calls from
`callers` concurrent callers `rounds` times and prints the median CPU milliseconds per call of each process
involved (the client is this process and is not counted):

- health/Check through inventory's server, and through the bare grpc.aio server of `bare_health.py` (the
  empty-RPC baseline of `make bench`, in its own process);
- GetAvailability of 1 SKU (inventory);
- Reserve of one hot SKU, and Reserve spread over the 500 SKUs (inventory and PostgreSQL; each call reserves
  one unit with its own request id);
- PlaceOrder (orders, inventory, PostgreSQL's whole tree, NATS; the consumers' share is left out, only
  channels consumes here).

`--paths health,reserve_hot` measures only those (names as in the JSON: health, bare_health,
get_availability, reserve_hot, reserve_spread, place_order); `--profile SECONDS` py-spies inventory during
GetAvailability and each Reserve path, and orders and inventory during PlaceOrder.

Failure modes: a service that does not start raises RuntimeError naming its log; a failed call counts in the
"errors" column and is not divided into the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import contextlib

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as ipb

from tests.bench import procstat
from tests.bench.profiling import Profile
from tests.bench.stack import BenchStack
from tests.bench.world import World
from tests.support.channels import wait_until_orders_knows


class _Stack(BenchStack):
    def __init__(self, workdir: Path, extra: dict[str, str]) -> None:
        super().__init__(workdir)
        self.extra = extra

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.extra}


async def _run(call: Any, calls: int, callers: int) -> Counter[str]:
    errors: Counter[str] = Counter()
    numbers = iter(range(calls))

    async def caller() -> None:
        for i in numbers:
            try:
                await call(i)
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1

    await asyncio.gather(*(caller() for _ in range(callers)))
    return errors


async def _measure(name: str, call: Any, pids: dict[str, int], calls: int, callers: int, rounds: int) -> dict[str, Any]:
    await _run(call, max(50, calls // 10), callers)  # warm-up: connections, caches, prepared statements
    per_round: dict[str, list[float]] = {n: [] for n in pids}
    errors: Counter[str] = Counter()
    for _ in range(rounds):
        before = {n: _cpu(n, p) for n, p in pids.items()}
        errors += await _run(call, calls, callers)
        for n, p in pids.items():
            per_round[n].append(1000 * (_cpu(n, p) - before[n]) / calls)
    result = {n: round(statistics.median(v), 3) for n, v in per_round.items()}
    print(f"{name}: CPU ms per call {json.dumps(result)} errors {dict(errors)}", flush=True)
    return {"cpu_ms_per_call": result, "errors": dict(errors)}


def _cpu(name: str, pid: int) -> float:
    return procstat.tree_cpu_seconds(pid) if name == "postgres" else procstat.cpu_seconds(pid)


async def _profile(name: str, pid: int, call: Any, callers: int, seconds: float, out_dir: Path) -> None:
    """py-spy one process while `call` runs for about `seconds`; prints where its time goes."""
    spy = Profile(name, pid, seconds, out_dir)
    await _run_for(call, callers, seconds + 1)
    summary = spy.summary(25)
    print(f"py-spy {name} ({summary.get('samples', 0)} samples) {summary.get('error', '')}")
    for heading, key in (("by component", "components_pct"), ("own + child", "inclusive_pct"), ("own", "own_pct")):
        print(f" {heading}:")
        for frame, pct in summary.get(key, []):
            print(f"  {pct:5.1f}%  {frame}")


async def _event_delay(stack: BenchStack, place: Any, calls: int, callers: int) -> dict[str, float]:
    """p50/p99 of the delay from each PlaceOrder response to its orders.order.placed on NATS (0 if before)."""
    import nats
    from onepool.orders.v1 import events_pb2 as oev

    from tests.bench.load import percentile

    seen: dict[str, float] = {}
    answered: dict[str, float] = {}
    nc = await nats.connect(stack.nats.url)

    async def on_event(msg: Any) -> None:
        seen.setdefault(oev.OrderPlaced.FromString(msg.data).order.id, time.perf_counter())

    sub = await nc.subscribe("orders.order.placed", cb=on_event)

    async def timed(i: int) -> None:
        reply = await place(i)
        answered[reply.order.id] = time.perf_counter()

    try:
        await _run(timed, calls, callers)
        await asyncio.sleep(2.0)  # stragglers
    finally:
        await sub.unsubscribe()
        await nc.close()
    delays = [max(0.0, seen[o] - t) for o, t in answered.items() if o in seen]
    return {
        "orders": len(answered),
        "missing": len(answered) - len(delays),
        "p50": round(1000 * percentile(delays, 50), 1),
        "p99": round(1000 * percentile(delays, 99), 1),
    }


async def _run_for(call: Any, callers: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    numbers = iter(range(10**9))

    async def caller() -> None:
        for i in numbers:
            if loop.time() > deadline:
                return
            with contextlib.suppress(grpc.aio.AioRpcError):
                await call(i)

    await asyncio.gather(*(caller() for _ in range(callers)))


PATHS = ("health", "bare_health", "get_availability", "reserve_hot", "reserve_spread", "place_order")


async def measure(
    calls: int,
    callers: int,
    rounds: int,
    extra: dict[str, str],
    profile: float = 0.0,
    out_dir: Path | None = None,
    paths: tuple[str, ...] = PATHS,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="onepool-cpu-") as tmp:
        stack = _Stack(Path(tmp), extra)
        try:
            await asyncio.to_thread(stack.start_infra)
            await stack.start_services("inventory", "orders", "channels")
            world = World()
            await world.stock_up(stack, 500)
            await world.open_channel(stack)
            await wait_until_orders_knows(stack.stub("orders"), stack.admin, world.channel, within=60)
            inventory, orders, admin = stack.stub("inventory"), stack.stub("orders"), stack.admin
            health = health_pb2_grpc.HealthStub(stack.channel("inventory"))
            check = health_pb2.HealthCheckRequest(service="")
            pids = stack.service_pids()
            tag = world.run
            spies = out_dir or Path(tmp) / "profiles"
            inventory_pg = {"inventory": pids["inventory"], "postgres": stack.pg.proc.pid}  # type: ignore[union-attr]
            results: dict[str, Any] = {}

            def available(i: int) -> Any:
                request = ipb.GetAvailabilityRequest(skus=[world.spread[i % len(world.spread)]])
                return inventory.GetAvailability(request, metadata=admin)

            def reserve(sku_of: Any, name: str) -> Any:
                def call(i: int) -> Any:
                    line = ipb.ReserveLine(sku=sku_of(i), quantity=1)
                    request = ipb.ReserveRequest(request_id=f"cpu-{name}-{tag}-{i}-{os.urandom(3).hex()}", lines=[line])
                    return inventory.Reserve(request, metadata=admin)

                return call

            def place(i: int) -> Any:
                sku = world.spread[i % len(world.spread)]
                return orders.PlaceOrder(
                    world.place_request(f"cpu-{tag}-{i}-{os.urandom(3).hex()}", i, sku), metadata=admin
                )

            if "health" in paths:
                results["health"] = await _measure(
                    "health/Check",
                    lambda i: health.Check(check),
                    {"inventory": pids["inventory"]},
                    calls,
                    callers,
                    rounds,
                )
            if "bare_health" in paths:
                await stack.start_bare()
                bare = health_pb2_grpc.HealthStub(stack.channel("bare"))
                results["bare_health"] = await _measure(
                    "bare health/Check",
                    lambda i: bare.Check(check),
                    {"bare": stack.pid("bare")},
                    calls,
                    callers,
                    rounds,
                )
            if "get_availability" in paths:
                if profile:
                    await _profile("inventory-GetAvailability", pids["inventory"], available, callers, profile, spies)
                results["get_availability"] = await _measure(
                    "GetAvailability", available, inventory_pg, calls, callers, rounds
                )
            for name, sku_of in (
                ("reserve_hot", lambda i: world.hot_sku),
                ("reserve_spread", lambda i: world.spread[(i * 7919) % len(world.spread)]),
            ):
                if name in paths:
                    call = reserve(sku_of, name)
                    if profile:
                        await _profile(f"inventory-{name}", pids["inventory"], call, callers, profile, spies)
                    results[name] = await _measure(name, call, inventory_pg, calls, callers, rounds)
            if "place_order" in paths:
                if profile:
                    await _profile("orders-PlaceOrder", pids["orders"], place, callers, profile, spies)
                    await _profile("inventory-PlaceOrder", pids["inventory"], place, callers, profile, spies)
                results["place_order"] = await _measure(
                    "PlaceOrder",
                    place,
                    {
                        "orders": pids["orders"],
                        "inventory": pids["inventory"],
                        "postgres": stack.pg.proc.pid,  # type: ignore[union-attr]
                        "nats": stack.nats.proc.pid,  # type: ignore[union-attr]
                    },
                    max(1, calls // 4),
                    callers,
                    rounds,
                )
                results["placed_event_delay_ms"] = await _event_delay(stack, place, max(1, calls // 4), callers)
                print(f"orders.order.placed seen after the response: {json.dumps(results['placed_event_delay_ms'])}")
            return results
        finally:
            await stack.close()


def main(
    calls: Annotated[int, typer.Option(help="Calls per round (PlaceOrder makes a quarter of them).")] = 2000,
    callers: Annotated[int, typer.Option(help="Concurrent callers.")] = 16,
    rounds: Annotated[int, typer.Option(help="Rounds; the median is reported.")] = 3,
    env: Annotated[list[str] | None, typer.Option(help="KEY=VALUE given to every service process.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the figures as JSON here.")] = None,
    profile: Annotated[float, typer.Option(help="Seconds of py-spy on inventory and orders (0: none).")] = 0.0,
    paths: Annotated[str, typer.Option(help="Comma-separated paths to measure (default: all).")] = ",".join(PATHS),
) -> None:
    """Median CPU milliseconds per call of health/Check, GetAvailability and PlaceOrder, per process."""
    extra = dict(item.split("=", 1) for item in env or [])
    profiles = out.parent / "profiles" if out is not None else None
    chosen = tuple(p.strip() for p in paths.split(",") if p.strip())
    unknown = sorted(set(chosen) - set(PATHS))
    if unknown:
        raise typer.BadParameter(f"unknown paths {unknown}; choose from {', '.join(PATHS)}")
    results = asyncio.run(measure(calls, callers, rounds, extra, profile, profiles, chosen))
    if out is not None:
        out.write_text(json.dumps({"env": extra, "calls": calls, "callers": callers, **results}, indent=2))


if __name__ == "__main__":
    typer.run(main)
