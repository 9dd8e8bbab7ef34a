"""Routes read from the contracts' descriptors: every method of every OnePool service, with its message classes
and stream type, forwarded to the service its package names; a service with no address is left out, loudly."""

from __future__ import annotations

import logging

import pytest
from connectrpc.method import StreamType
from grpc_health.v1 import health_pb2
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2
from onepool_gateway import routes
from onepool_gateway.settings import GatewaySettings


def test_every_method_of_every_onepool_service_has_a_route_to_its_service() -> None:
    table = {r.path: r for r in routes.routes(GatewaySettings())}
    for module in (inventory_pb2, channels_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                route = table[f"/{service.full_name}/{method.name}"]
                assert route.upstream == service.full_name.split(".")[1]
                assert route.method.input is getattr(module, method.input_type.name)
                assert route.method.output is getattr(module, method.output_type.name)
    assert {r.upstream for r in table.values()} == {"orders", "inventory", "channels", "dealers", "settlement"}


def test_watch_channel_stock_is_the_server_stream_and_the_rest_are_unary() -> None:
    kinds = {r.path: r.method.stream_type for r in routes.routes(GatewaySettings())}
    assert kinds.pop("/onepool.channels.v1.ChannelService/WatchChannelStock") is StreamType.SERVER_STREAM
    assert set(kinds.values()) == {StreamType.UNARY}


def test_a_service_without_an_address_setting_is_left_out_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    health = health_pb2.DESCRIPTOR.services_by_name["Health"]  # grpc.health.v1: no `health_addr` setting
    inventory = inventory_pb2.DESCRIPTOR.services_by_name["InventoryService"]
    monkeypatch.setattr(routes, "service_descriptors", lambda: [health, inventory])
    with caplog.at_level(logging.WARNING):
        table = routes.routes(GatewaySettings())
    assert {r.upstream for r in table} == {"inventory"}
    assert "grpc.health.v1.Health not served" in caplog.text
