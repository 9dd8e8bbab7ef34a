"""`onepool up` waits for the health checks by asking again every few tenths of a second, not at the pace of
gRPC's reconnect backoff (1 s, 1.6 s, 2.6 s, 4.1 s ...), which printed the banner 5-25 s after the services
already served.

The door here is a TCP listener that accepts and hangs up (a port whose server is not up yet, as gRPC sees
it) and counts how often the waiter knocks in a fixed window. The count, not a duration, is asserted: with the
backoff, gRPC knocks at most 4 times in 4 s (0, ~1, ~2.6 s, and the 4th no sooner than ~4.1 s); the waiter
must knock far more often than that.

And only the child named for a port can satisfy its wait: a health check answered by another process on that
port (another stack's service) does not count.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from onepool_cli.up import wait_all, wait_gateway, wait_serving
from onepool_runtime.embedded import free_port

pytestmark = pytest.mark.asyncio
WINDOW_SECONDS = 4.0


async def test_the_wait_keeps_knocking_instead_of_backing_off() -> None:
    knocks = 0

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal knocks
        knocks += 1
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        served = await wait_serving(port, "127.0.0.1", time.monotonic() + WINDOW_SECONDS)
    finally:
        server.close()
        await server.wait_closed()
    assert served is False
    assert knocks >= 8, f"{knocks} connection attempts in {WINDOW_SECONDS}s: the wait is following the backoff"


# A child that serves health SERVING on the port it is given, as a service does once it is up.
_SERVING_CHILD = """
import asyncio, sys
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

async def main():
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[1]}")
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    await asyncio.sleep(60)

asyncio.run(main())
"""


@contextlib.asynccontextmanager
async def _impostor_health(port: int) -> AsyncIterator[None]:
    """A health service answering SERVING on `port` from this process: another stack's service."""
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    try:
        yield
    finally:
        await server.stop(None)


@contextlib.contextmanager
def _child(*argv: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *argv])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


async def test_health_answered_by_a_process_that_is_not_the_child_does_not_count() -> None:
    """Another stack on the same ports answered every health check while this one's services were still
    importing (then failed to bind): `up` printed its banner and token, and stopped seconds later."""
    port = free_port()
    async with _impostor_health(port):
        with _child("-c", "import time; time.sleep(60)") as child:  # alive, never listening
            exited, waiting = await wait_all({"orders": port}, "127.0.0.1", [("orders", child)], time.monotonic() + 3)
    assert (exited, waiting) == (None, ["orders"])


async def test_health_answered_by_the_child_counts() -> None:
    port = free_port()
    with _child("-c", _SERVING_CHILD, str(port)) as child:
        exited, waiting = await wait_all({"orders": port}, "127.0.0.1", [("orders", child)], time.monotonic() + 30)
    assert (exited, waiting) == (None, [])


async def test_a_gateway_health_answered_by_another_process_does_not_count() -> None:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with _child("-c", "import time; time.sleep(60)") as child:
            exited, answered = await wait_gateway(
                f"http://127.0.0.1:{port}/healthz", [("gateway", child)], time.monotonic() + 3
            )
    finally:
        server.shutdown()
        server.server_close()
    assert (exited, answered) == (None, False)


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass
