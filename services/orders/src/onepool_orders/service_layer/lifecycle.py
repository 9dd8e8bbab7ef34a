"""The order lifecycle commands as callers run them: each change commits in one transaction, then the stock
requests it recorded are sent to inventory at once, so inventory has caught up by the time the caller hears
back. If inventory is unreachable they are sent later by the recovery loop (stock_sync.py); the answer
stands, because the change and its requests committed together. Goods leave (ShipFulfillment, ConfirmPickup)
only once inventory has confirmed the payment's commit, and only if inventory itself lets them leave first:
that one is not queued but asked before anything is recorded (`_leave`), since an operator may have released
the reservation meanwhile and goods that left then would be sold twice. Likewise a paid order's cancellation
releases its reservation before it is recorded (`_release_first`): goods inventory let leave while orders did
not know it yet (a shipment's answer came too late) are recorded as left, never refunded.

Failure modes: the change's own errors (NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT, the guard's
PERMISSION_DENIED) leave everything as it was; a return to a location inventory does not know (or that is
inactive) is NOT_FOUND before anything is recorded, so a return that cannot be restocked is never half done;
a return at a location the caller may not receive at (a dealer at another's) is PERMISSION_DENIED, also
before anything is recorded; inventory unreachable when goods would leave or a paid order be cancelled is
UNAVAILABLE, nothing recorded. Those three calls hold a connection while inventory answers, so only `slots` of
them run at once (`Turns`); a call that cannot have one in time is UNAVAILABLE too, nothing recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TypeVar

from google.protobuf.message import Message
from onepool_runtime.auth import scoped_key
from onepool_runtime.errors import DomainError, FailedPrecondition, Unavailable, found
from onepool_runtime.servicer import UseCases

from onepool_orders.domain import commands
from onepool_orders.domain.model import Order, OrderStatus, Return
from onepool_orders.domain.stock_requests import (
    CommitNotConfirmed,
    FulfillReservation,
    ReleaseReservation,
    refused_to_leave,
)
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.handlers import Guard
from onepool_orders.service_layer.placing import release_unrecorded
from onepool_orders.service_layer.ports import Inventory, ReservationState, ReturnLocation
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Message)


class Turns:
    """Turns to ask inventory while holding a connection (settings.inventory_calls_holding_connection): a slow
    inventory then holds at most `slots` connections, and every other call keeps being served. Waiting for a
    turn holds no connection; past `wait` seconds the caller is told to retry, nothing done."""

    def __init__(self, slots: int, wait: float) -> None:
        self._free = asyncio.Semaphore(slots)
        self._wait = wait

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._wait):
                await self._free.acquire()
        except TimeoutError:
            raise Unavailable(
                "too many shipments and cancellations are waiting on inventory; nothing was recorded; retry"
            ) from None
        try:
            yield
        finally:
            self._free.release()


class OrderLifecycle:
    def __init__(
        self, use: UseCases[OrdersUnitOfWork], stock: StockSync, inventory: Inventory, turns: Turns | None = None
    ) -> None:
        self._use = use
        self._stock = stock
        self._inventory = inventory
        self._turns = turns or Turns(slots=10, wait=5.0)

    async def pay(self, cmd: commands.PayOrder, guard: Guard) -> Order:
        return await self._change(cmd.order_id, lambda uow: handlers.pay_order(uow, cmd, guard))

    async def cancel(self, cmd: commands.CancelOrder, guard: Guard) -> Order:
        def produce(uow: OrdersUnitOfWork) -> Awaitable[Order]:
            return handlers.cancel_order(uow, cmd, guard, release=self._release_first)

        async with self._turns.turn():
            order = await self._change(cmd.order_id, produce)
            if order.status is OrderStatus.SHIPPED and not order.unshipped_cancelled:
                # Inventory had let all of it leave: that is recorded now, and the cancel is refused as for any
                # shipped order (INVALID_ORDER_STATE) by trying it once more.
                order = await self._change(cmd.order_id, produce)
        if order.status is OrderStatus.CANCELLED and not order.was_placed:
            # Cancelled while PENDING: no reservation is recorded, but inventory may hold one made for it.
            await release_unrecorded(self._inventory, order, order.status_reason)
        return order

    async def change_delivery_address(
        self, cmd: commands.ChangeDeliveryAddress, guard: Guard, *, request: Message, answer: Callable[[Order], R]
    ) -> R:
        """Idempotent on the request id: a repeated request gets `answer`'s bytes of the first. Nothing goes to
        inventory: the stock stays where it is held."""

        async def produce(uow: OrdersUnitOfWork) -> R:
            return answer(await handlers.change_delivery_address(uow, cmd, guard))

        return await self._use.write(produce, request=request, request_id=cmd.request_id)

    async def reprice(
        self, cmd: commands.RepriceOrder, guard: Guard, *, request: Message, answer: Callable[[Order], R]
    ) -> R:
        """Idempotent on the request id, as change_delivery_address. Nothing goes to inventory: the
        reservation holds the same units."""

        async def produce(uow: OrdersUnitOfWork) -> R:
            return answer(await handlers.reprice_order(uow, cmd, guard))

        return await self._use.write(produce, request=request, request_id=cmd.request_id)

    async def ship(self, cmd: commands.ShipFulfillment, guard: Guard) -> Order:
        hand_over = self._hand_over(cmd.order_id, cmd.fulfillment_id)
        return await self._leave(
            cmd.order_id, lambda uow: handlers.ship_fulfillment(uow, cmd, guard, hand_over=hand_over)
        )

    async def confirm_pickup(self, cmd: commands.ConfirmPickup, guard: Guard) -> Order:
        hand_over = self._hand_over(cmd.order_id, cmd.fulfillment_id)
        return await self._leave(
            cmd.order_id, lambda uow: handlers.confirm_pickup(uow, cmd, guard, hand_over=hand_over)
        )

    async def _leave(self, order_id: str, produce: Callable[[OrdersUnitOfWork], Awaitable[Order]]) -> Order:
        """Goods leave only once inventory confirmed the order's commit: one still queued (inventory was
        unreachable at payment) is sent now and the change tried once more; still unanswered, the caller gets
        UNAVAILABLE with retry advice (CommitNotConfirmed), refused, STOCK_NOT_HELD. Then inventory itself is
        asked to let them leave before the shipment is recorded (`_hand_over`)."""
        async with self._turns.turn():
            try:
                return await self._change(order_id, produce)
            except CommitNotConfirmed:
                await self._send_stock_requests(order_id)
                return await self._change(order_id, produce)

    def _hand_over(self, order_id: str, fulfillment_id: str) -> handlers.HandOver:
        """Inventory's FulfillReservation, sent while the order is locked and before the shipment is recorded
        (handlers._leave): unreachable, the caller gets UNAVAILABLE and nothing is recorded; refused (an
        operator released the reservation first), STOCK_NOT_HELD. If orders stops after inventory accepted,
        the caller's retry gets the same answer (the same request id), and a caller that never retries has the
        shipment recorded from inventory's inventory.reservation.fulfilled (handlers.fulfilled_in_inventory)."""

        async def tell(request: FulfillReservation) -> None:
            await self._inventory.fulfill(
                request.reservation_id, request.location_id, request.lines, request.request_id
            )

        async def fulfill(request: FulfillReservation) -> None:
            try:
                try:
                    await tell(request)
                except Unavailable:
                    # Inventory may have applied it and answered after our deadline: asked again with the same
                    # request id, it replays what it committed, so a late answer need not fail the shipment
                    # (and leave goods gone that a CancelOrder would then refund).
                    await tell(request)
            except DomainError as exc:
                answer = refused_to_leave(order_id, fulfillment_id, request, exc)
                if answer is exc:
                    raise
                raise answer from exc

        return fulfill

    async def _release_first(self, request: ReleaseReservation) -> frozenset[str]:
        """ReleaseReservation for a CancelOrder, sent while the order is locked and before anything is recorded
        (handlers.cancel_order). Inventory serialises it with a fulfillment, so the reservation it returns shows
        for good what had left: those locations are recorded as left, only the rest cancelled. Unreachable: the
        caller gets UNAVAILABLE and nothing is recorded (a release inventory applied meanwhile is heard as an
        operator's: its event cancels the order the same way)."""
        try:
            return (await self._inventory.release(request.reservation_id, request.reason)).left_at
        except Unavailable as exc:
            raise Unavailable(
                f"cannot cancel now: inventory could not release reservation {request.reservation_id} "
                f"({exc.message}); nothing was recorded; retry"
            ) from exc
        except FailedPrecondition as exc:
            if exc.metadata.get("status") != ReservationState.FULFILLED.value:
                raise
            # Everything had left: the release is refused, and the reservation shows where.
            return (await self._inventory.reservation(request.reservation_id)).left_at

    async def complete(self, cmd: commands.CompleteOrder, guard: Guard) -> Order:
        return await self._change(cmd.order_id, lambda uow: handlers.complete_order(uow, cmd, guard))

    async def return_items(
        self,
        cmd: commands.ReturnItems,
        guard: Guard,
        *,
        request: Message,
        answer: Callable[[Order, Return], R],
        receives_at: Callable[[ReturnLocation], Guard] | None = None,
    ) -> R:
        """Idempotent on the request id: a repeated request gets `answer`'s bytes of the first, unchanged, even
        once the location check below would fail (the shop closed since, inventory is unreachable).
        `receives_at` is the caller's check of the receiving location (its owner is known only here)."""
        first = await self._use.replay(request, cmd.request_id)
        if first is not None:
            return first  # type: ignore[return-value]  # the stored bytes of `answer`'s message
        # Checked before anything is recorded: a return that cannot be restocked is refused, not half-done.
        location = found(
            await self._inventory.receiving_location(cmd.return_location_id), "location", cmd.return_location_id
        )
        at_location = receives_at(location) if receives_at else None
        # The return row keeps the caller-scoped id: two shops that number their returns alike do not collide.
        scoped = replace(cmd, request_id=scoped_key(cmd.request_id))

        def allowed(order: Order) -> None:
            guard(order)
            if at_location is not None:
                at_location(order)

        async def produce(uow: OrdersUnitOfWork) -> R:
            return answer(*await handlers.return_items(uow, scoped, allowed))

        response = await self._use.write(produce, request=request, request_id=cmd.request_id)
        await self._send_stock_requests(cmd.order_id)
        return response

    async def refund(
        self, cmd: commands.RefundOrder, guard: Guard, *, request: Message, answer: Callable[[Order, Return], R]
    ) -> R:
        """Idempotent on the request id, as return_items. Nothing goes to inventory: no goods move."""
        # The return row keeps the caller-scoped id, as a return's does (return_items).
        scoped = replace(cmd, request_id=scoped_key(cmd.request_id))

        async def produce(uow: OrdersUnitOfWork) -> R:
            return answer(*await handlers.refund_order(uow, scoped, guard))

        return await self._use.write(produce, request=request, request_id=cmd.request_id)

    async def _change(self, order_id: str, produce: Callable[[OrdersUnitOfWork], Awaitable[Order]]) -> Order:
        order = await self._use.write(produce)
        if await self._send_stock_requests(order_id):
            order = await self._use.read(lambda uow: handlers.get_order(uow, order_id))
        return order

    async def _send_stock_requests(self, order_id: str) -> bool:
        try:
            return await self._stock.send_for_order(order_id)
        except Exception:  # recorded; the recovery loop sends them. The caller's answer stands.
            log.exception("sending stock requests of order %s failed; the recovery loop will retry", order_id)
            return False
