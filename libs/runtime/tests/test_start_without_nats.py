"""A service started while NATS is down listens at once: `liveness` SERVING (its startup and liveness probes
pass, Kubernetes does not restart it), readiness NOT_SERVING, every other call UNAVAILABLE with retry advice;
it says "waiting for NATS" once, not nats-py's error every 0.5 s, and comes up when NATS does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlparse

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.embedded import free_port
from onepool_runtime.server import LIVENESS_SERVICE, ServiceHost, ServiceParts
from onepool_runtime.testing.services import status_of

pytestmark = pytest.mark.asyncio
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _nothing(_infra) -> ServiceParts:  # type: ignore[no-untyped-def]
    return ServiceParts(register=lambda _server: None, service_names=["onepool.test.v1.Nothing"], policy={})


async def _status(port: int, service: str) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
        return int(reply.status)


async def _forward(port: int, nats_url: str) -> asyncio.Server:
    """NATS arriving at `port`: a TCP forwarder to the test's server."""
    target = urlparse(nats_url.split(",")[0])

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(accept, "127.0.0.1", port)


async def test_a_service_started_while_nats_is_down_listens_and_comes_up_with_nats(  # type: ignore[no-untyped-def]
    host_settings, nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    host = ServiceHost(host_settings(nats_url=f"nats://secret:hunter2@127.0.0.1:{port}"), _nothing)
    starting = asyncio.create_task(host.start())
    nats: asyncio.Server | None = None
    try:
        for _ in range(100):
            if host.port or starting.done():
                break
            await asyncio.sleep(0.1)
        assert host.port, "the service never listened while NATS was down"
        assert await _status(host.port, LIVENESS_SERVICE) == SERVING
        assert await _status(host.port, "") == NOT_SERVING

        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
            call = channel.unary_unary("/onepool.inventory.v1.InventoryService/ReceiveStock")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(b"", timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        status = status_of(refused.value)
        assert status is not None and any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)

        await asyncio.sleep(2.0)
        waiting = [r.getMessage() for r in caplog.records if "waiting for NATS" in r.getMessage()]
        assert len(waiting) == 1, waiting
        assert "hunter2" not in waiting[0] and f"127.0.0.1:{port}" in waiting[0]
        assert not [r for r in caplog.records if r.getMessage().startswith("nats: ")]
        assert not starting.done()

        nats = await _forward(port, nats_url)
        await asyncio.wait_for(starting, timeout=30)
        assert await _status(host.port, "") == SERVING
        assert await _status(host.port, "onepool.test.v1.Nothing") == SERVING
        assert await _status(host.port, LIVENESS_SERVICE) == SERVING
    finally:
        starting.cancel()
        with contextlib.suppress(BaseException):
            await starting
        await host.stop()
        if nats is not None:
            nats.close()
