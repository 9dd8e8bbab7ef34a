from __future__ import annotations

from onepool_kernel.stock import DEFAULT_HOLD_SECONDS, MAX_HOLD_SECONDS
from onepool_runtime.settings import ServiceSettings
from pydantic import Field


class OrdersSettings(ServiceSettings):
    service_name: str = "orders"
    grpc_port: int = 50051

    # Every call to inventory has this deadline; past it inventory counts as unavailable.
    inventory_timeout_seconds: float = 5.0
    # ShipFulfillment, ConfirmPickup and CancelOrder ask inventory while the order's row is locked, holding a
    # database connection for up to twice inventory_timeout_seconds. At most this many do so at once (0: half
    # of db_pool_size), so a slow inventory never takes every connection from the calls that do not need it;
    # the rest wait their turn without a connection, up to inventory_timeout_seconds, then UNAVAILABLE.
    inventory_calls_holding_connection: int = Field(default=0, ge=0)
    # How long an unpaid order holds its stock (the reservation TTL) unless PlaceOrder asks otherwise.
    payment_ttl_seconds: int = DEFAULT_HOLD_SECONDS
    payment_max_ttl_seconds: int = MAX_HOLD_SECONDS  # inventory's reservation_max_ttl_seconds must allow it

    # The saga recovery loop: how often it looks, when a PENDING order counts as stuck (its PlaceOrder call
    # died or gave up), and when a stuck order is given up and cancelled instead of being driven again.
    recovery_interval_seconds: float = 2.0
    recovery_after_seconds: float = 5.0
    pending_timeout_seconds: float = 600.0
    recovery_batch: int = 50
    # Inventory requests (commit, release, fulfill, restock) that failed transiently are retried with this
    # base delay, doubling per attempt up to the cap.
    stock_retry_seconds: float = 1.0
    stock_retry_max_seconds: float = 60.0
    # A request inventory has answered is kept this long (what orders told inventory about an order, for an
    # operator looking into it), then purged every `stock_request_purge_interval_seconds`; failed ones stay.
    stock_request_retention_hours: float = Field(default=7 * 24.0, gt=0)
    stock_request_purge_interval_seconds: float = Field(default=600.0, gt=0)
    # How often the waiting-orders gauges are measured (entrypoints/waiting_gauges.py): one small read.
    waiting_gauge_interval_seconds: float = Field(default=30.0, gt=0)
    # Presale: how often the balance sweeper looks for DEPOSIT_PAID orders past their balance deadline, and how
    # many it lapses per transaction (docs/presale.md).
    balance_sweep_interval_seconds: float = 5.0
    balance_sweep_batch: int = 50
    # How often the return-window closer looks for orders whose returnable_until passed, and how many it closes
    # per transaction (service_layer/return_windows.py).
    return_window_interval_seconds: float = Field(default=30.0, gt=0)
    return_window_batch: int = Field(default=100, gt=0)

    @property
    def hand_over_slots(self) -> int:
        return self.inventory_calls_holding_connection or max(1, self.db_pool_size // 2)

    fault_exit_after_reserve: bool = Field(
        default=False,
        description=(
            "TEST ONLY (fault injection). When true the process exits abruptly (os._exit) right after inventory "
            "accepted a reservation and before the order is recorded, so tests can prove that a crash at the "
            "worst moment leaves no stuck order and no stock held past its TTL. Never set it in production."
        ),
    )
