"""The real gateway (uvicorn serving onepool_gateway.app) in the test's event loop, on a free port, in front of
the services a `Stack` started."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from onepool_gateway.app import create_app
from onepool_gateway.settings import GatewaySettings
from onepool_runtime.embedded import free_port

ALLOWED_ORIGIN = "https://shop.example.com"


@contextlib.asynccontextmanager
async def running_gateway(stack: Any, **overrides: Any) -> AsyncIterator[str]:
    """Yields the gateway's base URL (http://127.0.0.1:<port>)."""
    peers = {f"{name}_addr": f"127.0.0.1:{port}" for name, port in stack.ports.items()}
    values: dict[str, Any] = {
        "gateway_host": "127.0.0.1",
        "gateway_port": free_port(),
        "gateway_cors_origins": ALLOWED_ORIGIN,
        "log_json": False,
        **peers,
    }
    settings = GatewaySettings(**{**values, **overrides})
    async with serving(create_app(settings), settings.gateway_host, settings.gateway_port):
        yield f"http://{settings.gateway_host}:{settings.gateway_port}"


@contextlib.asynccontextmanager
async def serving(app: Any, host: str, port: int) -> AsyncIterator[None]:
    """uvicorn serving `app` in this event loop until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))
    # uvicorn takes over SIGINT/SIGTERM while it serves; in a test the test runner keeps its own.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def envelope(payload: bytes, flags: int = 0) -> bytes:
    """One message as Connect streaming and gRPC-Web frame it: flags (1 byte), length (4 bytes, big endian)."""
    return struct.pack(">BI", flags, len(payload)) + payload


def frames(body: bytes) -> list[tuple[int, bytes]]:
    """(flags, payload) of every frame in an enveloped body."""
    out: list[tuple[int, bytes]] = []
    while body:
        flags, length = struct.unpack(">BI", body[:5])
        out.append((flags, body[5 : 5 + length]))
        body = body[5 + length :]
    return out
