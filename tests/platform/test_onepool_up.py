"""`onepool up` (what `make run` calls) brings up everything from nothing, the gateway included, and stops everything
it started; with
ONEPOOL_METRICS_PORT set each service serves its own Prometheus endpoint; a child that dies while `up` waits
stops everything at once, with that child's last log lines."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from onepool_runtime.embedded import free_port, port_open

pytestmark = pytest.mark.asyncio

SERVICE_NAMES = [
    "onepool.orders.v1.OrderService",
    "onepool.inventory.v1.InventoryService",
    "onepool.channels.v1.ChannelService",
    "onepool.dealers.v1.DealerService",
    "onepool.settlement.v1.SettlementService",
]


def _free_port_range(n: int) -> int:
    for _ in range(200):
        base = random.randint(20000, 60000)
        if not any(port_open(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free port range")


async def _health(port: int, service: str) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=1
            )
            return reply.status
        except grpc.aio.AioRpcError:
            return -1


async def _listed_services(port: int) -> list[str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        async def ask():  # type: ignore[no-untyped-def]
            yield reflection_pb2.ServerReflectionRequest(list_services="")

        async for reply in stub.ServerReflectionInfo(ask()):
            return [s.name for s in reply.list_services_response.service]
    return []


def _post_json(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


def _servers_over(data_dir: Path) -> set[int]:
    """The pids of every postgres and nats-server, whoever started it, working on `data_dir` and not a zombie."""
    found = set()
    for proc in psutil.process_iter():
        try:
            argv, zombie = proc.cmdline(), proc.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            continue
        server = bool(argv) and Path(argv[0]).name in ("postgres", "nats-server")
        if server and not zombie and any(str(data_dir) in a for a in argv):
            found.add(proc.pid)
    return found


async def _a_second_up_touches_nothing(onepool: Path, env: dict[str, str], first: Any, data_dir: Path) -> None:
    """A second `up` in the same checkout used to stop the running one's PostgreSQL and start a second PostgreSQL
    and nats-server over the same files before failing on a port (libs/cli/tests/test_up_guard.py has the case on
    a stack of its own, under `make test-long`; here it costs no second stack)."""
    servers = _servers_over(data_dir)
    assert len(servers) == 2, servers  # the postmaster and nats-server (postgres backends keep no data dir argv)
    second = await asyncio.to_thread(
        subprocess.run, [str(onepool), "up"], env=env, capture_output=True, text=True, timeout=60
    )
    output = second.stdout + second.stderr
    assert second.returncode == 1, output
    assert f"another `onepool up` (pid {first.pid}) is running" in output, output
    assert "Traceback" not in output, output
    assert _servers_over(data_dir) == servers  # the same two, alive, and no second one
    assert first.poll() is None
    assert await _health(int(env["ONEPOOL_PORT_BASE"]), "") == health_pb2.HealthCheckResponse.SERVING


async def test_up_serves_all_five_then_stops_every_child(tmp_path: Path) -> None:
    # The data directory lives outside pytest's temporary tree: run as root, PostgreSQL runs as its own user, and
    # any pytest starting meanwhile (another checkout's, a subprocess's) chmods /tmp/pytest-of-root back to 0700,
    # which shuts that user out of a data directory below it ("could not access directory": a flaky failure).
    data_dir = Path(tempfile.mkdtemp(prefix="onepool-up-"))
    base = _free_port_range(5)
    metrics_base = _free_port_range(5)
    gateway = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
    env.update(
        ONEPOOL_DATA_DIR=str(data_dir),
        ONEPOOL_PORT_BASE=str(base),
        ONEPOOL_METRICS_PORT=str(metrics_base),  # one setting; each service gets its own port from it
        ONEPOOL_EMBEDDED_PG_PORT=str(free_port()),
        ONEPOOL_EMBEDDED_NATS_PORT=str(free_port()),
        ONEPOOL_GATEWAY_PORT=str(gateway),
    )
    onepool = Path(sys.executable).parent / "onepool"
    # The process under test is started and signalled exactly like a user's shell would.
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115, ASYNC230
    proc = subprocess.Popen([str(onepool), "up"], env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    descendants: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 240  # generous: a shared 2-core machine under load starts slowly
        statuses: list[int] = []
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "up.log").read_text()
            statuses = [await _health(base + i, name) for i, name in enumerate(SERVICE_NAMES)]
            if all(s == health_pb2.HealthCheckResponse.SERVING for s in statuses):
                break
            await asyncio.sleep(0.5)
        assert all(s == health_pb2.HealthCheckResponse.SERVING for s in statuses), statuses
        for i, name in enumerate(SERVICE_NAMES):
            assert await _health(base + i, "") == health_pb2.HealthCheckResponse.SERVING
            assert name in await _listed_services(base + i)  # what `grpcurl -plaintext ... list` shows
            # Each service's own endpoint: its resource names it, and its relay measured its outbox.
            text = await asyncio.to_thread(_scrape, metrics_base + i)
            service = name.split(".")[1]
            assert f'service_name="onepool-{service}"' in text, text[:2000]
            backlog = [line for line in text.splitlines() if line.startswith("onepool_outbox_backlog{")]
            assert any(f'service="{service}"' in line for line in backlog), text[-3000:]

        # The issue 16 curl check, on the gateway `up` started: JSON with the banner's token, 401 without one.
        while "TOKEN=" not in (tmp_path / "up.log").read_text() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # the banner is printed once the gateway answered too
        [token] = [ln[6:] for ln in (tmp_path / "up.log").read_text().splitlines() if ln.startswith("TOKEN=")]
        url = f"http://127.0.0.1:{gateway}/onepool.inventory.v1.InventoryService/GetAvailability"
        body = b'{"skus":["SKU-1"]}'
        status, content_type, answer = await asyncio.to_thread(
            _post_json, url, body, {"Authorization": f"Bearer {token}"}
        )
        assert (status, content_type, json.loads(answer)["items"][0]["sku"]) == (200, "application/json", "SKU-1")
        status, _, answer = await asyncio.to_thread(_post_json, url, body, {})
        assert (status, json.loads(answer)["code"]) == (401, "unauthenticated")

        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert len(descendants) >= 8  # five services, the gateway, nats-server, postgres (and its backends)
        await _a_second_up_touches_nothing(onepool, env, proc, data_dir)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=90) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    _gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == [], f"children still running: {[p.pid for p in alive]}"
    for i in range(5):
        assert not port_open(base + i)
    assert not port_open(gateway)


async def test_up_stops_at_once_when_a_child_dies_while_it_waits(
    tmp_path: Path, database_url: str, nats_url: str
) -> None:
    """channels cannot bind its port (something took it after `up` checked the ports were free, as its
    children were starting): `up` must not wait out its 90 s for it."""
    base = _free_port_range(5)
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
    env.update(
        ONEPOOL_DATA_DIR=str(data_dir),
        ONEPOOL_PORT_BASE=str(base),
        ONEPOOL_DATABASE_URL=database_url,
        ONEPOOL_NATS_URL=nats_url,
        ONEPOOL_LOG_JSON="false",
    )
    onepool = Path(sys.executable).parent / "onepool"
    squatter = socket.socket()
    proc = subprocess.Popen(  # noqa: ASYNC220
        [str(onepool), "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        # `up` makes its logs directory just before it starts the services, which take a second or more to
        # import before they bind: the squatter comes after the port check and before channels.
        deadline = time.monotonic() + 120
        while not (data_dir / "logs").exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            await asyncio.sleep(0.005)
        squatter.bind(("127.0.0.1", base + 2))
        squatter.listen()
        output, _ = await asyncio.to_thread(proc.communicate, timeout=300)
    finally:
        squatter.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, output
    assert "channels exited with" in output, output
    assert "last lines of" in output and "channels.log" in output, output
    assert f"127.0.0.1:{base + 2} is in use by another process" in output, output  # the child's log, quoted
    assert "not healthy after" not in output, output  # it did not wait out the timeout
    for i in range(5):
        if i != 2:
            assert not port_open(base + i)  # the other four were stopped
