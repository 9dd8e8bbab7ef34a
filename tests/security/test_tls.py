"""TLS and mutual TLS for servers and service-to-service clients, with generated certificates."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings
from onepool_runtime.clients import service_channel
from onepool_runtime.testing.services import TEST_SECRET, running_service, test_settings

from .certs import TestCA

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "inventory" / "migrations"


def _creds(ca: TestCA, client: tuple[Path, Path] | None) -> grpc.ChannelCredentials:
    key, cert = (client[0].read_bytes(), client[1].read_bytes()) if client else (None, None)
    return grpc.ssl_channel_credentials(ca.cert_path.read_bytes(), private_key=key, certificate_chain=cert)


async def _health(port: int, creds: grpc.ChannelCredentials) -> int:
    async with grpc.aio.secure_channel(f"localhost:{port}", creds) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        return reply.status


async def test_mutual_tls_admits_certified_clients_and_refuses_the_rest(tmp_path, database_url, nats_url) -> None:  # type: ignore[no-untyped-def]
    ca = TestCA(tmp_path)
    server_key, server_cert = ca.issue("inventory", server=True)
    client = ca.issue("orders", server=False)
    settings = test_settings(
        InventorySettings,
        database_url,
        nats_url,
        tls_cert_file=str(server_cert),
        tls_key_file=str(server_key),
        tls_client_ca_file=str(ca.cert_path),
    )
    async with running_service(settings, build, MIGRATIONS) as host:
        assert await _health(host.port, _creds(ca, client)) == health_pb2.HealthCheckResponse.SERVING

        # A service-to-service channel built from settings (CA + its own certificate) calls an RPC.
        caller = test_settings(
            InventorySettings,
            database_url,
            nats_url,
            tls_ca_file=str(ca.cert_path),
            tls_cert_file=str(client[1]),
            tls_key_file=str(client[0]),
        )
        async with service_channel(f"localhost:{host.port}", caller) as channel:
            reply = await inventory_pb2_grpc.InventoryServiceStub(channel).ListLocations(pb.ListLocationsRequest())
            assert reply is not None

        with pytest.raises(grpc.aio.AioRpcError) as no_cert:
            await _health(host.port, _creds(ca, None))
        assert no_cert.value.code() == grpc.StatusCode.UNAVAILABLE

        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as plain:
            with pytest.raises(grpc.aio.AioRpcError) as plaintext:
                await health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_server_tls_without_client_certificates(tmp_path, database_url, nats_url) -> None:  # type: ignore[no-untyped-def]
    ca = TestCA(tmp_path)
    server_key, server_cert = ca.issue("inventory", server=True)
    settings = test_settings(
        InventorySettings,
        database_url,
        nats_url,
        tls_cert_file=str(server_cert),
        tls_key_file=str(server_key),
        jwt_secret=TEST_SECRET,
    )
    async with running_service(settings, build, MIGRATIONS) as host:
        assert await _health(host.port, _creds(ca, None)) == health_pb2.HealthCheckResponse.SERVING
