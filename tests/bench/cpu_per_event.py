"""CPU the event consumers of dealers and channels spend per placed order, read from /proc.

`python -m tests.bench.cpu_per_event [--orders 1000] [--callers 16] [--rounds 3] [--env ONEPOOL_X=y ...]
[--backlog] [--profile SECONDS]`

Starts PostgreSQL, NATS, inventory, orders, channels and dealers as production processes (`stack.py`), lays
out one warehouse, 500 SKUs and a channel, lets every consumer catch up, then each round places `orders`
orders from `callers` concurrent callers, waits until the consumers of dealers and channels have nothing
pending or unacknowledged, and prints the median CPU milliseconds per placed order of each of the two
processes (what their consumers do: dealers reads inventory's and orders' events, channels inventory's) and
how many events each consumed per order. The services' own idle work (health checks, polls) is measured for
ten seconds first and also printed taken off each round (`less_idle_ms_per_order`): on a loaded machine a
round lasts long enough for it to matter.

`--backlog` stops (SIGSTOP) dealers and channels while each round's orders are placed and measures their
catch-up: the consumers then meet full batches, as they do whenever orders come faster than a fetch's
linger, whatever this machine manages to place.

`--profile SECONDS` runs py-spy on dealers and on channels during an extra round and prints where the time
goes.

Failure modes: a service that does not start raises RuntimeError naming its log; consumers that do not
catch up within two minutes raise TimeoutError.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import nats

from tests.bench import procstat
from tests.bench.cpu_per_call import _profile, _run, _Stack
from tests.bench.world import World
from tests.support.channels import wait_until_orders_knows

# (stream, durable) of every consumer measured, by the process it runs in.
CONSUMERS = {
    "dealers": [("INVENTORY", "dealers-inventory-view"), ("ORDERS", "dealers-orders-view")],
    "channels": [("INVENTORY", "channels-stock-feed")],
}
CATCH_UP_SECONDS = 120.0
IDLE_SECONDS = 10.0


async def _consumed(js: Any, service: str) -> tuple[int, int]:
    """(messages acknowledged so far, messages pending or unacknowledged) over the service's consumers."""
    done = waiting = 0
    for stream, durable in CONSUMERS[service]:
        info = await js.consumer_info(stream, durable)
        done += int(info.ack_floor.consumer_seq or 0)
        waiting += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    return done, waiting


async def _caught_up(js: Any) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_SECONDS
    while True:
        counts = {s: await _consumed(js, s) for s in CONSUMERS}
        if all(waiting == 0 for _, waiting in counts.values()):
            return {s: done for s, (done, _) in counts.items()}
        if loop.time() > deadline:
            raise TimeoutError(f"consumers did not catch up: {counts}")
        await asyncio.sleep(0.1)


async def measure(
    orders: int,
    callers: int,
    rounds: int,
    extra: dict[str, str],
    profile: float = 0.0,
    out_dir: Path | None = None,
    backlog: bool = False,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="onepool-cpu-event-") as tmp:
        stack = _Stack(Path(tmp), extra)
        nc = None
        try:
            await asyncio.to_thread(stack.start_infra)
            await stack.start_services("inventory", "orders", "channels", "dealers")
            world = World()
            await world.stock_up(stack, 500)
            await world.open_channel(stack)
            await wait_until_orders_knows(stack.stub("orders"), stack.admin, world.channel, within=60)
            nc = await nats.connect(stack.nats.url)
            js = nc.jetstream()
            pids = {s: stack.service_pids()[s] for s in CONSUMERS}
            stub, admin, tag = stack.stub("orders"), stack.admin, world.run

            def place(i: int) -> Any:
                sku = world.spread[i % len(world.spread)]
                request = world.place_request(f"evt-{tag}-{i}-{os.urandom(3).hex()}", i, sku)
                return stub.PlaceOrder(request, metadata=admin)

            await _run(place, max(50, orders // 10), callers)  # warm-up
            await _caught_up(js)
            loop = asyncio.get_running_loop()
            # What the processes spend with nothing to consume (polls, health checks), per second: taken off
            # each round's CPU, which on a loaded machine lasts long enough for it to matter.
            idle_cpu = {s: procstat.cpu_seconds(p) for s, p in pids.items()}
            idle_started = loop.time()
            await asyncio.sleep(IDLE_SECONDS)
            idle = {s: (procstat.cpu_seconds(p) - idle_cpu[s]) / (loop.time() - idle_started) for s, p in pids.items()}
            per_round: dict[str, list[float]] = {s: [] for s in CONSUMERS}
            net: dict[str, list[float]] = {s: [] for s in CONSUMERS}
            events: dict[str, list[float]] = {s: [] for s in CONSUMERS}
            rates: list[float] = []
            failed = 0
            for _ in range(rounds):
                before = await _caught_up(js)
                if backlog:  # the consumers sleep while the orders are placed, then catch up
                    for p in pids.values():
                        os.kill(p, signal.SIGSTOP)
                try:
                    before_cpu = {s: procstat.cpu_seconds(p) for s, p in pids.items()}
                    started = loop.time()
                    errors = await _run(place, orders, callers)
                    rates.append(orders / (loop.time() - started))
                    failed += sum(errors.values())
                finally:
                    for p in pids.values():
                        os.kill(p, signal.SIGCONT)
                if backlog:
                    started = loop.time()  # counting only the catch-up's idle time
                after = await _caught_up(js)
                took = loop.time() - started
                placed = max(orders - sum(errors.values()), 1)
                for s, p in pids.items():
                    spent = procstat.cpu_seconds(p) - before_cpu[s]
                    per_round[s].append(1000 * spent / placed)
                    net[s].append(1000 * (spent - idle[s] * took) / placed)
                    events[s].append((after[s] - before[s]) / placed)
            result = {
                s: {
                    "cpu_ms_per_order": round(statistics.median(per_round[s]), 3),
                    "less_idle_ms_per_order": round(statistics.median(net[s]), 3),
                    "idle_ms_per_second": round(1000 * idle[s], 1),
                    "events_per_order": round(statistics.median(events[s]), 2),
                }
                for s in CONSUMERS
            }
            rate = round(statistics.median(rates), 1)
            print(f"consumers: {json.dumps(result)} orders/s {rate} failed calls {failed}", flush=True)
            if profile:
                spies = out_dir or Path(tmp) / "profiles"
                for s, p in pids.items():
                    await _profile(f"{s}-consumers", p, place, callers, profile, spies)
            return {"consumers": result, "orders_per_second": rate, "backlog": backlog, "failed_calls": failed}
        finally:
            if nc is not None:
                await nc.close()
            await stack.close()


def main(
    orders: Annotated[int, typer.Option(help="Orders placed per round.")] = 1000,
    callers: Annotated[int, typer.Option(help="Concurrent callers.")] = 16,
    rounds: Annotated[int, typer.Option(help="Rounds; the median is reported.")] = 3,
    env: Annotated[list[str] | None, typer.Option(help="KEY=VALUE given to every service process.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the figures as JSON here.")] = None,
    profile: Annotated[float, typer.Option(help="Seconds of py-spy on dealers and channels (0: none).")] = 0.0,
    backlog: Annotated[
        bool, typer.Option(help="Stop dealers and channels while placing; measure the catch-up.")
    ] = False,
) -> None:
    """Median CPU milliseconds per placed order of the dealers and channels processes (their consumers)."""
    extra = dict(item.split("=", 1) for item in env or [])
    profiles = out.parent / "profiles" if out is not None else None
    results = asyncio.run(measure(orders, callers, rounds, extra, profile, profiles, backlog))
    if out is not None:
        out.write_text(json.dumps({"env": extra, "orders": orders, "callers": callers, **results}, indent=2))


if __name__ == "__main__":
    typer.run(main)
