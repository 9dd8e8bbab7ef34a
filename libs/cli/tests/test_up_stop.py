"""SIGTERM (or Ctrl-C) stops `onepool up` at once whatever it is waiting for, and everything it started with it.

It used to only note the signal: a health wait (90 s per stage), a migration waiting on an unreachable
database (asyncpg's 60 s connect timeout) or PostgreSQL starting ran to its end first, so a supervisor's
SIGTERM took effect a minute or more later, or was followed by its SIGKILL and left the children behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from onepool_runtime.embedded import free_port

# Far below every wait `up` would otherwise sit out (90 s for the health checks, 60 s to connect).
PROMPT_SECONDS = 20.0


def _start_up(tmp_path: Path, **settings: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
    base = free_port()
    while any(_listening(base + i) for i in range(1, 5)):
        base = free_port()
    env.update(
        ONEPOOL_DATA_DIR=str(tmp_path / "data"),
        ONEPOOL_PORT_BASE=str(base),
        ONEPOOL_GATEWAY_PORT=str(free_port()),
        ONEPOOL_LOG_JSON="false",
        **settings,
    )
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(Path(sys.executable).parent / "onepool"), "up"], env=env, stdout=out, stderr=out)
    return proc, log


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop_and_time(proc: subprocess.Popen[bytes], log: Path) -> tuple[int, float, list[psutil.Process]]:
    """SIGTERM `proc`; its exit code, how long it took, and the processes it had started."""
    descendants = psutil.Process(proc.pid).children(recursive=True)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=PROMPT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"`onepool up` still running {PROMPT_SECONDS:.0f}s after SIGTERM:\n{log.read_text()[-3000:]}")
    return code, time.monotonic() - start, descendants


def _wait_for(condition, seconds: float, proc: subprocess.Popen[bytes], log: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _services_started(proc: subprocess.Popen[bytes]) -> bool:
    commands = [" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(recursive=True)]
    return sum("-m onepool_" in c for c in commands) >= 5


def test_sigterm_while_waiting_for_health_checks(tmp_path: Path, database_url: str) -> None:
    """NATS cannot be reached, so the services never serve: `up` waits for their health checks."""
    proc, log = _start_up(
        tmp_path, ONEPOOL_DATABASE_URL=database_url, ONEPOOL_NATS_URL=f"nats://127.0.0.1:{free_port()}"
    )
    try:
        _wait_for(lambda: _services_started(proc), 120, proc, log)
        time.sleep(1)  # inside the wait
        code, _, descendants = _stop_and_time(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
    assert "not healthy after" not in log.read_text()
    _gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == [], f"children still running: {[p.cmdline() for p in alive]}"


@dataclass
class SilentDatabase:
    url: str
    connections: list[socket.socket]


@pytest.fixture
def silent_database() -> Iterator[SilentDatabase]:
    """A PostgreSQL URL whose server accepts connections and never answers (a database hanging, a firewall
    dropping replies): the migrations wait on it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield SilentDatabase(f"postgresql://postgres@127.0.0.1:{server.getsockname()[1]}/onepool", held)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_sigterm_while_a_migration_waits_on_the_database(tmp_path: Path, silent_database: SilentDatabase) -> None:
    db = silent_database
    proc, log = _start_up(tmp_path, ONEPOOL_DATABASE_URL=db.url, ONEPOOL_NATS_URL="nats://127.0.0.1:1")
    try:
        _wait_for(lambda: bool(db.connections), 60, proc, log)  # a migration connected; no answer comes
        time.sleep(0.5)
        code, _, _ = _stop_and_time(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()
