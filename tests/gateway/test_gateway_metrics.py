"""The gateway as an operator runs it (`python -m onepool_gateway`): it counts and times every forwarded call on
its metrics endpoint, as the services count theirs, so browser traffic and its failures show on the dashboard."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import urllib.request

import httpx
import pytest
from onepool_runtime.embedded import free_port

pytestmark = pytest.mark.asyncio

AVAILABILITY = "/onepool.inventory.v1.InventoryService/GetAvailability"


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return str(reply.read().decode())


async def test_the_gateway_counts_each_forwarded_call_by_method_and_code_on_its_metrics_endpoint() -> None:
    port, metrics_port, nowhere = free_port(), free_port(), free_port()  # inventory is not running
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEPOOL_", "OTEL_"))}
    env.update(
        ONEPOOL_GATEWAY_PORT=str(port),
        ONEPOOL_METRICS_PORT=str(metrics_port),
        ONEPOOL_INVENTORY_ADDR=f"127.0.0.1:{nowhere}",
        ONEPOOL_LOG_JSON="false",
    )
    proc = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "onepool_gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as web:
            for _ in range(600):  # importing takes seconds, more on a loaded machine
                try:
                    if (await web.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                await asyncio.sleep(0.1)
            for _ in range(2):
                # Any token gets past the door (the service would judge it; this one is not running).
                headers = {"Connect-Timeout-Ms": "2000", "Authorization": "Bearer not-checked-by-the-door"}
                reply = await web.post(AVAILABILITY, json={"skus": ["A"]}, headers=headers)
                assert reply.status_code in (503, 504), reply.text  # unavailable (or its deadline passed)
        text = await asyncio.to_thread(_scrape, metrics_port)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    counted = re.findall(
        rf'onepool_rpc_requests_total{{([^}}]*rpc_method="{re.escape(AVAILABILITY)}"[^}}]*)}} (\S+)', text
    )
    assert counted, text
    assert sum(float(n) for _, n in counted) == 2
    assert all(re.search(r'rpc_grpc_status_code="(UNAVAILABLE|DEADLINE_EXCEEDED)"', labels) for labels, _ in counted)
    assert re.search(rf'onepool_rpc_duration_seconds_count{{[^}}]*rpc_method="{re.escape(AVAILABILITY)}"', text), text
