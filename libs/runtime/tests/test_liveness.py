"""Liveness is the process, readiness is the dependencies: while a service's database refuses connections the
health service answers NOT_SERVING for "" (readiness takes the pod out of rotation) and SERVING for `liveness`
(the kubelet does not restart a process that only waits for PostgreSQL); both recover with the database."""

from __future__ import annotations

import asyncio

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.server import LIVENESS_SERVICE, ServiceHost, ServiceParts
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.services import test_settings

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


async def _until(port: int, service: str, status: int) -> None:
    for _ in range(300):
        if await _status(port, service) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{service!r} never became {status}")


async def test_liveness_stays_serving_while_the_database_is_down(postgres, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    database_url = await postgres.new_database("live")
    name = database_url.rsplit("/", 1)[1]
    settings = test_settings(
        ServiceSettings, database_url, nats_url, service_name="inventory", health_check_seconds=0.2
    )
    host = ServiceHost(settings, _nothing)
    await host.start()
    admin = await asyncpg.connect(postgres.admin_url)
    try:
        assert await _status(host.port, "") == SERVING
        assert await _status(host.port, LIVENESS_SERVICE) == SERVING

        # The database goes away: no new connections, and the pooled ones are cut.
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await _until(host.port, "", NOT_SERVING)
        assert await _status(host.port, "onepool.test.v1.Nothing") == NOT_SERVING
        assert await _status(host.port, LIVENESS_SERVICE) == SERVING

        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await _until(host.port, "", SERVING)
        assert await _status(host.port, LIVENESS_SERVICE) == SERVING
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await host.stop()
