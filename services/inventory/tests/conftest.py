from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_runtime.server import ServiceHost
from onepool_runtime.testing.services import metadata, running_service, test_settings

from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="module")
async def inventory_host(database_url: str, nats_url: str) -> AsyncIterator[ServiceHost]:
    settings = test_settings(InventorySettings, database_url, nats_url, sweeper_interval_seconds=0.2)
    async with running_service(settings, build, MIGRATIONS) as host:
        yield host


@pytest.fixture(scope="module")
async def inventory(inventory_host: ServiceHost) -> AsyncIterator[inventory_pb2_grpc.InventoryServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inventory_host.port}") as channel:
        yield inventory_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture(scope="session")
def admin() -> tuple[tuple[str, str], ...]:
    return metadata("admin")
