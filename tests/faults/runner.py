"""One fault run: stock a run's SKUs, start the workload, inject the fault mid-way, let the system settle,
check the invariants, and report one row of the table.

Faults:
- `kill9-<service>`: SIGKILL, one second down, restarted.
- `postgres-restart`: immediate shutdown (SIGQUIT to the postmaster, as `pg_ctl stop -m immediate`), three
  seconds down, started again (crash recovery).
- `nats-restart`: nats-server SIGKILLed, two seconds down, restarted on the same port and store directory.
- `relay-crash`: orders restarted before the workload with `fault_relay_exit_after`; its outbox relay exits
  the process between the PubAcks and the mark, mid-workload; the supervisor restarts it without the hook.
- `consumer-crash`: settlement restarted with `fault_consumer_exit_after`; a consumer exits the process
  after its commit and before its ack, mid-workload; restarted without the hook.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from onepool_runtime.faults import FAULT_EXIT_CODE

from tests.faults.invariants import check_run, dead_letters, wait_quiet
from tests.faults.supervisor import SERVICE_NAMES, FaultStack
from tests.faults.workload import Client, Driver, Stats, World, new_tag, prepare_run

INJECT_AT = 0.4  # share of the orders started before the fault
SETTLE_SECONDS = 120.0
RECOVERY_TIMEOUT = 240.0  # a Python service restarting on a loaded 2-core machine can take a minute


@dataclass(frozen=True)
class Fault:
    name: str
    # Injects the fault and returns when it happened (loop time): a self-inflicted exit happens later.
    inject: Callable[[FaultStack], Awaitable[float]]
    arm: Callable[[FaultStack, int], Awaitable[None]] | None = None


def kill9(service: str) -> Fault:
    async def inject(stack: FaultStack) -> float:
        at = asyncio.get_running_loop().time()
        await stack.kill9(service)
        await asyncio.sleep(1.0)
        await stack.start_service(service, wait=False)
        return at

    return Fault(f"kill9-{service}", inject)


async def _postgres_restart(stack: FaultStack) -> float:
    at = asyncio.get_running_loop().time()
    await stack.pg_immediate_stop()
    await asyncio.sleep(3.0)
    await stack.pg_start()
    return at


async def _nats_restart(stack: FaultStack) -> float:
    at = asyncio.get_running_loop().time()
    await stack.nats_kill9()
    await asyncio.sleep(2.0)
    await stack.nats_start()
    return at


def self_exit(name: str, service: str, setting: str, per_order: float) -> Fault:
    """A fault hook that makes `service` exit by itself after about `per_order` x orders events/commits."""

    async def arm(stack: FaultStack, orders: int) -> None:
        await stack.restart_with(service, {setting: str(max(1, int(orders * per_order)))})

    async def inject(stack: FaultStack) -> float:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECOVERY_TIMEOUT
        while True:
            for s, code, at in stack.restarted_after_exit:
                if s == service and code == FAULT_EXIT_CODE:
                    return at
            if loop.time() > deadline:
                raise AssertionError(f"{name}: the fault hook never fired")
            await asyncio.sleep(0.1)

    return Fault(name, inject, arm)


async def _nothing(stack: FaultStack) -> float:
    """The control run: the same workload with no fault, so a failure here is not the fault's doing."""
    return asyncio.get_running_loop().time()


FAULTS = [
    Fault("none", _nothing),
    *(kill9(name) for name in SERVICE_NAMES),
    Fault("postgres-restart", _postgres_restart),
    Fault("nats-restart", _nats_restart),
    self_exit("relay-crash", "orders", "ONEPOOL_FAULT_RELAY_EXIT_AFTER", 0.3),
    self_exit("consumer-crash", "settlement", "ONEPOOL_FAULT_CONSUMER_EXIT_AFTER", 0.3),
]
BY_NAME = {f.name: f for f in FAULTS}


@dataclass
class Row:
    fault: str
    orders: int
    ok_calls: int
    errors: Counter[str]
    violations: list[str]
    dead_letters: dict[str, int]
    recover_seconds: float
    settle_seconds: float
    workload_seconds: float = 0.0
    internal: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations and not self.dead_letters and not self.internal and not self.notes

    def explain(self) -> str:
        lines = [format_table([self])]
        lines += [f"violation: {v}" for v in self.violations[:40]]
        if len(self.violations) > 40:
            lines.append(f"... and {len(self.violations) - 40} more violations")
        lines += [f"dead letters: {self.dead_letters}"] if self.dead_letters else []
        lines += [f"internal: {i}" for i in self.internal[:10]]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


async def run_fault(stack: FaultStack, world: World, fault: Fault, orders: int, *, seed: int = 7) -> Row:
    stats = Stats()
    client = Client(stack, stats)
    notes: list[str] = []
    try:
        dlq_before = await dead_letters(stack)
        run = await prepare_run(client, world, new_tag("F"))
        if fault.arm is not None:
            await fault.arm(stack, orders)
        setup_calls = stats.calls["OK"]
        driver = Driver(client, world, run, seed=seed)
        loop = asyncio.get_running_loop()
        began = loop.time()
        driving = asyncio.create_task(driver.drive(orders))
        while driver.started < orders * INJECT_AT and not driving.done():  # noqa: ASYNC110 - polled progress
            await asyncio.sleep(0.05)
        if driving.done():
            notes.append("the workload ended before the fault was injected")
        try:
            injected = await fault.inject(stack)
            await stack.wait_serving(within=RECOVERY_TIMEOUT)
            recover = loop.time() - injected
            await driving
        finally:
            if not driving.done():  # the run failed: stop its callers before the next run starts
                driving.cancel()
                await asyncio.gather(driving, return_exceptions=True)
        workload = loop.time() - began
        settled = await wait_quiet(stack, client, world, run, SETTLE_SECONDS)
        if not settled.quiet:
            notes.append(f"not quiet after {SETTLE_SECONDS:.0f}s: {settled.waiting_for[:5]}")
        violations = await check_run(client, world, run, stack)
        dlq_after = await dead_letters(stack)
        new_dead = {k: n - dlq_before.get(k, 0) for k, n in dlq_after.items() if n > dlq_before.get(k, 0)}
        notes += [f"replay: {m}" for m in stats.mismatched_replays[:10]]
        errors = Counter({k: v for k, v in stats.attempt_errors.items()})
        for reason, n in stats.flow_errors.items():
            errors[f"flow {reason}"] += n
        return Row(
            fault=fault.name,
            orders=len(run.placed),
            ok_calls=stats.calls["OK"] - setup_calls,
            errors=errors,
            violations=violations,
            dead_letters=new_dead,
            recover_seconds=recover,
            settle_seconds=settled.seconds,
            workload_seconds=workload,
            internal=stats.internal,
            notes=notes,
        )
    finally:
        await client.close()


RESULTS: list[Row] = []  # every run of this session, for the table printed at the end (see conftest)


def format_table(rows: list[Row]) -> str:
    header = [
        "fault",
        "orders",
        "OK calls",
        "errors by code (all attempts)",
        "violations",
        "dead letters",
        "recover s",
        "workload s",
        "settle s",
        "result",
    ]
    body = []
    for r in rows:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(r.errors.items())) or "-"
        dead = ", ".join(f"{k.removeprefix('dlq.')} {v}" for k, v in sorted(r.dead_letters.items())) or "0"
        body.append(
            [
                r.fault,
                str(r.orders),
                str(r.ok_calls),
                errors,
                str(len(r.violations)),
                dead,
                f"{r.recover_seconds:.1f}",
                f"{r.workload_seconds:.0f}",
                f"{r.settle_seconds:.1f}",
                "PASS" if r.passed else "FAIL",
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)
