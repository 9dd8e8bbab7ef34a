"""Server reflection explains the API: `grpcurl describe onepool.orders.v1.OrderService.PlaceOrder` shows the
RPC's comment (its errors included), over reflection v1 and v1alpha alike, and a client can build a working
descriptor pool from what it is sent (every dependency resolves). The client here is a raw reflection stream,
what grpcurl does on the wire."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2

PATHS = {
    "v1": "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "v1alpha": "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
}


@pytest.fixture(scope="module")
async def orders(stack):  # type: ignore[no-untyped-def]
    await stack.start("orders")
    return stack.channel("orders")


async def _ask(channel, version: str, **request) -> reflection_pb2.ServerReflectionResponse:  # type: ignore[no-untyped-def]
    call = channel.stream_stream(
        PATHS[version],
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    stream = call(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=10)
    replies = [reply async for reply in stream]
    assert len(replies) == 1
    return replies[0]


def _comment(files: list[descriptor_pb2.FileDescriptorProto], service: str, method: str) -> str:
    for f in files:
        for i, s in enumerate(f.service):
            for j, m in enumerate(s.method):
                if f"{f.package}.{s.name}" == service and m.name == method:
                    where = {tuple(loc.path): loc for loc in f.source_code_info.location}
                    return where[(6, i, 2, j)].leading_comments
    raise AssertionError(f"{service}.{method} is in none of the files sent")


@pytest.mark.parametrize("version", sorted(PATHS))
async def test_list_services_names_the_service_and_both_reflection_versions(orders, version) -> None:  # type: ignore[no-untyped-def]
    reply = await _ask(orders, version, list_services="")
    names = {s.name for s in reply.list_services_response.service}
    assert {
        "onepool.orders.v1.OrderService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names


@pytest.mark.parametrize("version", sorted(PATHS))
async def test_describe_place_order_returns_its_comment_and_errors(orders, version) -> None:  # type: ignore[no-untyped-def]
    reply = await _ask(orders, version, file_containing_symbol="onepool.orders.v1.OrderService.PlaceOrder")
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in reply.file_descriptor_response.file_descriptor_proto
    ]
    comment = _comment(files, "onepool.orders.v1.OrderService", "PlaceOrder")
    assert "Idempotent on (channel_id, external_order_id)" in comment
    assert "Errors:" in comment and "NOT_FOUND" in comment

    # What grpcurl does next: a pool from the files sent (dependencies first) describes the method and its fields.
    pool = descriptor_pool.DescriptorPool()
    pending = {f.name: f for f in files}
    while pending:
        ready = [f for f in pending.values() if all(d not in pending for d in f.dependency)]
        assert ready, f"unresolvable dependencies among {sorted(pending)}"
        for f in ready:
            pool.Add(f)
            del pending[f.name]
    method = pool.FindMethodByName("onepool.orders.v1.OrderService.PlaceOrder")
    assert method.input_type.fields_by_name["external_order_id"].number == 2


@pytest.mark.parametrize("version", sorted(PATHS))
async def test_field_comments_come_back_by_file_name(orders, version) -> None:  # type: ignore[no-untyped-def]
    reply = await _ask(orders, version, file_by_filename="onepool/common/v1/common.proto")
    (common,) = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in reply.file_descriptor_response.file_descriptor_proto
        if descriptor_pb2.FileDescriptorProto.FromString(raw).name == "onepool/common/v1/common.proto"
    ]
    money = next(i for i, m in enumerate(common.message_type) if m.name == "Money")
    where = {tuple(loc.path): loc for loc in common.source_code_info.location}
    assert "minor units" in where[(4, money, 2, 1)].leading_comments  # Money.amount_minor


async def test_an_unknown_symbol_is_not_found_inside_the_stream(orders) -> None:  # type: ignore[no-untyped-def]
    reply = await _ask(orders, "v1", file_containing_symbol="onepool.orders.v1.NoSuchService")
    assert reply.error_response.error_code == 5  # NOT_FOUND
