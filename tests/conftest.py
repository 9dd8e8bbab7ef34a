"""Cross-service fixtures: real services in-process on pre-allocated free ports, wired to each other,
sharing one test database (a schema each) and one NATS server per test module."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from onepool_runtime.embedded import free_port
from onepool_runtime.server import ServiceHost
from onepool_runtime.testing.services import SESSION_TOKEN_TTL, metadata, running_service, test_settings

ROOT = Path(__file__).resolve().parents[1]

# name -> (package, settings class, stub module, stub class)
SERVICES: dict[str, tuple[str, str, str, str]] = {
    "inventory": (
        "onepool_inventory",
        "InventorySettings",
        "onepool.inventory.v1.inventory_pb2_grpc",
        "InventoryServiceStub",
    ),
    "orders": ("onepool_orders", "OrdersSettings", "onepool.orders.v1.orders_pb2_grpc", "OrderServiceStub"),
    "channels": ("onepool_channels", "ChannelsSettings", "onepool.channels.v1.channels_pb2_grpc", "ChannelServiceStub"),
    "dealers": ("onepool_dealers", "DealersSettings", "onepool.dealers.v1.dealers_pb2_grpc", "DealerServiceStub"),
    "settlement": (
        "onepool_settlement",
        "SettlementSettings",
        "onepool.settlement.v1.settlement_pb2_grpc",
        "SettlementServiceStub",
    ),
}


class Stack:
    """Start any subset of the five services; each knows where the others are from the start."""

    def __init__(self, database_url: str, nats_url: str) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.ports = {name: free_port() for name in SERVICES}
        self.hosts: dict[str, ServiceHost] = {}
        self._contexts: dict[str, Any] = {}
        self._channels: dict[str, grpc.aio.Channel] = {}

    def settings(self, name: str, **overrides: Any) -> Any:
        package, settings_class, _, _ = SERVICES[name]
        cls = getattr(importlib.import_module(f"{package}.settings"), settings_class)
        peers = {f"{peer}_addr": f"127.0.0.1:{port}" for peer, port in self.ports.items()}
        return test_settings(
            cls, self.database_url, self.nats_url, grpc_port=self.ports[name], **{**peers, **overrides}
        )

    async def start(self, *names: str, **overrides: Any) -> None:
        """Start services (overrides apply to each of them)."""
        for name in names:
            if name in self.hosts:
                continue
            package = SERVICES[name][0]
            build = importlib.import_module(f"{package}.entrypoints.bootstrap").build
            context = running_service(self.settings(name, **overrides), build, ROOT / "services" / name / "migrations")
            self.hosts[name] = await context.__aenter__()
            self._contexts[name] = context

    async def stop(self, name: str) -> None:
        channel = self._channels.pop(name, None)
        if channel is not None:
            await channel.close()
        context = self._contexts.pop(name, None)
        self.hosts.pop(name, None)
        if context is not None:
            await context.__aexit__(None, None, None)

    async def stop_all(self) -> None:
        for name in list(self._contexts)[::-1]:
            await self.stop(name)

    def channel(self, name: str) -> grpc.aio.Channel:
        if name not in self._channels:
            self._channels[name] = grpc.aio.insecure_channel(f"127.0.0.1:{self.ports[name]}")
        return self._channels[name]

    def stub(self, name: str) -> Any:
        _, _, module, stub_class = SERVICES[name]
        return getattr(importlib.import_module(module), stub_class)(self.channel(name))


@pytest.fixture(scope="module")
async def stack(database_url: str, nats_url: str) -> AsyncIterator[Stack]:
    """A module's services: call `await stack.start("inventory", "orders")` in a module-scoped fixture."""
    s = Stack(database_url, nats_url)
    yield s
    await s.stop_all()


@pytest.fixture(scope="session")
def admin() -> tuple[tuple[str, str], ...]:
    # Valid for the whole session: a slow machine can take more than the default ten minutes, `make test-long`
    # hours.
    return metadata("admin", ttl=SESSION_TOKEN_TTL)
