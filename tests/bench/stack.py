"""The system under test, started like production: a durable embedded PostgreSQL (fsync and synchronous
commit on), nats-server with JetStream, every service's migrations, and the five services as separate
`python -m onepool_<svc>` processes configured only through ONEPOOL_* variables (what `make run` does, with
free ports and a throwaway data directory). Plus the bare baseline: a grpc.aio server with only
grpc.health.v1 in its own process (`bare_health.py`).

Failure modes: a service that does not become healthy within the timeout raises RuntimeError naming its log
file; every child (services, bare server, PostgreSQL, NATS) is stopped on exit, even after an error.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from onepool_cli.services import SERVICES
from onepool_cli.up import wait_serving
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres, dying_with_parent, free_port
from onepool_runtime.migrations import upgrade_sync
from onepool_runtime.testing.services import metadata

BENCH_SECRET = "onepool-bench-secret-0123456789abcdef"
STUBS: dict[str, tuple[str, str]] = {
    "orders": ("onepool.orders.v1.orders_pb2_grpc", "OrderServiceStub"),
    "inventory": ("onepool.inventory.v1.inventory_pb2_grpc", "InventoryServiceStub"),
    "channels": ("onepool.channels.v1.channels_pb2_grpc", "ChannelServiceStub"),
    "dealers": ("onepool.dealers.v1.dealers_pb2_grpc", "DealerServiceStub"),
    "settlement": ("onepool.settlement.v1.settlement_pb2_grpc", "SettlementServiceStub"),
}


class BenchStack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.pg = EmbeddedPostgres(workdir / "pg", durable=True)
        self.nats = EmbeddedNats(workdir / "nats")
        self.ports = {svc.name: free_port() for svc in SERVICES}
        self.bare_port = free_port()
        self.replica_ports: dict[str, int] = {}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.database_url = ""
        self.admin = metadata("admin", secret=BENCH_SECRET, ttl="7200")
        self._channels: dict[str, grpc.aio.Channel] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    def start_infra(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg.start()
        self.database_url = self.pg.create_database("onepool")
        self.nats.start()
        for svc in SERVICES:
            upgrade_sync(svc.migrations, self.database_url, svc.name)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
        env.update(
            ONEPOOL_DATABASE_URL=self.database_url,
            ONEPOOL_NATS_URL=self.nats.url,
            ONEPOOL_GRPC_HOST="127.0.0.1",
            ONEPOOL_JWT_SECRET=BENCH_SECRET,
        )
        env.update({f"ONEPOOL_{name.upper()}_ADDR": f"127.0.0.1:{port}" for name, port in self.ports.items()})
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log_file = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        # Spawned, not forked to run Python while this process's gRPC and NATS threads run (embedded.py).
        self.procs[name] = subprocess.Popen(dying_with_parent(argv), env=env, stdout=log_file, stderr=subprocess.STDOUT)

    async def start_services(self, *names: str, within: float = 120.0) -> None:
        chosen = [svc for svc in SERVICES if not names or svc.name in names]
        for svc in chosen:
            env = {**self.env(), "ONEPOOL_GRPC_PORT": str(self.ports[svc.name])}
            self._spawn(svc.name, [sys.executable, "-m", svc.package], env)
        await self._wait_healthy([svc.name for svc in chosen], within)

    async def start_replica(self, name: str, replica: int, within: float = 120.0) -> str:
        """Another process of service `name` on its own gRPC port (same database, same durable consumers):
        what a second Kubernetes replica is. Returns its process key, `<name>#<replica>`."""
        key = f"{name}#{replica}"
        port = self.replica_ports.setdefault(key, free_port())
        svc = next(s for s in SERVICES if s.name == name)
        self._spawn(key, [sys.executable, "-m", svc.package], {**self.env(), "ONEPOOL_GRPC_PORT": str(port)})
        if not await wait_serving(port, "127.0.0.1", time.monotonic() + within):
            raise RuntimeError(f"replica {key} did not become healthy (log in {self.logs})")
        return key

    async def start_bare(self, within: float = 60.0) -> None:
        argv = [sys.executable, str(Path(__file__).with_name("bare_health.py")), str(self.bare_port)]
        self._spawn("bare", argv, self.env())
        deadline = time.monotonic() + within
        if not await wait_serving(self.bare_port, "127.0.0.1", deadline):
            raise RuntimeError(f"bare health server did not start; see {self.logs / 'bare.log'}")

    async def _wait_healthy(self, names: list[str], within: float) -> None:
        deadline = time.monotonic() + within
        ok = await asyncio.gather(*(wait_serving(self.ports[n], "127.0.0.1", deadline) for n in names))
        bad = [n for n, good in zip(names, ok, strict=True) if not good]
        if bad:
            raise RuntimeError(f"not healthy: {', '.join(bad)} (logs in {self.logs})")

    def stop_process(self, name: str, timeout: float = 30.0) -> None:
        self.stop_processes(name, timeout=timeout)

    def stop_processes(self, *names: str, timeout: float = 30.0) -> None:
        """SIGTERM to all of them at once, then wait for each: they shut down side by side."""
        procs = [p for p in (self.procs.pop(name, None) for name in names) if p is not None and p.poll() is None]
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)
        self._channels.clear()
        self.stop_processes(*self.procs)
        self.nats.stop()
        self.pg.stop()

    # --- clients --------------------------------------------------------------------------------------

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def service_pids(self) -> dict[str, int]:
        return {svc.name: self.procs[svc.name].pid for svc in SERVICES if svc.name in self.procs}

    def channel(self, target: str) -> grpc.aio.Channel:
        """One HTTP/2 connection per target, shared by all callers (the same client for scenario and baseline)."""
        if target not in self._channels:
            port = self.bare_port if target == "bare" else self.ports[target]
            self._channels[target] = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        return self._channels[target]

    def stub(self, name: str) -> Any:
        import importlib

        module, cls = STUBS[name]
        return getattr(importlib.import_module(module), cls)(self.channel(name))
