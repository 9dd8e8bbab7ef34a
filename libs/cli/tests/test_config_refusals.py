"""A configuration the CLI cannot run with is one line naming what to change, and exit 1 (like an unusable
ONEPOOL_DATABASE_URL), never a traceback: a setting a settings class refuses (`ONEPOOL_MAX_CONCURRENT_RPCS=abc`
gave `up` a 45-line traceback and `serve` a 57-line one, neither naming the variable), a port another process
holds (`serve`: a 123-line traceback ending "Failed to bind to address"; `up`: the other stack's services
answered its health checks, so it printed its banner and token, then stopped on "dealers exited with 1")."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from onepool_cli.main import app
from onepool_runtime.embedded import free_port, port_open
from typer.testing import CliRunner

DOWN = "postgresql://onepool:hunter2@127.0.0.1:1/onepool"
ONEPOOL = str(Path(sys.executable).parent / "onepool")


def _env(tmp_path: Path, **extra: str) -> dict[str, str | None]:
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONEPOOL_")}
    base = {
        "ONEPOOL_DATA_DIR": str(tmp_path / "data"),
        "ONEPOOL_DATABASE_URL": DOWN,  # whatever runs past the refusal stops at once, and says something else
        "ONEPOOL_NATS_URL": "nats://127.0.0.1:1",
    }
    return {**cleared, **base, **extra}


def _refused(args: list[str], env: dict[str, str | None]) -> str:
    result = CliRunner().invoke(app, args, env=env)
    # An unhandled exception would also end in exit 1 under CliRunner: only typer.Exit (SystemExit) is handled.
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, (result.exception, result.output)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "inventory"],
        ["up"],
        ["migrate", "current"],
        ["token"],
        ["outbox", "status"],
        ["dlq", "list"],
        ["channels", "rebuild"],
    ],
)
def test_a_setting_no_service_accepts_is_one_line_naming_it(args: list[str], tmp_path: Path) -> None:
    out = _refused(args, _env(tmp_path, ONEPOOL_MAX_CONCURRENT_RPCS="abc"))
    assert "ONEPOOL_MAX_CONCURRENT_RPCS='abc' is not valid: Input should be a valid integer" in out, out


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("ONEPOOL_BUSINESS_TIME_ZONE", "Mars/Base", "is not an IANA time zone"),  # settlement's own
        ("ONEPOOL_RESERVE_WORKERS", "four", "valid integer"),  # inventory's own
        ("ONEPOOL_GATEWAY_PORT", "http", "valid integer"),  # the gateway's, and up's
    ],
)
def test_up_reads_every_childs_settings_before_it_starts_anything(
    variable: str, value: str, said: str, tmp_path: Path
) -> None:
    """A setting only one service reads made that child exit while `up` waited, its traceback quoted."""
    out = _refused(["up"], _env(tmp_path, **{variable: value}))
    assert f"{variable}={value!r} is not valid: " in out and said in out, out
    assert not (tmp_path / "data" / "logs").exists()  # no child was started


@contextmanager
def _squatter(port: int) -> Iterator[None]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    try:
        yield
    finally:
        sock.close()


def _free_range(n: int) -> int:
    while True:
        base = free_port()
        if not any(port_open(base + i) for i in range(n)):
            return base


@pytest.mark.parametrize(
    ("offset", "whose"),
    [(1, "inventory's gRPC port, ONEPOOL_PORT_BASE + 1"), (4, "settlement's gRPC port, ONEPOOL_PORT_BASE + 4")],
)
def test_up_refuses_a_service_port_another_process_holds(offset: int, whose: str, tmp_path: Path) -> None:
    base = _free_range(5)
    with _squatter(base + offset):
        out = _refused(["up"], _env(tmp_path, ONEPOOL_PORT_BASE=str(base)))
    assert f"port {base + offset} ({whose}) on 127.0.0.1 is in use by another process" in out, out
    assert "nothing was started" in out and "set ONEPOOL_PORT_BASE to a free range" in out, out
    assert "PostgreSQL" not in out and not (tmp_path / "data" / "logs").exists()


def test_up_refuses_a_metrics_port_another_process_holds(tmp_path: Path) -> None:
    base, metrics = _free_range(5), _free_range(6)
    with _squatter(metrics + 5):
        out = _refused(["up"], _env(tmp_path, ONEPOOL_PORT_BASE=str(base), ONEPOOL_METRICS_PORT=str(metrics)))
    assert f"port {metrics + 5} (gateway's metrics port, ONEPOOL_METRICS_PORT + 5)" in out, out
    assert "set ONEPOOL_METRICS_PORT to a free range" in out, out


def _serve(tmp_path: Path, name: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`onepool serve NAME` as a container runs it; 30 s at most (a refusal takes ~2 s: an import)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
    full = {**clean, **{k: v for k, v in _env(tmp_path).items() if v is not None}, **env}
    return subprocess.run([ONEPOOL, "serve", name], env=full, capture_output=True, text=True, timeout=30)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1, output
    return output


def test_serve_says_its_grpc_port_is_taken(tmp_path: Path) -> None:
    port = free_port()
    with _squatter(port):
        out = _one_line(_serve(tmp_path, "inventory", ONEPOOL_GRPC_PORT=str(port)))
    assert f"127.0.0.1:{port} is in use by another process: stop it, or set ONEPOOL_GRPC_PORT" in out, out


def test_serve_says_its_metrics_port_is_taken(tmp_path: Path) -> None:
    port = free_port()
    with _squatter(port):
        out = _one_line(_serve(tmp_path, "orders", ONEPOOL_GRPC_PORT=str(free_port()), ONEPOOL_METRICS_PORT=str(port)))
    assert f"127.0.0.1:{port} is in use by another process: stop it, or set ONEPOOL_METRICS_PORT" in out, out


def test_serve_refuses_an_option_asyncpg_refuses(tmp_path: Path) -> None:
    """`?sslmode=bogus`: migrate and `outbox status` said so in one line; serve ran on unready, logging ~30
    ERROR tracebacks in 30 s (the run would end on this test's timeout)."""
    url = "postgresql://onepool:hunter2@127.0.0.1:1/onepool?sslmode=bogus"
    out = _one_line(_serve(tmp_path, "orders", ONEPOOL_GRPC_PORT=str(free_port()), ONEPOOL_DATABASE_URL=url))
    assert "ONEPOOL_DATABASE_URL is not usable: `sslmode` parameter must be one of" in out, out
    assert "hunter2" not in out
