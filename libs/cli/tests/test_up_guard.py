"""`onepool up` owns its data directory and watches the servers it started there.

A second `up` in the same checkout used to stop the running one's PostgreSQL (SIGINT to the pid in
postmaster.pid, whatever process that pid was by then) and start a second PostgreSQL and nats-server over the
same files before failing on a port. Its own PostgreSQL or nats-server dying (kill -9) went unnoticed: the
services went NOT_SERVING under a banner still saying "Stop with Ctrl-C", the postmaster an unreaped zombie. A
data directory of another PostgreSQL major ended in a traceback.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.embedded import free_port, port_open

STARTUP_SECONDS = 120.0  # a full stack on a loaded 2-core machine; ~15 s when idle
ONEPOOL = str(Path(sys.executable).parent / "onepool")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Outside pytest's tree: PostgreSQL runs as its own user under root, and a pytest starting meanwhile chmods
    # /tmp/pytest-of-root back to 0700 (see tests/platform/test_onepool_up.py).
    path = Path(tempfile.mkdtemp(prefix="onepool-up-guard-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
    base = free_port()
    while any(port_open(base + i) for i in range(1, 5)):
        base = free_port()
    env.update(
        ONEPOOL_DATA_DIR=str(data_dir),
        ONEPOOL_PORT_BASE=str(base),
        ONEPOOL_GATEWAY_PORT=str(free_port()),
        ONEPOOL_EMBEDDED_PG_PORT=str(free_port()),
        ONEPOOL_EMBEDDED_NATS_PORT=str(free_port()),
        ONEPOOL_LOG_JSON="false",
    )
    return env


class Stack:
    """A `onepool up` run as a user's shell runs it, serving (banner printed)."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.env = _env(data_dir)
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([ONEPOOL, "up"], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while "Stop with Ctrl-C" not in log.read_text(errors="replace"):
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.2)
        self.descendants = psutil.Process(self.proc.pid).children(recursive=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def server(self, program: str) -> psutil.Process:
        """The one process running `program` (postgres: the postmaster, the only one keeping its argv)."""
        [proc] = [p for p in self.descendants if p.is_running() and _runs(p, program)]
        return proc

    def orders_serving(self) -> bool:
        with grpc.insecure_channel(f"127.0.0.1:{self.env['ONEPOOL_PORT_BASE']}") as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
            except grpc.RpcError:
                return False
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _gone, alive = psutil.wait_procs(self.descendants, timeout=15)
        for proc in alive:
            proc.kill()


def _runs(proc: psutil.Process, program: str) -> bool:
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return False
    return bool(argv) and Path(argv[0]).name == program


def _servers_over(data_dir: Path) -> list[psutil.Process]:
    """Every postgres and nats-server, whoever started it, working on `data_dir`."""
    found = []
    for proc in psutil.process_iter():
        try:
            argv = proc.cmdline()
        except psutil.Error:
            continue
        if argv and Path(argv[0]).name in ("postgres", "nats-server") and any(str(data_dir) in a for a in argv):
            found.append(proc)
    return found


# A whole stack of its own (~12 s): `make test-long`. `make test` checks the same on the stack that
# tests/platform/test_onepool_up.py brings up anyway.
@pytest.mark.slow
def test_a_second_up_on_the_same_data_directory_touches_nothing(tmp_path: Path, data_dir: Path) -> None:
    first = Stack(data_dir, tmp_path / "first.log")
    try:
        postmaster, nats = first.server("postgres"), first.server("nats-server")
        second = subprocess.run([ONEPOOL, "up"], env=first.env, capture_output=True, text=True, timeout=60)
        output = second.stdout + second.stderr
        assert second.returncode == 1, output
        assert f"another `onepool up` (pid {first.proc.pid}) is running" in output, output
        assert "Traceback" not in output, output
        assert postmaster.is_running() and postmaster.status() != psutil.STATUS_ZOMBIE, first.output()
        assert nats.is_running() and nats.status() != psutil.STATUS_ZOMBIE, first.output()
        assert {p.pid for p in _servers_over(data_dir)} == {postmaster.pid, nats.pid}  # no second server
        assert first.proc.poll() is None and first.orders_serving(), first.output()
    finally:
        first.stop()


@pytest.mark.slow  # a whole stack per server (~12 s each): `make test-long`
@pytest.mark.parametrize(
    ("program", "name", "log"), [("postgres", "PostgreSQL", "pg"), ("nats-server", "nats-server", "nats")]
)
def test_its_own_server_dying_stops_everything(
    tmp_path: Path, data_dir: Path, program: str, name: str, log: str
) -> None:
    stack = Stack(data_dir, tmp_path / "up.log")
    try:
        server = stack.server(program)
        server.kill()  # kill -9
        try:
            code = stack.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`onepool up` still running 30s after its {program} was killed:\n{stack.output()[-2000:]}")
        output = stack.output()
        assert code == 1, output
        assert f"{name} exited with -9 (see {data_dir}/{log}/server.log); stopping everything" in output, output
        _gone, alive = psutil.wait_procs(stack.descendants, timeout=15)
        assert alive == [], f"still running: {[p.cmdline() for p in alive if p.is_running()]}"
    finally:
        stack.stop()


def _foreign_cluster(data_dir: Path) -> Path:
    """A data directory made by another PostgreSQL major (what an upgraded wheel finds)."""
    pg = data_dir / "pg"
    pg.mkdir(mode=0o700)
    (pg / "PG_VERSION").write_text("9\n")
    (pg / "postgresql.conf").write_text("")
    return pg


def test_a_data_directory_of_another_major_is_one_message(data_dir: Path) -> None:
    pg = _foreign_cluster(data_dir)
    result = subprocess.run([ONEPOOL, "up"], env=_env(data_dir), capture_output=True, text=True, timeout=90)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert f"PostgreSQL did not start on {pg}" in output, output
    assert "incompatible" in output, output  # PostgreSQL's own reason, from its log
    assert f"rm -rf {pg}" in output and "losing the local data" in output, output
    assert not list(data_dir.glob("nats")), "went on after PostgreSQL failed"


def test_a_stale_pid_file_naming_another_process_leaves_that_process_alone(data_dir: Path) -> None:
    """The pid in a postmaster.pid left by a killed run now belongs to some other process."""
    pg = _foreign_cluster(data_dir)  # so that `up` stops right after looking at the pid file
    bystander = subprocess.Popen(["sleep", "120"])
    try:
        (pg / "postmaster.pid").write_text(f"{bystander.pid}\n{pg}\n")
        result = subprocess.run([ONEPOOL, "up"], env=_env(data_dir), capture_output=True, text=True, timeout=90)
        assert bystander.poll() is None, f"killed {bystander.returncode}:\n{result.stdout}{result.stderr}"
        assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    finally:
        bystander.kill()
        bystander.wait()
