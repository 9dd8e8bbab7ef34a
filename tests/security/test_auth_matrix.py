"""Every RPC of every service is protected: bad or missing tokens are UNAUTHENTICATED, roles outside an
RPC's row in its service's policy table are PERMISSION_DENIED, and no RPC is missing from a table."""

from __future__ import annotations

import importlib
import time

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool_runtime.auth import ROLES
from onepool_runtime.testing.services import TEST_SECRET, metadata

PACKAGES = {
    "orders": ("onepool.orders.v1.orders_pb2", "OrderService"),
    "inventory": ("onepool.inventory.v1.inventory_pb2", "InventoryService"),
    "channels": ("onepool.channels.v1.channels_pb2", "ChannelService"),
    "dealers": ("onepool.dealers.v1.dealers_pb2", "DealerService"),
    "settlement": ("onepool.settlement.v1.settlement_pb2", "SettlementService"),
}
SCOPES = {"channel": {"channel_id": "CH-1"}, "dealer": {"dealer_id": "D-1"}, "store": {"location_id": "L-1"}}


def methods():  # type: ignore[no-untyped-def]
    for service, (module, name) in PACKAGES.items():
        descriptor = importlib.import_module(module).DESCRIPTOR.services_by_name[name]
        for method in descriptor.methods:
            yield service, descriptor, method


ALL = list(methods())
IDS = [f"{s}.{m.name}" for s, _, m in ALL]


def _token(claims: dict, key: str = TEST_SECRET, drop: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:  # type: ignore[type-arg]
    base = {
        "role": "admin",
        "aud": "onepool",
        "iss": "onepool",
        "sub": "t",
        "iat": int(time.time()),
        "exp": int(time.time()) + 600,
    }
    payload = {k: v for k, v in {**base, **claims}.items() if k not in drop}
    return (("authorization", f"Bearer {jwt.encode(payload, key, algorithm='HS256')}"),)


BAD_CREDENTIALS = {
    "no token": (),
    "not a bearer": (("authorization", "Basic YWRtaW46YWRtaW4="),),
    "garbage": (("authorization", "Bearer not.a.jwt"),),
    "expired": _token({"exp": int(time.time()) - 60, "iat": int(time.time()) - 3600}),
    "bad signature": _token({}, key="someone-elses-secret-0123456789abcdef"),
    "wrong audience": _token({"aud": "another-system"}),
    "no audience": _token({}, drop=("aud",)),
    "wrong issuer": _token({"iss": "evil-issuer"}),  # signed with the right key (issue 9, item 7)
    "no issuer": _token({}, drop=("iss",)),
    "unknown role": _token({"role": "superuser"}),
    "channel role without channel": _token({"role": "channel"}),
}


@pytest.fixture(scope="module")
async def everything(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement")
    return stack


def _call(stack, service, descriptor, method):  # type: ignore[no-untyped-def]
    path = f"/{descriptor.full_name}/{method.name}"
    channel = stack.channel(service)
    kind = channel.unary_stream if method.server_streaming else channel.unary_unary
    return kind(path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=lambda b: b)


async def _code(stack, service, descriptor, method, md) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    from google.protobuf import message_factory

    request = message_factory.GetMessageClass(method.input_type)()
    call = _call(stack, service, descriptor, method)
    try:
        if method.server_streaming:
            async for _ in call(request, metadata=md, timeout=5):
                break
        else:
            await call(request, metadata=md, timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_every_rpc_has_a_row_in_its_service_policy_table() -> None:
    for service, descriptor, method in ALL:
        policy = importlib.import_module(f"onepool_{service}.entrypoints.policies").POLICY
        path = f"/{descriptor.full_name}/{method.name}"
        assert path in policy, f"{path} is missing from onepool_{service}.entrypoints.policies.POLICY"
        assert set(policy[path]) <= set(ROLES)


@pytest.mark.parametrize(("service", "descriptor", "method"), ALL, ids=IDS)
async def test_bad_credentials_are_unauthenticated(everything, service, descriptor, method) -> None:  # type: ignore[no-untyped-def]
    for label, md in BAD_CREDENTIALS.items():
        code = await _code(everything, service, descriptor, method, md)
        assert code == grpc.StatusCode.UNAUTHENTICATED, (label, code)


@pytest.mark.parametrize(("service", "descriptor", "method"), ALL, ids=IDS)
async def test_roles_outside_the_table_are_permission_denied(everything, service, descriptor, method) -> None:  # type: ignore[no-untyped-def]
    policy = importlib.import_module(f"onepool_{service}.entrypoints.policies").POLICY
    allowed = policy[f"/{descriptor.full_name}/{method.name}"]
    for role in ROLES:
        code = await _code(everything, service, descriptor, method, metadata(role, **SCOPES.get(role, {})))
        if role in allowed:
            assert code not in (grpc.StatusCode.UNAUTHENTICATED,), (role, code)
            assert code != grpc.StatusCode.INTERNAL, (role, code)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, (role, code)


async def test_health_and_reflection_need_no_token(everything) -> None:  # type: ignore[no-untyped-def]
    for service in PACKAGES:
        reply = await health_pb2_grpc.HealthStub(everything.channel(service)).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize(("service", "descriptor", "method"), ALL, ids=IDS)
async def test_malformed_requests_are_invalid_argument_never_internal(everything, service, descriptor, method) -> None:  # type: ignore[no-untyped-def]
    """Bytes that are not the request message, from a caller allowed to call the RPC."""
    path = f"/{descriptor.full_name}/{method.name}"
    channel = everything.channel(service)
    kind = channel.unary_stream if method.server_streaming else channel.unary_unary
    call = kind(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        if method.server_streaming:
            async for _ in call(b"\xff\xff\xff\xff not protobuf", metadata=metadata("admin"), timeout=5):
                break
        else:
            await call(b"\xff\xff\xff\xff not protobuf", metadata=metadata("admin"), timeout=5)
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, (exc.code(), exc.details())
    else:
        raise AssertionError("garbage was accepted")
