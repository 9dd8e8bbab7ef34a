from __future__ import annotations

from onepool_kernel.stock import DEFAULT_HOLD_SECONDS, MAX_HOLD_SECONDS
from onepool_runtime.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    service_name: str = "inventory"
    grpc_port: int = 50052
    reservation_ttl_seconds: int = DEFAULT_HOLD_SECONDS
    reservation_max_ttl_seconds: int = MAX_HOLD_SECONDS
    sweeper_interval_seconds: float = 1.0
    sweeper_batch: int = 200
    # Concurrent Reserve calls are coalesced into batches of at most this many per transaction.
    reserve_batch_max: int = 256
    reserve_workers: int = 4
