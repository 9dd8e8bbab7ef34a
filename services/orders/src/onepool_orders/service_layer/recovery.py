"""The recovery loop (a background task): nothing the orders service starts is left half-done.

Each pass:
1. PENDING orders whose PlaceOrder did not finish within `recovery_after_seconds` (inventory was
   unreachable, the caller gave up, the process died between Reserve and recording) are driven again by the
   same saga (placing.py), or cancelled when older than `pending_timeout_seconds`. Claiming pushes an order's
   next look into the future, so replicas share the work and a failing order is retried at that pace.
2. Stock requests still unsent (stock_sync.py) are sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.errors import DomainError
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.loops import repeat

from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.placing import OrderPlacement
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)


class Recovery:
    def __init__(
        self,
        uow_factory: Callable[[], OrdersUnitOfWork],
        placement: OrderPlacement,
        stock: StockSync,
        *,
        interval_seconds: float,
        retry_in_seconds: float,
        batch: int,
    ) -> None:
        self._uow = uow_factory
        self._placement = placement
        self._stock = stock
        self._interval = interval_seconds
        self._retry_in = retry_in_seconds
        self._batch = batch
        self.resolved = 0

    async def run(self) -> None:
        await repeat(self._one_pass, interval=self._interval, what="recovery pass")

    async def _one_pass(self) -> None:
        await self.run_once()

    async def run_once(self) -> int:
        stuck = await run_in_transaction(
            self._uow, lambda uow: handlers.claim_stuck_orders(uow, self._batch, self._retry_in)
        )
        for order in stuck:
            try:
                result = await self._placement.drive(order, fresh=False)
            except DomainError as exc:
                log.warning("order %s still PENDING, retried later: %s", order.id, exc)
                continue
            except Exception:  # one broken order must not stop the others being recovered
                log.exception("recovering order %s failed; retried later", order.id)
                continue
            self.resolved += 1
            log.info("recovered order %s: %s", order.id, result.status.value)
        await self._stock.send_due(self._batch)
        return len(stuck)
