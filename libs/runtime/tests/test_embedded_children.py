"""The servers `embedded` starts die with the process that started them, even when it is SIGKILLed, and are
started without a `preexec_fn` (Python code between fork and exec in a threaded process once crashed a fault
run's child with SIGSEGV in `threading._after_fork`): nats-server through `dying_with_parent`, PostgreSQL
(as its own user when run as root) through setpriv, which also switches the user so that Popen is never given
one (with it Popen fork()s, and gRPC's fork handlers then run in the child: a PostgreSQL restart in the fault
suite died that way). `test_dying_with_parent.py` covers the wrapper itself.

Each case runs a small Python program that starts the child and prints its pid, kills that program with
SIGKILL, and waits for the child to go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

LAUNCHERS = {
    "nats-server": """
        import sys, time
        from pathlib import Path
        from onepool_runtime.embedded import EmbeddedNats, free_port
        nats = EmbeddedNats(Path(sys.argv[1]) / "nats", free_port())
        nats.start()
        print(nats.proc.pid, flush=True)
        time.sleep(120)
    """,
    "postgres": """
        import sys, time
        from pathlib import Path
        from onepool_runtime.embedded import EmbeddedPostgres
        pg = EmbeddedPostgres(Path(sys.argv[1]) / "pg", durable=False)
        pg.start()
        print(pg.proc.pid, flush=True)
        time.sleep(120)
    """,
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose (its parent, init here, reaps it in its own time).
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(") ", 1)[1][:1] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("kind", list(LAUNCHERS))
def test_a_child_dies_with_the_process_that_started_it(kind: str, tmp_path: Path) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(LAUNCHERS[kind]), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert launcher.stdout is not None
        child = int(launcher.stdout.readline())
        assert _alive(child)
    finally:
        launcher.send_signal(signal.SIGKILL)
        launcher.wait()
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), f"{kind} (pid {child}) outlived the process that started it"


FORKS_WHILE_GRPC_RUNS = """
    import sys, threading
    from concurrent import futures
    from pathlib import Path
    import grpc
    from onepool_runtime.embedded import EmbeddedPostgres
    server = grpc.server(futures.ThreadPoolExecutor(2))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    def busy():  # gRPC threads at work while PostgreSQL is set up and started, as in a service test process
        while True:
            try:
                grpc.channel_ready_future(channel).result(timeout=0.05)
            except grpc.FutureTimeoutError:
                pass

    threading.Thread(target=busy, daemon=True).start()
    pg = EmbeddedPostgres(Path(sys.argv[1]) / "pg", durable=False)
    pg.start()
    pg.stop()
    print("started and stopped", flush=True)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as another user only when started by root")
def test_postgres_as_its_own_user_is_started_without_a_fork_while_grpc_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FORKS_WHILE_GRPC_RUNS), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GRPC_VERBOSITY": "INFO"},
    )
    assert "started and stopped" in done.stdout, done.stderr[-2000:]
    # gRPC's fork handler says so when a fork() happens while its threads run (initdb and postgres, before).
    assert "fork_posix" not in done.stderr, done.stderr[-2000:]
