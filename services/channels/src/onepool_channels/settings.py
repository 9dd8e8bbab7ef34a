from __future__ import annotations

from onepool_runtime.settings import ServiceSettings
from pydantic import Field


class ChannelsSettings(ServiceSettings):
    service_name: str = "channels"
    grpc_port: int = 50053
    # ImportOrder payloads larger than this are refused (marketplace order JSON is a few KiB).
    import_max_payload_bytes: int = 512 * 1024
    # Deadline of the PlaceOrder call an import makes.
    orders_timeout_seconds: float = 10.0
    # How long an import waits for orders' copy of a listing to catch up with a price change channels just made
    # (at most half the caller's remaining deadline) before answering UNAVAILABLE, which the connector retries.
    import_listing_wait_seconds: float = Field(default=3.0, ge=0)
    # Updates buffered per WatchChannelStock stream; a slower client is resynchronised from a snapshot.
    watch_queue_size: int = 1000
    # How often the watch hub checks whether NATS reconnected (updates may have been missed meanwhile).
    watch_reconnect_check_seconds: float = 1.0
    # Started before any rebuild of the stock read model has finished (a fresh, wiped or half-rebuilt one), the
    # service rebuilds it from inventory; after a failure it tries again this long after, doubling each time up
    # to rebuild_retry_max_seconds. A replica waiting for another's rebuild (or announcement) asks this often.
    rebuild_retry_seconds: float = 5.0
    rebuild_retry_max_seconds: float = 60.0
    # A replica starting within this long of the last announcement of every channel and listing, while the
    # CHANNELS stream still holds all of it, does not announce again (service_layer/announcement.py).
    announce_interval_seconds: float = Field(default=900.0, ge=0)
