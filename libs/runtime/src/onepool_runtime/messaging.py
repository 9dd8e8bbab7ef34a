"""NATS connection and JetStream streams. One stream per service (contracts.md), plus the DLQ stream."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from onepool_runtime.consumer import DLQ_STREAM, DLQ_SUBJECTS

log = logging.getLogger(__name__)

STREAMS: dict[str, str] = {
    "orders": "ORDERS",
    "inventory": "INVENTORY",
    "channels": "CHANNELS",
    "dealers": "DEALERS",
    "settlement": "SETTLEMENT",
}

# Long enough to drop every re-publish by a relay that died between PubAck and marking its row.
DUPLICATE_WINDOW_SECONDS = 600.0


async def connect(url: str, name: str) -> Client:
    async def _error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    async def _disconnected() -> None:
        log.warning("nats: disconnected")

    async def _reconnected() -> None:
        log.info("nats: reconnected")

    return await nats.connect(
        servers=[url],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=_error,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
    )


async def ensure_stream(js: JetStreamContext, name: str, subjects: list[str]) -> None:
    config = StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=7 * 24 * 3600.0,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_service_stream(js: JetStreamContext, service: str) -> None:
    await ensure_stream(js, STREAMS[service], [f"{service}.>"])
    await ensure_stream(js, DLQ_STREAM, DLQ_SUBJECTS)


async def ensure_named_stream(js: JetStreamContext, stream: str) -> None:
    """Create a stream this service consumes from, so services can start in any order."""
    for service, name in STREAMS.items():
        if name == stream:
            await ensure_stream(js, name, [f"{service}.>"])
            return
    raise ValueError(f"unknown stream {stream!r}")


async def ensure_all_streams(js: JetStreamContext) -> None:
    for service in STREAMS:
        await ensure_service_stream(js, service)
