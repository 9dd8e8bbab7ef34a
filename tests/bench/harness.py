"""`make bench`: every row of issue 11 in one run, each baseline measured beside its scenario.

The services run as separate processes exactly as in production (`stack.py`); this process is the only
client, the same one for a scenario and its baseline. Rows, in the order they run:

- idle RSS and idle CPU of each service (from /proc, over a few seconds once every service has gone quiet
  after its start-up work: channels rebuilding its read model, the announcements; `settle_down`);
- empty RPC: grpc.health.v1/Check through inventory's server vs a bare grpc.aio server in its own process;
- GetAvailability of 1 SKU vs that empty RPC;
- Reserve of one hot SKU at 64 callers vs the raw asyncpg transaction (`raw_sql.py`) on 64 connections, and
  the sweep at 1 / 16 / 256 callers, each against the raw baseline at the same concurrency;
- Reserve spread over the spread SKUs vs the empty RPC;
- PlaceOrder at 1 / 16 / 64 / 256 callers, each vs the raw-SQL order transaction at the same concurrency;
  during the 64-caller run, the CPU of every process (services, PostgreSQL, NATS) per placed order and the
  delay until `orders.order.placed` is seen on NATS after the response;
- settlement consuming the paid-order events vs a raw JetStream pull consumer fetching and acking them.

Before each row the harness waits (bounded) until every durable consumer has caught up, so one row's
events are not consumed on the next row's time; what was still pending is recorded in the JSON.
Sizes scale with `scale` (1.0 = the full run, under five minutes; 0.02 = a smoke run of seconds). With
`profile`, py-spy records inventory during GetAvailability and orders during PlaceOrder at 64 callers.

Failure modes: a service that does not start fails the run (RuntimeError with its log); failed calls are
counted per status code in their row, never hidden in the latencies; a row that has no successful call
reports 0/s and is not met.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg
import nats
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.messaging import STREAMS
from rich.console import Console

from tests.bench import observed, procstat, report, settle
from tests.bench.load import Sample, drive
from tests.bench.profiling import Profile
from tests.bench.raw_sql import RawSql
from tests.bench.report import Row, sample_row
from tests.bench.stack import BenchStack
from tests.bench.world import World

SWEEP = (1, 16, 64, 256)
SMOKE_SWEEP = (1, 4, 8, 16)  # below scale 0.25: every row still runs, with fewer callers
# A service is quiet when it uses under this much of a core in each of this many one-second windows in a row
# (CPU is counted in 10 ms ticks: 3% is at most three of them; health checks and polls stay below).
QUIET_CPU_PCT = 3.5
QUIET_WINDOWS = 2
console = Console(width=200)


@dataclass(frozen=True)
class Sizes:
    scale: float
    seconds: float  # each main measurement
    sweep_seconds: float  # each other point of a sweep
    warmup: float
    idle_seconds: float
    spread_skus: int
    settle_orders: int
    settle_timeout: float
    quiesce_cap: float
    quiet_cap: float  # the longest the idle row waits for the services to go quiet
    profile_seconds: float
    callers: int  # the main concurrency of every row (64 in the full run)
    sweep: tuple[int, ...]

    @classmethod
    def for_scale(cls, scale: float, profile: bool = False) -> Sizes:
        return cls(
            scale=scale,
            seconds=max(0.05, 5.0 * scale),
            sweep_seconds=max(0.05, 3.0 * scale),
            warmup=max(0.02, 1.0 * scale),
            idle_seconds=max(0.2, 3.0 * scale),
            spread_skus=max(20, round(10_000 * scale)),
            settle_orders=max(20, round(10_000 * scale)),
            settle_timeout=max(30.0, 75.0 * scale),
            quiesce_cap=max(2.0, 20.0 * scale),
            quiet_cap=max(1.0, 60.0 * scale),
            profile_seconds=10.0 if profile else 0.0,
            callers=64 if scale >= 0.25 else 8,
            sweep=SWEEP if scale >= 0.25 else SMOKE_SWEEP,
        )


class Bench:
    def __init__(self, sizes: Sizes, out: Path, workdir: Path, only: tuple[str, ...] = ()) -> None:
        self.only = only  # step names to run (all when empty)
        self.sizes = sizes
        self.out = out
        self.stack = BenchStack(workdir)
        self.world = World()
        self.rows: list[Row] = []
        self.info: dict[str, Any] = {}
        self.profiles: list[dict[str, Any]] = []
        self.raw: RawSql | None = None
        self.nc: Any = None
        self.empty_rpc: Sample | None = None
        self.idle_cpu_pct: dict[str, float] = {}

    # --- plumbing -------------------------------------------------------------------------------------

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        console.print(f"  {row.path}: {row.rate} p50 {row.p50} p99 {row.p99} {row.baseline}")
        return row

    async def quiesce(self) -> dict[str, Any]:
        """Wait (bounded) until every durable consumer has nothing pending or unacknowledged."""
        js = self.nc.jetstream()
        began = time.perf_counter()
        backlog = 0
        while True:
            backlog = 0
            for stream in STREAMS.values():
                for info in await js.consumers_info(stream):
                    backlog += (info.num_pending or 0) + (info.num_ack_pending or 0)
            if backlog == 0 or time.perf_counter() - began > self.sizes.quiesce_cap:
                break
            await asyncio.sleep(0.2)
        return {"backlog_left": backlog, "waited_s": round(time.perf_counter() - began, 2)}

    async def measure(self, call: Any, callers: int, seconds: float, **kw: Any) -> Sample:
        await drive(call, min(callers, 16), self.sizes.warmup)
        return await drive(call, callers, seconds, **kw)

    def profile(self, name: str, service: str) -> Profile | None:
        if not self.sizes.profile_seconds:
            return None
        return Profile(name, self.stack.pid(service), self.sizes.profile_seconds, self.out.parent / "profiles")

    # --- rows -----------------------------------------------------------------------------------------

    async def settle_down(self, pids: dict[str, int]) -> dict[str, Any]:
        """Wait (at most `quiet_cap`) until the consumers have caught up and every service used under
        QUIET_CPU_PCT of a core in each of QUIET_WINDOWS one-second windows in a row. After start-up the services
        still work for a while (channels rebuilds its read model from inventory, channels announce themselves,
        the set-up's events are consumed): measured then, "idle" CPU said 53% for channels."""
        began = time.perf_counter()
        await self.quiesce()
        calm, busiest = 0, {n: 0.0 for n in pids}
        before = {n: procstat.cpu_seconds(p) for n, p in pids.items()}
        while calm < QUIET_WINDOWS and time.perf_counter() - began < self.sizes.quiet_cap:
            await asyncio.sleep(1.0)
            now = {n: procstat.cpu_seconds(p) for n, p in pids.items()}
            busiest = {n: 100 * (now[n] - before[n]) for n in pids}
            before = now
            calm = calm + 1 if max(busiest.values()) < QUIET_CPU_PCT else 0
        return {
            "quiet": calm >= QUIET_WINDOWS,
            "waited_s": round(time.perf_counter() - began, 1),
            "last_window_cpu_pct": {n: round(v, 1) for n, v in busiest.items()},
        }

    async def idle(self) -> None:
        pids = self.stack.service_pids()
        settled = await self.settle_down(pids)
        self.info["idle_settled"] = settled
        console.print(f"  quiet after {settled['waited_s']} s: {settled['quiet']}")
        before = {n: procstat.cpu_seconds(p) for n, p in pids.items()}
        await asyncio.sleep(self.sizes.idle_seconds)
        for name, pid in pids.items():
            rss_mb = procstat.rss_bytes(pid) / 2**20
            cpu_pct = 100 * (procstat.cpu_seconds(pid) - before[name]) / self.sizes.idle_seconds
            self.idle_cpu_pct[name] = cpu_pct
            self.add(
                Row(
                    key=f"idle.{name}",
                    path=f"idle {name}: RSS / CPU",
                    rate=f"{rss_mb:,.0f} MB",
                    p50=f"{cpu_pct:.1f}% CPU",
                    target="RSS < 150 MB",
                    met=rss_mb < 150,
                    figures={
                        "rss_mb": round(rss_mb, 1),
                        "cpu_pct": round(cpu_pct, 2),
                        "after_quiet_s": settled["waited_s"],
                        "quiet": settled["quiet"],
                    },
                )
            )

    async def empty_rpcs(self) -> None:
        request = health_pb2.HealthCheckRequest(service="")
        service = health_pb2_grpc.HealthStub(self.stack.channel("inventory"))
        bare = health_pb2_grpc.HealthStub(self.stack.channel("bare"))
        now = await self.measure(lambda i: service.Check(request), self.sizes.callers, self.sizes.seconds)
        base = await self.measure(lambda i: bare.Check(request), self.sizes.callers, self.sizes.seconds)
        self.empty_rpc = now
        row = sample_row("empty_rpc", "empty RPC (health/Check via inventory)", now, base, "bare grpc.aio health")
        row.target, row.met = "≥ 0.7x", (row.ratio or 0) >= 0.7
        self.add(row)

    async def get_availability(self) -> None:
        inventory, admin, skus = self.stack.stub("inventory"), self.stack.admin, self.world.spread

        def call(i: int) -> Any:
            return inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[skus[i % len(skus)]]), metadata=admin)

        spy = self.profile("inventory-GetAvailability", "inventory")
        seconds = max(self.sizes.seconds, self.sizes.profile_seconds)
        now = await self.measure(call, self.sizes.callers, seconds)
        if spy is not None:
            self.profiles.append(spy.summary())
        row = sample_row("get_availability", "GetAvailability, 1 SKU", now, self.empty_rpc, "empty RPC")
        row.target, row.met = "≥ 0.6x", (row.ratio or 0) >= 0.6
        self.add(row)

    async def reserve_hot(self) -> None:
        inventory, admin, sku = self.stack.stub("inventory"), self.stack.admin, self.world.hot_sku
        assert self.raw is not None
        for callers in (self.sizes.callers, *[c for c in self.sizes.sweep if c != self.sizes.callers]):
            tag = uuid.uuid4().hex[:8]

            def call(i: int, tag: str = tag) -> Any:
                request = ipb.ReserveRequest(request_id=f"hot-{tag}-{i}", lines=[ipb.ReserveLine(sku=sku, quantity=1)])
                return inventory.Reserve(request, metadata=admin)

            settled = await self.quiesce()
            seconds = self.sizes.seconds if callers == self.sizes.callers else self.sizes.sweep_seconds
            now = await self.measure(call, callers, seconds)
            await self.raw.open(callers)
            base = await self.measure(lambda i: self.raw.reserve(self.world.hot_sku), callers, seconds)  # type: ignore[union-attr]
            await self.raw.close()
            row = sample_row(
                f"reserve_hot.{callers}",
                f"Reserve, one hot SKU, {callers} callers",
                now,
                base,
                f"raw asyncpg tx ({min(callers, 64)} conns)",
                quiesce=settled,
            )
            if callers == self.sizes.callers:
                row.target = "≥ 4x, p99 < 25 ms"
                row.met = (row.ratio or 0) >= 4 and 0 < now.p99_ms < 25
            self.add(row)

    async def reserve_spread(self) -> None:
        inventory, admin, skus = self.stack.stub("inventory"), self.stack.admin, self.world.spread
        tag = uuid.uuid4().hex[:8]

        def call(i: int) -> Any:
            line = ipb.ReserveLine(sku=random.choice(skus), quantity=1)
            return inventory.Reserve(ipb.ReserveRequest(request_id=f"spread-{tag}-{i}", lines=[line]), metadata=admin)

        settled = await self.quiesce()
        now = await self.measure(call, self.sizes.callers, self.sizes.seconds)
        row = sample_row(
            "reserve_spread",
            f"Reserve, spread over {len(skus):,} SKUs",
            now,
            self.empty_rpc,
            "empty RPC",
            quiesce=settled,
        )
        row.target, row.met = "≥ 0.6x", (row.ratio or 0) >= 0.6
        self.add(row)

    async def place_orders(self) -> None:
        orders, admin, world = self.stack.stub("orders"), self.stack.admin, self.world
        assert self.raw is not None
        for callers in self.sizes.sweep:
            tag = f"B{uuid.uuid4().hex[:8]}"

            def call(i: int, tag: str = tag) -> Any:
                return orders.PlaceOrder(world.place_request(tag, i, random.choice(world.spread)), metadata=admin)

            settled = await self.quiesce()
            seconds = self.sizes.seconds if callers == self.sizes.callers else self.sizes.sweep_seconds
            extra: dict[str, Any] = {"quiesce": settled}
            if callers == self.sizes.callers:
                now, cpu_row, event_row = await observed.place_orders_observed(self, call, seconds, extra)
            else:
                now = await self.measure(call, callers, seconds)
            await self.raw.open(callers)
            raw_tag = uuid.uuid4().hex[:8]
            base = await self.measure(
                lambda i, raw_tag=raw_tag: self.raw.place_order(  # type: ignore[union-attr]
                    world.channel, f"{raw_tag}-{i}", [(random.choice(world.spread), 1, 1999)]
                ),
                callers,
                seconds,
            )
            await self.raw.close()
            row = sample_row(
                f"place_order.{callers}",
                f"PlaceOrder, {callers} callers",
                now,
                base,
                f"raw-SQL order tx ({min(callers, 64)} conns)",
                **extra,
            )
            ratio = row.ratio or 0
            if callers == 1:
                row.target, row.met = "p50 < 10 ms", 0 < now.p50_ms < 10
            elif callers < max(self.sizes.sweep):
                row.target, row.met = "≥ 0.35x, p99 < 100 ms", ratio >= 0.35 and 0 < now.p99_ms < 100
            else:  # 256 callers: p99 < 100 ms would need > 2,560/s (Little's law), so only the ratio
                row.target, row.met = "≥ 0.35x", ratio >= 0.35
            self.add(row)
            if callers == self.sizes.callers:
                self.add(cpu_row)
                self.add(event_row)

    async def settlement(self) -> None:
        await settle.settlement(self)

    async def lay_out(self) -> None:
        """The warehouse and its stock, then the channel. Stocking every SKU publishes one
        inventory.stock.changed per SKU, which channels and dealers would take minutes to consume (their
        share of each order's cost is measured in the PlaceOrder rows, not here): they start only once the
        relay has published the set-up's stock events and those have been purged from the INVENTORY stream,
        so every row starts with nothing pending. The location event stays, so they know the warehouse."""
        steps: dict[str, float] = {}
        began = time.perf_counter()

        def step(name: str) -> None:
            nonlocal began
            steps[name] = round(time.perf_counter() - began, 2)
            began = time.perf_counter()

        js = self.nc.jetstream()
        published = (await js.stream_info("INVENTORY")).state.messages
        await self.world.stock_up(self.stack, self.sizes.spread_skus)
        step("location_and_stock")
        expected, deadline = published + 2 + self.sizes.spread_skus, time.monotonic() + 120
        while (await js.stream_info("INVENTORY")).state.messages < expected and time.monotonic() < deadline:  # noqa: ASYNC110 - polls the server
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # the relay's last batch
        await js.purge_stream("INVENTORY", subject="inventory.stock.changed")
        step("relay_published")
        await self.stack.start_services("channels", "dealers")
        step("start_channels_dealers")
        await self.world.open_channel(self.stack)
        step("channel")
        self.info["setup_quiesce"] = await self.quiesce()
        step("quiesce")
        self.info["setup_steps_s"] = steps

    # --- the run --------------------------------------------------------------------------------------

    async def versions(self) -> dict[str, Any]:
        conn = await asyncpg.connect(self.stack.database_url)
        try:
            pg_version = await conn.fetchval("SHOW server_version")
            fsync, sync_commit = await conn.fetchval("SHOW fsync"), await conn.fetchval("SHOW synchronous_commit")
        finally:
            await conn.close()
        return {
            "python": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "postgresql": pg_version,
            "postgresql_fsync": fsync,
            "postgresql_synchronous_commit": sync_commit,
            "nats_server": self.nc._server_info.get("version", ""),
            "grpcio": version("grpcio"),
            "nats_py": version("nats-py"),
            "asyncpg": version("asyncpg"),
        }

    async def run(self) -> list[Row]:
        started = time.perf_counter()
        self.info["machine"] = procstat.machine()
        self.info["sizes"] = self.sizes.__dict__
        self.info["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            with console.status("starting PostgreSQL, NATS and the five services"):
                await asyncio.to_thread(self.stack.start_infra)
                self.info["infra_s"] = round(time.perf_counter() - started, 1)
                # The bare server starts beside the services (it is measured only later).
                await asyncio.gather(
                    self.stack.start_services("orders", "inventory", "settlement"), self.stack.start_bare()
                )
                self.info["services_s"] = round(time.perf_counter() - started, 1)
                self.nc = await nats.connect(self.stack.nats.url)
                self.info["versions"] = await self.versions()
            with console.status(f"laying out {self.sizes.spread_skus:,} SKUs"):
                await self.lay_out()
                self.raw = RawSql(self.stack.database_url)
                await self.raw.setup(self.world.hot_sku, self.world.spread, 1_000_000)
            self.info["setup_s"] = round(time.perf_counter() - started, 1)
            for step in (
                self.idle,
                self.empty_rpcs,
                self.get_availability,
                self.reserve_hot,
                self.reserve_spread,
                self.place_orders,
                self.settlement,
            ):
                if self.only and step.__name__ not in self.only:
                    continue
                console.print(f"[bold]{step.__name__}[/bold]")
                await step()
        finally:
            if self.raw is not None:
                await self.raw.close()
            if self.nc is not None:
                await self.nc.close()
            await self.stack.close()
        self.info["profiles"] = self.profiles
        self.info["total_s"] = round(time.perf_counter() - started, 1)
        self.info["machine"]["loadavg_at_end"] = os.getloadavg()  # other work on the box skews every figure
        report.write(self.out, self.rows, self.info)
        return self.rows


def title(info: dict[str, Any]) -> str:
    m, v = info["machine"], info.get("versions", {})
    return (
        f"OnePool bench — {m['cores']} cores {m['cpu_model']}, {m['memory_mb']:,} MB; Python {v.get('python')}, "
        f"PostgreSQL {v.get('postgresql')} (fsync {v.get('postgresql_fsync')}), NATS {v.get('nats_server')}; "
        f"{info['total_s']} s"
    )


async def run(
    scale: float, out: Path, profile: bool = False, only: tuple[str, ...] = ()
) -> tuple[list[Row], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="onepool-bench-") as tmp:
        bench = Bench(Sizes.for_scale(scale, profile), out, Path(tmp), only)
        try:
            rows = await bench.run()
        finally:  # the services' logs outlive the throwaway data directory, next to the results
            if bench.stack.logs.exists():
                shutil.copytree(bench.stack.logs, out.parent / "logs", dirs_exist_ok=True)
    report.show(rows, title(bench.info), console)
    for p in bench.profiles:
        console.print(f"\n[bold]py-spy: {p['name']}[/bold] ({p.get('samples', 0)} samples) {p.get('error', '')}")
        for heading, key in (
            ("by component", "components_pct"),
            ("own + child time", "inclusive_pct"),
            ("own time", "own_pct"),
        ):
            console.print(f" {heading}:")
            for frame, pct in p.get(key, [])[:15]:
                console.print(f"  {pct:5.1f}%  {frame}", markup=False, highlight=False)
    console.print(f"written: {out}")
    return rows, bench.info
