"""Helpers for tests that talk to JetStream directly."""

from __future__ import annotations

import contextlib

import nats
from nats.js.errors import NotFoundError

from onepool_runtime.consumer import DLQ_STREAM
from onepool_runtime.messaging import STREAMS


async def purge_onepool_streams(url: str) -> None:
    """With a shared external NATS, start each module from empty streams (names are fixed by contract)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for stream in [*STREAMS.values(), DLQ_STREAM]:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
    finally:
        await nc.close()
