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
    # Started with an empty stock read model, the service rebuilds it from inventory; while inventory cannot
    # be reached it tries again this often.
    rebuild_retry_seconds: float = 5.0
