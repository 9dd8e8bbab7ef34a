"""Sends the stock requests an order recorded (commit, release, fulfill, restock) to inventory.

The change to the order and its requests to inventory commit together (domain/stock_requests.py), so a
payment, cancellation or return that is recorded is always, eventually, applied to stock; and nothing is
applied to stock for a change that was not recorded. Right after a use case commits, its servicer sends the
order's requests at once (so callers see stock move before they get their answer); the recovery loop sends
whatever is left (inventory was unreachable, or the process died) with backoff. A shipment is not queued:
inventory is asked before it is recorded (lifecycle.py `_hand_over`; an operator may have released the
reservation, and goods must not leave then); nor is the release of a paid order whose commit inventory
confirmed (lifecycle.py `_release_first`: goods may have left without orders knowing yet). FulfillReservation
rows queued before that are still sent here, idempotent on their request id.

Each order's requests are sent one at a time in the order they were recorded (a commit before a fulfillment,
a fulfillment before a return). A request inventory refuses for good is set aside with its error for an
operator, except one case the order handles itself: a payment whose reservation had already lapsed cancels
the order with the payment due back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.errors import Conflict, DomainError, Unavailable
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.metrics import meter

from onepool_orders.adapters.repository import PendingStockRequest
from onepool_orders.domain import stock_requests as sr
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.ports import Inventory
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)

refused_requests = meter.create_counter(
    "onepool.orders.stock_requests.refused",
    description="Stock requests inventory refused for good, by kind and reason (its ErrorInfo reason)",
)


class StockSync:
    def __init__(
        self,
        uow_factory: Callable[[], OrdersUnitOfWork],
        inventory: Inventory,
        *,
        lease_seconds: float,
        retry_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self._uow = uow_factory
        self._inventory = inventory
        self._lease = lease_seconds
        self._retry = retry_seconds
        self._retry_max = retry_max_seconds

    def _single(self) -> OrdersUnitOfWork:
        """Claiming a request and marking it done are one statement each: no transaction around them."""
        return self._uow().single_statement()

    async def send_for_order(self, order_id: str) -> bool:
        """Send this order's due requests now, in order. True if sending changed the order (so the caller
        should read it again)."""
        changed = False
        while True:
            pending = await run_in_transaction(
                self._single, lambda uow: uow.stock_requests.claim_next(order_id, self._lease)
            )
            if pending is None:
                return changed
            sent, order_changed = await self._send(pending)
            changed = changed or order_changed
            if not sent:
                return changed

    async def send_due(self, limit: int) -> int:
        """The recovery loop's pass: send the oldest due request of up to `limit` orders, then the rest of
        each order's requests behind it. Returns how many orders had something to send."""
        heads = await run_in_transaction(self._uow, lambda uow: uow.stock_requests.claim_due(limit, self._lease))
        for pending in heads:
            sent, _ = await self._send(pending)
            if sent:
                await self.send_for_order(pending.order_id)
        return len(heads)

    async def _send(self, pending: PendingStockRequest) -> tuple[bool, bool]:
        """(sent or set aside, so the next may go; the order changed)."""
        try:
            await self._apply(pending.request)
        except (Unavailable, Conflict) as exc:
            delay, error = min(self._retry * 2 ** (pending.attempts - 1), self._retry_max), str(exc)
            log.warning(
                "stock request %d for order %s will be retried in %.1fs: %s",
                pending.seq,
                pending.order_id,
                delay,
                error,
            )
            await run_in_transaction(self._uow, lambda uow: uow.stock_requests.retry_later(pending.seq, delay, error))
            return False, False
        except DomainError as exc:
            return True, await self._refused(pending, exc)
        await run_in_transaction(self._single, lambda uow: uow.stock_requests.done(pending.seq))
        return True, False

    async def _apply(self, request: sr.StockRequest) -> None:
        match request:
            case sr.CommitReservation(reservation_id=rid):
                await self._inventory.commit(rid)
            case sr.ReleaseReservation(reservation_id=rid, reason=reason):
                await self._inventory.release(rid, reason)
            case sr.FulfillReservation(reservation_id=rid, location_id=loc, lines=lines, request_id=key):
                await self._inventory.fulfill(rid, loc, lines, key)
            case sr.RestockReturn(location_id=loc, lines=lines, request_id=key, reference=ref, reason=reason):
                await self._inventory.restock(loc, lines, key, ref, reason)
            case _:
                raise TypeError(f"unknown stock request {request!r}")

    async def _refused(self, pending: PendingStockRequest, exc: DomainError) -> bool:
        request = pending.request
        # Inventory's ErrorInfo reason where it gave one (RESERVATION_EXPIRED): what an operator acts on.
        reason = getattr(exc, "reason", "")
        error = f"{type(exc).__name__}{f' {reason}' if reason else ''}: {exc.message}"

        async def set_aside(uow: OrdersUnitOfWork) -> bool:
            await uow.stock_requests.refused(pending.seq, error)
            if isinstance(request, sr.CommitReservation):
                return await handlers.commit_refused(uow, pending.order_id, request.reservation_id)
            return False

        changed = await run_in_transaction(self._uow, set_aside)
        # Counted once set aside: a transaction retried above must not count the refusal twice.
        refused_requests.add(1, {"kind": type(request).__name__, "reason": reason or type(exc).__name__})
        if not changed:
            log.error(
                "inventory refused stock request %d for order %s (%r): %s; set aside for an operator",
                pending.seq,
                pending.order_id,
                request,
                exc,
            )
        return changed
