"""The return-window closer (a background task): an order whose returnable_until passed is closed to returns.

Each pass closes the due orders a batch at a time (handlers.close_return_windows): in one transaction it locks
them with `FOR UPDATE SKIP LOCKED`, marks each closed and writes OrderReturnWindowClosed to the outbox with the
change, and commits. Several replicas may run it at once: a row one holds is skipped by the others, and once
closed an order no longer matches, so each order's closing is published once.

Why it matters: until the window closes a return refunds the sale, so the order's income is not final
(Order.is_final). Dealers count a sale's share towards credit, and settlement pays it out, only from the event
this publishes (or a cancellation, or a whole refund).

A return at the deadline races the closer on the order's row lock: whichever locks it first wins. A return
after the deadline is refused even before the closer runs (Order.window_closed), unless an operator accepts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.loops import repeat

from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)


class ReturnWindowCloser:
    def __init__(self, uow_factory: Callable[[], OrdersUnitOfWork], *, interval_seconds: float, batch: int) -> None:
        self._uow = uow_factory
        self._interval = interval_seconds
        self._batch = batch
        self.closed = 0

    async def run(self) -> None:
        await repeat(self._one_pass, interval=self._interval, what="return-window close")

    async def _one_pass(self) -> bool:
        return await self.run_once() >= self._batch  # a full batch: more may be due

    async def run_once(self) -> int:
        """Close one batch of due windows; returns how many closed."""
        closed = await run_in_transaction(self._uow, lambda uow: handlers.close_return_windows(uow, self._batch))
        for order_id in closed:
            log.info("order %s: its return window closed", order_id)
        self.closed += len(closed)
        return len(closed)
