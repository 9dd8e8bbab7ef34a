"""A service process as operators run it: Prometheus metrics on ONEPOOL_METRICS_PORT, JSON logs on stderr
carrying the trace id of the request, and never a token."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_runtime.embedded import free_port
from onepool_runtime.metrics import RPC_DURATION_BUCKETS
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import TEST_SECRET, metadata

from tests.observability.test_dashboard import queried_metrics

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


async def test_metrics_endpoint_and_structured_logs(tmp_path, postgres, nats_url) -> None:  # type: ignore[no-untyped-def]
    database_url = await postgres.new_database()
    await upgrade(ROOT / "services" / "inventory" / "migrations", database_url, "inventory")
    grpc_port, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONEPOOL_", "OTEL_"))}
    env.update(
        ONEPOOL_DATABASE_URL=database_url,
        ONEPOOL_NATS_URL=nats_url,
        ONEPOOL_GRPC_PORT=str(grpc_port),
        ONEPOOL_METRICS_PORT=str(metrics_port),
        ONEPOOL_JWT_SECRET=TEST_SECRET,
        ONEPOOL_LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "inventory.log"
    with open(log_path, "wb") as log:  # noqa: ASYNC230
        proc = subprocess.Popen([sys.executable, "-m", "onepool_inventory"], env=env, stderr=log, stdout=log)  # noqa: ASYNC220
    admin = metadata("admin")
    token = admin[0][1].split()[1]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = inventory_pb2_grpc.InventoryServiceStub(channel)
            # Wait for the process to serve: importing and migrating takes seconds, more on a loaded machine,
            # so the wait is generous and ends early once the first call succeeds (or the process dies).
            for _ in range(600):
                try:
                    await stub.ListLocations(pb.ListLocationsRequest(), metadata=admin, timeout=1)
                    break
                except grpc.aio.AioRpcError:
                    assert proc.poll() is None, log_path.read_text()
                    await asyncio.sleep(0.1)
            traced = (*admin, ("traceparent", f"00-{TRACE_ID}-00f067aa0ba902b7-01"))
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ReceiveStock(
                    pb.ReceiveStockRequest(
                        request_id="r1", location_id="NOWHERE", lines=[pb.StockLine(sku="A", quantity=1)]
                    ),
                    metadata=traced,
                )
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError):
                await stub.ListLocations(pb.ListLocationsRequest(), metadata=(("authorization", f"Bearer {token}x"),))

        text = await asyncio.to_thread(_scrape, metrics_port)
        assert "onepool_rpc_requests_total{" in text
        assert 'rpc_method="/onepool.inventory.v1.InventoryService/ReceiveStock"' in text
        assert 'rpc_grpc_status_code="NOT_FOUND"' in text
        assert "onepool_rpc_duration_seconds_bucket" in text
        # Buckets in seconds that fit RPCs (the SDK's defaults are milliseconds: a 20 ms call landed in le=5.0).
        bounds = {
            float(le)
            for le in re.findall(r'onepool_rpc_duration_seconds_bucket\{[^}]*le="([^"]+)"', text)
            if le != "+Inf"
        }
        assert bounds == set(RPC_DURATION_BUCKETS)
        assert min(bounds) <= 0.001 and 0.01 in bounds and 0.1 in bounds and max(bounds) <= 60
        # What the dashboard asks of every service's RPCs is in a real service's scrape.
        rpc_series = {m for m in queried_metrics() if m.startswith("onepool_rpc_")}
        assert rpc_series and all(f"\n{m}{{" in text for m in rpc_series), rpc_series
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0  # SIGTERM is a graceful shutdown

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, log_path.read_text()
    refused = [e for e in lines if "ReceiveStock refused" in e["msg"]]
    assert refused and refused[0]["trace_id"] == TRACE_ID
    assert token not in log_path.read_text()
