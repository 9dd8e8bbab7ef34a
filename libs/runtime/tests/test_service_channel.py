"""Calls between services take replies past gRPC's 4 MiB default: a big GetAvailability is a valid answer."""

from __future__ import annotations

import grpc
import pytest
from onepool_runtime.clients import service_channel
from onepool_runtime.settings import ServiceSettings

pytestmark = pytest.mark.asyncio

BIG = 5 * 1024 * 1024


async def test_a_reply_larger_than_grpcs_default_reaches_the_calling_service() -> None:
    async def big(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b"x" * BIG

    server = grpc.aio.server()
    handler = grpc.unary_unary_rpc_method_handler(big)
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Big", {"Get": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with service_channel(f"127.0.0.1:{port}", ServiceSettings(service_name="test")) as channel:
            reply = await channel.unary_unary("/test.Big/Get")(b"", timeout=10)
        assert len(reply) == BIG
    finally:
        await server.stop(None)
