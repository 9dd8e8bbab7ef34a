"""NATS connection and JetStream streams. One stream per service (contracts.md), plus the DLQ stream.

A NATS cluster: `nats_url` may list several servers, comma-separated (the client also learns the rest of
the cluster from the server it reaches). On losing its server the client reconnects, without end, to any
surviving one; meanwhile publishes wait in the client's buffer or fail, and the outbox keeps every event
until its PubAck, so nothing is lost; `Nats-Msg-Id` and the inbox drop what is sent twice. Streams get
`nats_stream_replicas` copies (3 on a three-node cluster: one node may go down, a stream keeps its quorum)
and, when set, a placement (cluster name and server tags). A stream's replicas follow the setting on the
next start (JetStream scales a stream up or down in place); a placement that differs from the stream's is
kept as it is, with a warning (JetStream cannot move a stream by an update).

Failure modes: no server reachable at start: `connect` raises (the host retries); a stream that cannot get
its replicas (fewer servers than replicas): JetStream refuses, and the service does not start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, Placement, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from onepool_runtime.consumer import DLQ_STREAM, DLQ_SUBJECTS
from onepool_runtime.settings import ServiceSettings

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


@dataclass(frozen=True)
class StreamOptions:
    """How many copies of each stream, and where (settings: nats_stream_replicas, nats_placement_*)."""

    replicas: int = 1
    placement_cluster: str = ""
    placement_tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: ServiceSettings) -> StreamOptions:
        tags = tuple(t.strip() for t in settings.nats_placement_tags.split(",") if t.strip())
        return cls(settings.nats_stream_replicas, settings.nats_placement_cluster, tags)

    @property
    def placement(self) -> Placement | None:
        if not (self.placement_cluster or self.placement_tags):
            return None
        return Placement(cluster=self.placement_cluster or None, tags=list(self.placement_tags) or None)


def server_urls(url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` -> both; one URL -> itself."""
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise ValueError("no NATS server URL given")
    return urls


async def connect(
    url: str,
    name: str,
    *,
    reconnect_wait: float = 0.5,
    ping_interval: float = 10.0,
) -> Client:
    """Connect to any of the servers in `url` (comma-separated); reconnect to any survivor, forever.

    A ping every `ping_interval` seconds (two missed: the connection is dropped and a reconnect begins)
    notices a server that vanished without closing its sockets (a node lost in a network split), which
    nats-py's own default of 2 minutes would leave unnoticed for 4."""

    async def _error(exc: Exception) -> None:
        log.warning("nats: %s", exc)

    async def _disconnected() -> None:
        log.warning("nats: disconnected")

    async def _reconnected() -> None:
        log.info("nats: reconnected")

    return await nats.connect(
        servers=server_urls(url),
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=reconnect_wait,
        ping_interval=ping_interval,
        max_outstanding_pings=2,
        connect_timeout=5,
        error_cb=_error,
        disconnected_cb=_disconnected,
        reconnected_cb=_reconnected,
    )


# Dead letters share the nodes' JetStream store with every stream, and a full store refuses every publish: a
# flood of poison messages must not stop the events of every service. Past this the oldest letters go first
# (onepool_consumer_dead_letters_total still counts each one; alert on it).
DLQ_MAX_BYTES = 1024**3


async def ensure_stream(
    js: JetStreamContext, name: str, subjects: list[str], options: StreamOptions = StreamOptions()
) -> None:
    config = StreamConfig(
        name=name,
        subjects=subjects,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=7 * 24 * 3600.0,
        max_bytes=DLQ_MAX_BYTES if name == DLQ_STREAM else -1,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=options.replicas,
        placement=options.placement,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        try:
            await js.update_stream(config)
        except BadRequestError as exc:
            if config.placement is None:
                raise
            # JetStream cannot move an existing stream by an update: keep it where it is, say so.
            log.warning("stream %s keeps its placement (%s); updating the rest", name, exc)
            config.placement = None
            await js.update_stream(config)


async def ensure_service_stream(js: JetStreamContext, service: str, options: StreamOptions = StreamOptions()) -> None:
    await ensure_stream(js, STREAMS[service], [f"{service}.>"], options)
    await ensure_stream(js, DLQ_STREAM, DLQ_SUBJECTS, options)


async def ensure_named_stream(js: JetStreamContext, stream: str, options: StreamOptions = StreamOptions()) -> None:
    """Create a stream this service consumes from, so services can start in any order."""
    for service, name in STREAMS.items():
        if name == stream:
            await ensure_stream(js, name, [f"{service}.>"], options)
            return
    raise ValueError(f"unknown stream {stream!r}")


async def ensure_all_streams(js: JetStreamContext, options: StreamOptions = StreamOptions()) -> None:
    for service in STREAMS:
        await ensure_service_stream(js, service, options)
