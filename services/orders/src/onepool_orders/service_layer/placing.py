"""PlaceOrder: the saga between orders and inventory.

    tx1   record the order PENDING (unique on channel + external order id; a concurrent duplicate waits on
          the index and then answers with the winner's order)
    call  inventory.Reserve with request_id = "orders:<order id>:<attempt>" (idempotent in inventory, so
          every caller driving the same order gets the same reservation, and only one is ever made)
    tx2   record RESERVED with one fulfillment per allocated location, or REJECTED with the shortfall

Before tx1 the order is held to its channel's terms (domain/channels.py: currency, active listings, listing
prices): a refusal is INVALID_ARGUMENT naming every offending field, and nothing is written.

What can go wrong, and what happens:
- Inventory unreachable or too slow: the caller gets UNAVAILABLE and the order stays PENDING. Whoever drives
  it next (the caller retrying PlaceOrder, or the recovery loop after `recovery_after_seconds`) repeats the
  same Reserve and gets the same answer.
- Inventory has not heard of the channel yet (it learns channels from their events, a moment after orders
  may have): a lag, not an answer. The order stays PENDING and the caller gets UNAVAILABLE, as when inventory
  is unreachable; a retry or the recovery loop places it once inventory catches up.
- The request names a SKU never stocked (or inventory refuses the request as invalid): the driver that
  created the order in this very call, before anyone else could be handed it, deletes it (nothing changed;
  the caller gets NOT_FOUND / INVALID_ARGUMENT and may correct and resend the same external id). Any other
  driver (the recovery loop, a retried or concurrent PlaceOrder) may drive an order someone already holds:
  it records it REJECTED with the reason instead, so an order id once handed out never disappears.
- tx2 fails, or the order moved on meanwhile (cancelled, or recorded by another driver with another
  reservation): the reservation is released at once; it was made for an order that will not use it.
- The process dies between Reserve and tx2: the recovery loop finds the PENDING order and drives it again;
  Reserve answers with the reservation already made. If that reservation lapsed in the meantime (its TTL
  passed, or it was released), the next attempt asks for stock afresh under a new request id. A PENDING
  order older than `pending_timeout_seconds` is given up: cancelled, and any reservation released.
Whatever happens, inventory's TTL bounds how long stock can be held for an order that never gets recorded.

What it costs (round trips to PostgreSQL per placed order in orders, channel read included: 3 for a
returning customer, 6 for a new one; 4 and 6, then 7 and 10, then 16 and 19 before):
- tx1 is one statement (the order with all its lines, or nothing when the external id is taken), run without
  BEGIN/COMMIT (`single_statement`): alone it is atomic. A PENDING order is kept, not skipped: it is what the
  recovery loop drives when the process dies after Reserve, so an order whose caller gave up is still placed;
  without it a crash would leave stock held until the TTL and the order lost. So there are still two commits.
  The same statement reads which of the buyer's identities are claimed already: claims are never re-pointed
  or removed, so when all are, the customer is settled then and tx2 needs no One-ID look-up of its own.
- tx2 records on the order tx1 made, without locking and reading it again: ONE conditional statement writes
  the order row, its fulfillments and its OrderPlaced outbox row (only if the order is still PENDING at this
  attempt with no reservation; nothing else of a PENDING order can change), run without BEGIN/COMMIT after
  the One-ID look-up (handlers.record_reservation_at_once). If the condition does not hold (cancelled, or
  recorded by another driver) it falls back to a transaction that locks, reads and decides, as before. Lines
  are not rewritten. So a returning customer's order costs 1 round trip in tx2 (the statement; the look-up
  was tx1's), a new customer's 4 (the look-up, its row and its identity claimed between them); 2 and 4, then
  5 and 7 before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from onepool_kernel.money import Money
from onepool_runtime.errors import (
    DomainError,
    FailedPrecondition,
    InsufficientStock,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from onepool_runtime.idempotency import run_in_transaction
from onepool_runtime.servicer import UseCases

from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesTerms
from onepool_orders.domain.model import FulfillmentMode, Order, OrderStatus, Shortage
from onepool_orders.domain.stock_requests import StockLine
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.ports import Inventory, ReservationInfo, ReserveStock, SourcingMode
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_DRIVE = 3


def reserve_request_id(order: Order, attempt: int) -> str:
    return f"orders:{order.id}:{attempt}"


def reserve_request(order: Order, attempt: int) -> ReserveStock:
    """Derived from the order alone: every Reserve of one attempt is the same request."""
    pref = order.fulfillment
    pickup = pref.mode is FulfillmentMode.PICKUP_IN_STORE
    return ReserveStock(
        request_id=reserve_request_id(order, attempt),
        order_id=order.id,
        channel_id=order.channel_id,
        lines=tuple(StockLine(ln.sku, ln.quantity) for ln in order.lines),
        mode=SourcingMode.PICKUP if pickup else SourcingMode.SHIP,
        region=pref.region,
        pickup_location_id=pref.pickup_location_id if pickup else "",
        allow_split=pref.allow_split,
        ttl_seconds=order.payment_ttl_seconds,
        # A listing's presale_units / allow_backorder are the brand's opt-in (inventory enforces them): an order
        # on a channel may always wait for goods where its listing allows it (docs/presale.md).
        accept_awaiting_stock=bool(order.channel_id),
        deliver_from_dealer_id=order.dealer_id if pref.mode is FulfillmentMode.DEALER_DELIVERY else "",
    )


async def release_unrecorded(inventory: Inventory, order: Order, reason: str) -> None:
    """Release the reservation a PENDING order's last Reserve may have made but nobody recorded (the driver
    crashed, or its caller gave up, between the two), now that the order is cancelled: asking Reserve again
    with the same request id returns it. If inventory cannot be reached, the reservation's TTL releases it."""
    try:
        reservation = await inventory.reserve(reserve_request(order, order.reserve_attempt))
    except DomainError:
        return
    try:
        await inventory.release(reservation.id, reason)
    except DomainError as exc:
        log.warning("could not release reservation %s (%s); its TTL will: %s", reservation.id, reason, exc)


class OrderPlacement:
    def __init__(
        self,
        uow_factory: Callable[[], OrdersUnitOfWork],
        inventory: Inventory,
        *,
        payment_ttl_seconds: int,
        recovery_after_seconds: float,
        pending_timeout_seconds: float,
        after_reserve: Callable[[], None] | None = None,
    ) -> None:
        self._uow = uow_factory
        self._inventory = inventory
        self._ttl = payment_ttl_seconds
        self._recovery_after = recovery_after_seconds
        self._pending_timeout = pending_timeout_seconds
        # Test-only fault injection (OrdersSettings.fault_exit_after_reserve): the worst moment to crash.
        self._after_reserve = after_reserve

    async def place(self, cmd: commands.PlaceOrder, terms: SalesTerms | None = None) -> Order:
        """`terms`: the channel's terms (checked first, before anything is written); None skips them (the
        recovery loop and tests that drive the saga alone)."""
        if terms is not None:
            await self._check_terms(cmd, terms)
        # tx1 is one statement (the order with its lines, or nothing if the external id is taken): atomic alone.
        order, created, customer_id = await run_in_transaction(
            lambda: self._uow().single_statement(),
            lambda uow: handlers.begin_placement(uow, cmd, self._recovery_after, self._ttl),
        )
        if order.status is not OrderStatus.PENDING:
            return order
        return await self.drive(order, fresh=created, customer_id=customer_id)

    async def _check_terms(self, cmd: commands.PlaceOrder, terms: SalesTerms) -> None:
        """Refuse an order the channel does not sell on its terms. A repeat of an order placed before its
        listing changed is still answered with that order (placing is idempotent on the external id)."""
        shipping = Money(cmd.lines[0].unit_price.currency if cmd.lines else "", cmd.shipping_fee_minor)
        try:
            terms.check(cmd.lines, shipping)
        except InvalidArgument:
            existing = await UseCases(self._uow).read(
                lambda uow: uow.orders.get_by_external(cmd.channel_id, cmd.external_order_id)
            )
            if existing is None:
                raise

    async def drive(self, order: Order, *, fresh: bool, customer_id: str | None = None) -> Order:
        """Take a PENDING order to RESERVED or REJECTED (or CANCELLED when it is too old to pursue).

        `fresh`: this call created the order, so no earlier Reserve for it can have lapsed; otherwise the
        reservation inventory returns is checked, because a replayed answer describes it as it was made.
        `customer_id`: the One-ID customer tx1 settled (handlers.begin_placement), or None to resolve it."""
        order_id = order.id
        for _ in range(MAX_ATTEMPTS_PER_DRIVE):
            if not fresh and self._too_old(order):
                return await self.abandon(order, "could not be placed in time: inventory did not answer")
            attempt = order.reserve_attempt
            try:
                reservation = await self._inventory.reserve(reserve_request(order, attempt))
            except InsufficientStock as exc:
                return await self._rejected(order, attempt, exc, fresh=fresh)
            except NotFound as exc:
                if exc.kind == "channel":  # orders knows the channel (the order is on it): inventory lags behind
                    raise Unavailable(
                        f"inventory has not heard of channel {order.channel_id} yet; retry in a moment"
                    ) from exc
                return await self._refused(order, attempt, exc, fresh=fresh)
            except InvalidArgument as exc:
                return await self._refused(order, attempt, exc, fresh=fresh)
            except FailedPrecondition as exc:  # split required, pickup not offered here, channel paused
                return await self._record_rejection(order, attempt, [], exc.message)
            if self._after_reserve is not None:
                self._after_reserve()
            if not fresh and not await self._still_holds(reservation):
                order = await run_in_transaction(
                    self._uow, partial(handlers.retry_reservation, order_id=order_id, attempt=attempt)
                )
                if order.status is not OrderStatus.PENDING:
                    return order
                continue
            return await self._record(order, attempt, reservation, customer_id)
        raise Unavailable(f"order {order.id}: inventory keeps releasing its reservations; retry later")

    async def _still_holds(self, reservation: ReservationInfo) -> bool:
        current = await self._inventory.reservation(reservation.id)
        return current.state.holds_stock and (current.expires_at is None or current.expires_at > datetime.now(UTC))

    async def _record(self, order: Order, attempt: int, reservation: ReservationInfo, customer_id: str | None) -> Order:
        allocations = list(reservation.allocations)
        try:
            at_once = await run_in_transaction(
                lambda: self._uow().single_statement(),
                lambda uow: handlers.record_reservation_at_once(
                    uow, order, attempt, reservation.id, reservation.expires_at, allocations, customer_id
                ),
            )
            if at_once is not None:
                return at_once
            # The order moved on meanwhile (cancelled, or recorded by another driver): lock, read and decide.
            recorded, orphan = await run_in_transaction(
                self._uow,
                lambda uow: handlers.record_reservation(
                    uow, order.id, attempt, reservation.id, reservation.expires_at, allocations
                ),
            )
        except Exception:
            # The order could not be recorded: do not keep stock for it, unless the commit went through
            # after all (a connection lost during COMMIT). The order stays PENDING and is driven again
            # later; its next attempt sees this reservation released and asks afresh.
            if await self._unrecorded(order.id, reservation.id):
                await self._release_quietly(reservation.id, "the order could not be recorded")
            raise
        if orphan:
            await self._release_quietly(reservation.id, f"order {order.id} is {recorded.status.value}")
        return recorded

    async def _unrecorded(self, order_id: str, reservation_id: str) -> bool:
        """True only if we can see that the order did not record this reservation."""
        try:
            current = await UseCases(self._uow).read(lambda uow: handlers.get_order(uow, order_id))
        except Exception:
            return False  # cannot tell; inventory's TTL bounds how long the stock stays held
        return current.reservation_id != reservation_id

    async def _rejected(self, order: Order, attempt: int, exc: InsufficientStock, *, fresh: bool) -> Order:
        never_stocked = await self._inventory.unknown_skus(sorted({s.sku for s in exc.shortages if s.available == 0}))
        if never_stocked:
            return await self._refused(order, attempt, NotFound("sku", ", ".join(never_stocked)), fresh=fresh)
        return await self._record_rejection(order, attempt, exc.shortages, exc.message)

    async def _refused(self, order: Order, attempt: int, exc: NotFound | InvalidArgument, *, fresh: bool) -> Order:
        """The request itself is wrong (module doc). Only the driver that created the order in this call deletes
        it, and raises; any other records it REJECTED with the reason and answers with it."""
        if fresh:
            kept = await run_in_transaction(self._uow, lambda uow: handlers.discard_pending(uow, order.id))
            if kept is None:
                raise exc
            return kept  # a concurrent driver of the same order recorded it first: answer as it does
        try:
            return await self._record_rejection(order, attempt, [], exc.message)
        except NotFound:  # its creator deleted it meanwhile, before handing it to anyone: answer as it did
            raise exc from None

    async def _record_rejection(self, order: Order, attempt: int, shortfalls: list[Shortage], reason: str) -> Order:
        return await run_in_transaction(
            self._uow, lambda uow: handlers.record_rejection(uow, order.id, attempt, shortfalls, reason)
        )

    def _too_old(self, order: Order) -> bool:
        return order.created_at + timedelta(seconds=self._pending_timeout) < datetime.now(UTC)

    async def abandon(self, order: Order, reason: str) -> Order:
        """Give up a PENDING order: cancel it, and release the reservation made for it, if any (asking
        Reserve again with the same request id returns it; if inventory cannot be reached its TTL will)."""
        abandoned = await run_in_transaction(self._uow, lambda uow: handlers.abandon_pending(uow, order.id, reason))
        if abandoned.status is not OrderStatus.CANCELLED or abandoned.was_placed:
            return abandoned  # recorded by someone else meanwhile: its reservation is in use
        await release_unrecorded(self._inventory, order, reason)
        return abandoned

    async def _release_quietly(self, reservation_id: str, reason: str) -> None:
        try:
            await self._inventory.release(reservation_id, reason)
        except DomainError as exc:
            log.warning("could not release reservation %s (%s); its TTL will: %s", reservation_id, reason, exc)
