"""The balance sweeper (a background task): a presale order whose balance is not paid by its deadline lapses.

Each pass lapses the overdue DEPOSIT_PAID orders a batch at a time (handlers.lapse_overdue_balances): in one
transaction it locks them with `FOR UPDATE SKIP LOCKED`, cancels each (its units are released, its deposit
refunded or kept as the rule it was paid under says, OrderCancelled published) and commits; then it sends each lapsed
order's release to inventory at once (the recovery loop sends whatever could not be sent). Several replicas
may sweep at the same time: a row one holds is skipped by the others, and once lapsed an order no longer
matches, so each order lapses once and publishes one event.

A balance paid at the deadline races the sweeper on the order's row lock: whichever locks it first wins,
and the other sees the order as it left it (PayOrder then answers FAILED_PRECONDITION; the sweeper skips a
paid order). PayOrder also refuses a balance once its deadline has passed, even before the sweeper runs, and a
CancelOrder then is the lapse the sweeper would make (handlers.cancel_order: a KEEP deposit is kept).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.loops import repeat

from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)


class BalanceSweeper:
    def __init__(
        self,
        uow_factory: Callable[[], OrdersUnitOfWork],
        stock: StockSync,
        *,
        interval_seconds: float,
        batch: int,
    ) -> None:
        self._uow = uow_factory
        self._stock = stock
        self._interval = interval_seconds
        self._batch = batch
        self.lapsed = 0

    async def run(self) -> None:
        await repeat(self._one_pass, interval=self._interval, what="balance sweep")

    async def _one_pass(self) -> bool:
        return await self.run_once() >= self._batch  # a full batch: more may be overdue

    async def run_once(self) -> int:
        """Lapse one batch of overdue orders; returns how many lapsed."""
        lapsed = await run_in_transaction(self._uow, lambda uow: handlers.lapse_overdue_balances(uow, self._batch))
        for order_id in lapsed:
            log.info("order %s lapsed: its balance was not paid in time", order_id)
            try:
                await self._stock.send_for_order(order_id)
            except Exception:  # recorded with the change; the recovery loop sends it
                log.exception("releasing the stock of lapsed order %s failed; the recovery loop will retry", order_id)
        self.lapsed += len(lapsed)
        return len(lapsed)
