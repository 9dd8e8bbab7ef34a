"""The return-window closer (a background task): an order whose returnable_until passed is closed to returns.

Each pass closes the due orders a batch at a time (handlers.close_return_windows): in one transaction it locks
them with `FOR UPDATE SKIP LOCKED`, marks each closed and writes OrderReturnWindowClosed to the outbox with the
change, and commits. Several replicas may run it at once: a row one holds is skipped by the others, and once
closed an order no longer matches, so each order's closing is published once.

Why it matters: until the window closes a return refunds the sale, so the order's income is not final
(Order.is_final). Dealers count a sale's share towards credit, and settlement pays it out, only from the event
this publishes (or a cancellation, or a whole refund).

Orders whose goods left on a replica of the release before the window have no deadline (that release's save
does not write it), so none would ever close: each pass first finds them (a partial index holding only them),
fixes their deadline as the domain fixes any (when the last goods left plus the channel's window) and closes
those already due in the same way, event once.

Due by the closer's clock alone: it claims the orders due by its now and closes them by the same now. The
database's clock ahead of it had the closer claim, every pass, orders the domain found not yet due.

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
        # Orders whose goods left on the release before the window, given their deadline by this closer.
        self.fixed = 0

    async def run(self) -> None:
        await repeat(self._one_pass, interval=self._interval, what="return-window close")

    async def _one_pass(self) -> bool:
        fixed_before = self.fixed
        closed = await self.run_once()
        return closed >= self._batch or self.fixed - fixed_before >= self._batch  # a full batch: more may be due

    async def run_once(self) -> int:
        """Fix the missing deadlines and close the due windows of one batch; returns how many closed."""
        fixed, closed = await run_in_transaction(self._uow, lambda uow: handlers.close_return_windows(uow, self._batch))
        for order_id in fixed:
            log.info("order %s: its goods left on the previous release; its return deadline is fixed now", order_id)
        for order_id in closed:
            log.info("order %s: its return window closed", order_id)
        self.fixed += len(fixed)
        self.closed += len(closed)
        return len(closed)
