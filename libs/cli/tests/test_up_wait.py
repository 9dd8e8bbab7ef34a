"""`onepool up` waits for the health checks by asking again every few tenths of a second, not at the pace of
gRPC's reconnect backoff (1 s, 1.6 s, 2.6 s, 4.1 s ...), which printed the banner 5-25 s after the services
already served.

The door here is a TCP listener that accepts and hangs up (a port whose server is not up yet, as gRPC sees
it) and counts how often the waiter knocks in a fixed window. The count, not a duration, is asserted: with the
backoff, gRPC knocks at most 4 times in 4 s (0, ~1, ~2.6 s, and the 4th no sooner than ~4.1 s); the waiter
must knock far more often than that.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from onepool_cli.up import wait_serving

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
