"""Orders use cases that run inside one unit of work; the caller (runtime.run_in_transaction, UseCases or a
consumer) commits. Use cases that also talk to inventory are orchestrated in placing.py, stock_sync.py and
lifecycle.py (whose hand-over ShipFulfillment and ConfirmPickup call before they save, see `_leave`).

Mutations take a `guard`: the entrypoint's check that the caller's token may act on this order, run on the
locked order before anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from onepool_kernel.intake import LineToPlace
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule
from onepool_kernel.timestamps import now
from onepool_runtime.consumer import NotYet
from onepool_runtime.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable, found

from onepool_orders.domain import commands
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.channels import ChannelListing, SalesChannel, SalesTerms
from onepool_orders.domain.customers import identities_of, settled_customer
from onepool_orders.domain.model import (
    AllocatedStock,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
    PlacedPrices,
    Return,
    Shortage,
    new_id,
)
from onepool_orders.domain.stock_requests import CommitState
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork

log = logging.getLogger(__name__)
Guard = Callable[[Order], None]


def _allow(order: Order) -> None:
    """No scoping (the system acting on its own: consumers, the recovery loop)."""


async def _order(uow: OrdersUnitOfWork, order_id: str, *, lock: bool, guard: Guard = _allow) -> Order:
    order = found(await uow.orders.get(order_id, lock=lock), "order", order_id)
    guard(order)
    return order


# --- reads ------------------------------------------------------------------------------------------------


async def get_order(uow: OrdersUnitOfWork, order_id: str, guard: Guard = _allow) -> Order:
    return await _order(uow, order_id, lock=False, guard=guard)


async def list_orders(uow: OrdersUnitOfWork, query: commands.ListOrders) -> list[Order]:
    """A channel filter naming a channel orders has never heard of is NOT_FOUND, as in inventory (so a
    caller can tell when orders has learnt of a new channel)."""
    if query.external_order_id and not query.channel_id:  # a channel token's own channel is set by now
        raise InvalidArgument("channel_id", "is required with external_order_id (the number is the channel's)")
    if query.channel_id and await uow.channels.get(query.channel_id) is None:
        raise NotFound("channel", query.channel_id)
    return await uow.orders.search(query)


# --- placing (the saga's transactions; see placing.py) -----------------------------------------------------


async def begin_placement(
    uow: OrdersUnitOfWork, cmd: commands.PlaceOrder, recovery_after_seconds: float, default_ttl_seconds: int
) -> tuple[Order, bool, str | None]:
    """tx1: record the order PENDING, or find the one already placed with this external id.
    Returns (order, created_now, customer): `customer` is the One-ID customer when the insert found every
    identity of the buyer claimed already (`settled_customer`; tx2 then needs no look-up of its own), else
    None. The payment TTL is fixed here, so every Reserve for this order is the same request (inventory
    refuses a request id reused with different content).

    The insert comes first (one statement for the order and its lines, nothing if the external id is taken):
    a new order, the common case, costs no look-up beforehand."""
    moment = now()
    try:
        order = Order.place(
            order_id=new_id(),
            channel_id=cmd.channel_id,
            external_order_id=cmd.external_order_id,
            customer=cmd.customer,
            lines=[
                OrderLine(ln.sku, ln.quantity, ln.unit_price, ln.channel_sku, 0, ln.discount_minor) for ln in cmd.lines
            ],
            fulfillment=cmd.fulfillment,
            dealer_id=cmd.dealer_id,
            payment_ttl_seconds=cmd.payment_ttl_seconds or default_ttl_seconds,
            now=moment,
            shipping_fee_minor=cmd.shipping_fee_minor,
            address_as_of=cmd.address_as_of,
        )
    except InvalidArgument:
        # A repeated request still gets the order it placed, as when the look-up came first.
        existing = await uow.orders.get_by_external(cmd.channel_id, cmd.external_order_id)
        if existing is None:
            raise
        return _same_order(existing, cmd), False, None
    wanted = identities_of(order.customer, order.channel_id)
    for _ in range(3):
        known = await uow.orders.add(order, moment + timedelta(seconds=recovery_after_seconds), wanted)
        if known is not None:
            return order, True, settled_customer(wanted, known)
        # Placed before, or a concurrent PlaceOrder of the same external order won the unique index: answer with
        # that order.
        winner = await uow.orders.get_by_external(cmd.channel_id, cmd.external_order_id)
        if winner is not None:
            return _same_order(winner, cmd), False, None
        # Gone between the two statements: its creator deleted it (it named a SKU never stocked). Insert again.
    raise Unavailable(f"order {cmd.channel_id}/{cmd.external_order_id} is being placed concurrently; retry")


def _same_order(existing: Order, cmd: commands.PlaceOrder) -> Order:
    """A repeated PlaceOrder gets the order it placed. An external order id reused for another order (other
    goods or prices, another buyer, delivery or dealer) is refused rather than answered with the old one: the
    caller would take the old order for its new one, and the goods would go to the old address. The delivery is
    compared as placed: a retry after the buyer moved the address is still the same request (and gets the order
    at its new address); when the sender's copy was modified (`address_as_of`) is not part of the order. The
    prices likewise: as placed or as repriced since."""

    def goods(lines: Sequence[OrderLine | LineToPlace]) -> list[tuple[str, int, Money]]:
        return sorted((ln.sku, ln.quantity, ln.unit_price) for ln in lines)

    # A repriced order (RepriceOrder) is the same deal at its prices as placed and at its prices now: the
    # sender's older copy is answered with the order as it is, never priced back.
    wanted = PlacedPrices(cmd.shipping_fee_minor, tuple(sorted((ln.sku, ln.discount_minor) for ln in cmd.lines)))
    same_prices = wanted in (existing.prices, existing.placed_prices_or_now)
    differs = {
        "lines": goods(existing.lines) != goods(cmd.lines)
        or (not same_prices and wanted.discounts != existing.prices.discounts),
        "shipping fee": not same_prices and existing.shipping_fee_minor != cmd.shipping_fee_minor,
        "customer": existing.customer != cmd.customer,
        "fulfillment": existing.placed_fulfillment != cmd.fulfillment,
        "dealer": existing.dealer_id != cmd.dealer_id,
        # 0 asks for the default, whatever it was when the order was placed.
        "payment TTL": cmd.payment_ttl_seconds not in (0, existing.payment_ttl_seconds),
    }
    if any(differs.values()):
        other = ", ".join(name for name, differ in differs.items() if differ)
        raise AlreadyExists(
            "order",
            f"{cmd.channel_id}/{cmd.external_order_id}",
            description=f"as order {existing.id}, which differs in: {other}",
            reason="ORDER_DIFFERS",
            metadata={"order_id": existing.id, "differs": other},
        )
    return existing


async def record_reservation_at_once(
    uow: OrdersUnitOfWork,
    pending: Order,
    attempt: int,
    reservation_id: str,
    expires_at: datetime | None,
    allocations: list[AllocatedStock],
    customer_id: str | None = None,
) -> Order | None:
    """tx2's usual case, without a transaction (`single_statement`): the order as its driver placed it
    (`pending`, PENDING at `attempt`) becomes RESERVED in ONE statement, with its fulfillments and its
    OrderPlaced (outbox row), written only if the stored order is still exactly that. None, and nothing of the
    order written, if it is not: the caller then runs `record_reservation`, which locks and decides.

    The customer is resolved first, outside that statement, unless tx1 settled it already (`customer_id`, see
    begin_placement: a returning customer's order then costs this one statement): a returning customer's
    identities are only read; a new customer's row and identity claims are each one statement, safe under
    concurrency on their own (OrderRepository.resolve_customer), so a crash between them and the order's
    statement leaves at worst a customer no order names yet, which the next order with those identities adopts."""
    if customer_id is None:
        customer_id = await uow.orders.resolve_customer(identities_of(pending.customer, pending.channel_id))
    order = replace(pending, fulfillments=[], events=[], stock_requests=[], new_returns=[])
    order.record_reservation(reservation_id, expires_at, allocations, customer_id, now())
    return order if await uow.orders.save(order, pending_attempt=attempt) else None


async def record_reservation(
    uow: OrdersUnitOfWork,
    order_id: str,
    attempt: int,
    reservation_id: str,
    expires_at: datetime | None,
    allocations: list[AllocatedStock],
) -> tuple[Order, bool]:
    """tx2 (stock held) when `record_reservation_at_once` found the order moved on, or for a driver that did
    not place it: lock, read and decide; the order becomes RESERVED if it is still PENDING at `attempt`.
    Returns (order, reservation_is_orphan): an orphan is a reservation this order will never use (the order
    moved on meanwhile), which the caller must release."""
    order = await _order(uow, order_id, lock=True)
    if order.reservation_id == reservation_id:
        return order, False  # a concurrent driver of the same order recorded it already
    if order.status is not OrderStatus.PENDING or order.reserve_attempt != attempt:
        return order, True
    customer_id = await uow.orders.resolve_customer(identities_of(order.customer, order.channel_id))
    order.record_reservation(reservation_id, expires_at, allocations, customer_id, now())
    await uow.orders.save(order)
    return order, False


async def record_rejection(
    uow: OrdersUnitOfWork, order_id: str, attempt: int, shortfalls: list[Shortage], reason: str
) -> Order:
    """tx2 (no stock): the order becomes REJECTED, naming what was missing."""
    order = await _order(uow, order_id, lock=True)
    if order.status is not OrderStatus.PENDING or order.reserve_attempt != attempt:
        return order
    customer_id = await uow.orders.resolve_customer(identities_of(order.customer, order.channel_id))
    order.record_rejection(shortfalls, reason, customer_id, now())
    await uow.orders.save(order)
    return order


async def discard_pending(uow: OrdersUnitOfWork, order_id: str) -> Order | None:
    """The request named something that does not exist: forget the PENDING order as if never asked (only its
    creator, in the call that created it: placing.py). None once deleted; the order if it is no longer PENDING
    (another driver recorded it meanwhile), which the creator then answers with."""
    if await uow.orders.discard_pending(order_id):
        return None
    return await uow.orders.get(order_id)


async def retry_reservation(uow: OrdersUnitOfWork, order_id: str, attempt: int) -> Order:
    """The reservation made for this PENDING order lapsed before it was recorded: the next attempt asks
    inventory afresh (a new request id)."""
    await uow.orders.bump_reserve_attempt(order_id, attempt)
    return await _order(uow, order_id, lock=False)


async def abandon_pending(uow: OrdersUnitOfWork, order_id: str, reason: str) -> Order:
    order = await _order(uow, order_id, lock=True)
    order.abandon(reason, now())
    await uow.orders.save(order)
    return order


async def claim_stuck_orders(uow: OrdersUnitOfWork, limit: int, retry_in_seconds: float) -> list[Order]:
    ids = await uow.orders.claim_stuck(limit, retry_in_seconds)
    orders = [await uow.orders.get(i) for i in ids]
    return [o for o in orders if o is not None]


# --- lifecycle commands ------------------------------------------------------------------------------------


async def pay_order(uow: OrdersUnitOfWork, cmd: commands.PayOrder, guard: Guard = _allow) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    # A deposit is taken on the channel's presale terms as they are now (orders' copy of the channel), and every
    # order's events name the channel version its first payment was made under (settlement's fee for the sale).
    channel = await uow.channels.get(order.channel_id)
    presale = channel.presale if channel is not None and cmd.kind is PaymentKind.DEPOSIT else None
    if order.pay(cmd.amount, cmd.payment_ref, now(), cmd.kind, presale):
        if not order.channel_version:
            order.channel_version = channel.version if channel is not None else 0
        await uow.orders.save(order)
    return order


# Releases an order's reservation in inventory before its cancellation is recorded, and returns the locations
# whose goods inventory had let leave (lifecycle.py sends it; tests may fake it).
Release = Callable[[sr.ReleaseReservation], Awaitable[frozenset[str]]]
# A FulfillReservation may be in flight for these (ShipFulfillment: PAID, FULFILLING; ConfirmPickup:
# READY_FOR_PICKUP) once inventory confirmed the commit.
_MAY_BE_LEAVING = frozenset({OrderStatus.PAID, OrderStatus.READY_FOR_PICKUP, OrderStatus.FULFILLING})


async def cancel_order(
    uow: OrdersUnitOfWork, cmd: commands.CancelOrder, guard: Guard = _allow, *, release: Release
) -> Order:
    """A presale order whose balance is overdue has lapsed already, whether or not the sweeper got to it: it is
    lapsed here by the same rule (its deposit kept or refunded as `lapse_overdue_balances` would), so what the
    seller keeps does not depend on who comes first.

    Goods of a paid order whose commit inventory confirmed may have left without orders knowing yet (a
    ShipFulfillment answered UNAVAILABLE after inventory applied it, its news still on the way), so inventory is
    asked first, as a shipment asks (`_leave`): the reservation is released while the order's row is locked and
    before anything is recorded, and what inventory says had left is recorded as left; only the rest is
    cancelled and refunded. Everything left: the order is saved SHIPPED, uncancelled (the lifecycle then refuses
    the cancel as for any shipped order). Inventory unreachable: Unavailable, nothing recorded. An unpaid order
    (or one whose commit is not confirmed) has nothing that could have left: its release is queued as before."""
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    moment = now()
    if await _lapse(uow, order, moment):
        await uow.orders.save(order)
        return order
    reason = cmd.reason or "cancelled by request"
    if order.status not in _MAY_BE_LEAVING or await _commit_state(uow, order) is not CommitState.CONFIRMED:
        if order.cancel(reason, moment):
            await uow.orders.save(order)
        return order
    # The same request the cancellation queues, so whatever is sent later is a repeat inventory answers as done.
    request = sr.ReleaseReservation(order.reservation_id, reason)
    left = order.record_left_in_inventory(order.reservation_id, await release(request), moment)
    if left and order.status is OrderStatus.SHIPPED:
        await uow.orders.save(order)
        return order
    if order.cancel(reason, moment) or left:
        order.stock_requests = [r for r in order.stock_requests if r != request]  # applied already
        await uow.orders.save(order)
    return order


async def change_delivery_address(
    uow: OrdersUnitOfWork, cmd: commands.ChangeDeliveryAddress, guard: Guard = _allow
) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    if order.change_delivery_address(cmd.address, now(), cmd.as_of):
        await uow.orders.save(order)
    return order


async def reprice_order(uow: OrdersUnitOfWork, cmd: commands.RepriceOrder, guard: Guard = _allow) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    if order.reprice(cmd.discounts, cmd.shipping_fee, now(), cmd.as_of):
        await uow.orders.save(order)
    return order


async def _commit_state(uow: OrdersUnitOfWork, order: Order) -> CommitState:
    """Read under the order's row lock: a refused commit cancels the order under that lock (commit_refused),
    so what is read here and the order's state agree."""
    return await uow.stock_requests.commit_state(order.id, order.reservation_id)


# Tells inventory that goods of a fulfillment leave (FulfillReservation), and raises what the caller hears if
# inventory refuses it (lifecycle.py sends it; tests may fake it).
HandOver = Callable[[sr.FulfillReservation], Awaitable[None]]


async def _leave(uow: OrdersUnitOfWork, order: Order, hand_over: HandOver) -> None:
    """Save a fulfillment that left, once inventory accepted it. Inventory is told while the order's row is
    locked and before anything is recorded: it serialises a release and a fulfillment of one reservation, so
    either the goods leave (and an operator's release finds them gone) or the release came first and nothing
    is recorded here (STOCK_NOT_HELD; its event cancels the order). The lock keeps out everything else that
    would change the order meanwhile (CancelOrder, the release event), so what inventory applied and what is
    recorded here agree. Sent with the same request id the command outbox would use, so a retry after orders
    stopped between the two is answered as done. Nothing is queued for it: it is applied already."""
    for request in [r for r in order.stock_requests if isinstance(r, sr.FulfillReservation)]:
        await hand_over(request)
        order.stock_requests.remove(request)
    await uow.orders.save(order)


async def ship_fulfillment(
    uow: OrdersUnitOfWork, cmd: commands.ShipFulfillment, guard: Guard = _allow, *, hand_over: HandOver
) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    if order.ship(cmd.fulfillment_id, cmd.tracking_no, now(), commit=await _commit_state(uow, order)):
        await _leave(uow, order, hand_over)
    return order


async def confirm_pickup(
    uow: OrdersUnitOfWork, cmd: commands.ConfirmPickup, guard: Guard = _allow, *, hand_over: HandOver
) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    if order.confirm_pickup(cmd.fulfillment_id, now(), commit=await _commit_state(uow, order)):
        await _leave(uow, order, hand_over)
    return order


async def complete_order(uow: OrdersUnitOfWork, cmd: commands.CompleteOrder, guard: Guard = _allow) -> Order:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    if order.complete(now()):
        await uow.orders.save(order)
    return order


async def return_items(uow: OrdersUnitOfWork, cmd: commands.ReturnItems, guard: Guard = _allow) -> tuple[Order, Return]:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    order_return = order.return_items(
        new_id(),
        cmd.request_id,
        list(cmd.lines),
        cmd.return_location_id,
        cmd.reason,
        now(),
        accept_after_window=cmd.accept_after_window,
    )
    await uow.orders.save(order)
    return order, order_return


async def refund_order(uow: OrdersUnitOfWork, cmd: commands.RefundOrder, guard: Guard = _allow) -> tuple[Order, Return]:
    order = await _order(uow, cmd.order_id, lock=True, guard=guard)
    refund = order.refund_only(
        new_id(), cmd.request_id, cmd.amount, cmd.reason, now(), accept_after_window=cmd.accept_after_window
    )
    await uow.orders.save(order)
    return order, refund


# --- the return window ------------------------------------------------------------------------------------


async def close_return_windows(uow: OrdersUnitOfWork, limit: int) -> tuple[list[str], list[str]]:
    """Close the return window of up to `limit` orders whose returnable_until passed, in one transaction: each
    is locked (rows another closer holds are skipped), marked closed and OrderReturnWindowClosed written to the
    outbox with it, so each order's closing is published once whichever replica gets it. Before them, up to
    `limit` orders whose goods left on a replica of the release before the window get their deadline (none
    would ever close otherwise), closed at once when it passed already. Due by one clock, this replica's: the
    domain decides by it, so the claim must too. Returns the ids of the orders fixed and of those closed."""
    at = now()
    fixed, closed = [], []
    for order_id in await uow.orders.claim_unfixed_windows(limit):
        order = await _order(uow, order_id, lock=True)
        if order.fix_missed_return_window():
            fixed.append(order.id)
            if order.close_return_window(at):
                closed.append(order.id)
            await uow.orders.save(order)
    for order_id in await uow.orders.claim_closing_windows(limit, at):
        order = await _order(uow, order_id, lock=True)
        if order.close_return_window(at):
            await uow.orders.save(order)
            closed.append(order.id)
    return fixed, closed


# --- presale: the balance deadline ---------------------------------------------------------------------------


async def lapse_overdue_balances(uow: OrdersUnitOfWork, limit: int) -> list[str]:
    """Lapse up to `limit` DEPOSIT_PAID orders whose balance is overdue, in one transaction: each is locked
    (rows another sweeper holds are skipped, so replicas never lapse one order twice), cancelled with its
    reservation released, and its deposit refunded or kept by the rule it was paid under (the channel's rule
    now only for a deposit paid before the order kept it). Returns their ids."""
    lapsed = []
    for order_id in await uow.orders.claim_overdue_balances(limit):
        order = await _order(uow, order_id, lock=True)
        if await _lapse(uow, order, now()):
            await uow.orders.save(order)
            lapsed.append(order.id)
    return lapsed


async def _lapse(uow: OrdersUnitOfWork, order: Order, moment: datetime) -> bool:
    """Lapse a DEPOSIT_PAID order whose balance is overdue at `moment` (False, unchanged, if it is not), by the
    deposit rule it was paid under, else the channel's now."""
    if order.status is not OrderStatus.DEPOSIT_PAID or order.balance_due_at is None or order.balance_due_at > moment:
        return False
    rule = order.deposit_rule
    if rule is None:
        channel = await uow.channels.get(order.channel_id)
        rule = channel.presale.deposit_rule if channel is not None else DepositRule.REFUND
    return order.lapse_balance(rule, moment)


# --- what inventory tells us --------------------------------------------------------------------------------


async def reservation_expired(uow: OrdersUnitOfWork, order_id: str, reservation_id: str) -> None:
    """ReservationExpired: an unpaid order is cancelled (its stock is already back in the pool)."""
    if not order_id:
        return
    order = await uow.orders.get(order_id, lock=True)
    if order is not None and order.record_lapsed_reservation(reservation_id, now()):
        await uow.orders.save(order)


async def reservation_released(
    uow: OrdersUnitOfWork, order_id: str, reservation_id: str, reason: str, left_at: frozenset[str] = frozenset()
) -> bool:
    """ReservationReleased: a release orders asked for finds the order cancelled (or its rest cancelled) and
    changes nothing; one it did not ask for (an operator's ReleaseReservation) is recorded like a refused commit
    (record_lapsed_reservation). `left_at`: the locations whose goods inventory had let leave before the release
    (its allocations there fulfilled), recorded as left first if orders had not (see `fulfilled_in_inventory`),
    so only the rest is cancelled whichever event comes first. Idempotent: a second delivery finds the order
    cancelled. True if it changed."""
    if not order_id:
        return False
    order = await uow.orders.get(order_id, lock=True)
    if order is None:
        return False
    moment = now()
    left = order.record_left_in_inventory(reservation_id, left_at, moment)
    if not order.record_lapsed_reservation(reservation_id, moment, released=reason) and not left:
        return False
    await uow.orders.save(order)
    return True


async def fulfilled_in_inventory(
    uow: OrdersUnitOfWork, order_id: str, reservation_id: str, left_at: frozenset[str]
) -> bool:
    """ReservationFulfilled: goods left the locations `left_at` in inventory. A fulfillment orders recorded
    itself (the usual case: it tells inventory before it commits) changes nothing; one it did not record (orders
    stopped in between and the caller never retried) is recorded as left now. True if the order changed."""
    if not order_id:
        return False
    order = await uow.orders.get(order_id, lock=True)
    if order is None:
        return False
    if order.reservation_id == reservation_id:
        cancelled = sorted(f.location_id for f in order.fulfillments if f.is_cancelled and f.location_id in left_at)
        if cancelled:
            # Refunded as never sent, yet gone in inventory: nothing here can tell which is true.
            log.error(
                "inventory let goods of order %s (%s) leave %s, where orders cancelled and refunded them "
                "(reservation %s); an operator must settle it",
                order_id,
                order.status.value,
                ", ".join(cancelled),
                reservation_id,
            )
    if not order.record_left_in_inventory(reservation_id, left_at, now()):
        return False
    await uow.orders.save(order)
    return True


class ReservationNotRecordedYet(NotYet):
    """News of a reservation whose order is still PENDING (its PlaceOrder has not recorded the reservation yet).
    Retried by the consumer, never dead-lettered: the saga's recovery records the order or gives it up (within
    `pending_timeout_seconds`), and then the news applies or is ignored."""


async def follow_reservation_stock(
    uow: OrdersUnitOfWork,
    order_id: str,
    reservation_id: str,
    allocations: list[AllocatedStock],
    changed_at: datetime,
    reason: str = "",
    moved_skus: frozenset[str] | None = None,
) -> bool:
    """Inventory filled waiting units of an order's reservation or moved their promise (for `reason`, of the
    lines `moved_skus`; None: every line): the order's lines follow (idempotent; older news is ignored). True
    if the order changed."""
    if not order_id:
        return False
    order = await uow.orders.get(order_id, lock=True)
    if order is None:
        return False
    if order.status is OrderStatus.PENDING:
        raise ReservationNotRecordedYet(f"order {order_id} has not recorded reservation {reservation_id} yet")
    if not order.follow_stock(reservation_id, allocations, changed_at, now(), reason, moved_skus):
        return False
    await uow.orders.save(order)
    return True


async def commit_refused(uow: OrdersUnitOfWork, order_id: str, reservation_id: str) -> bool:
    """Inventory refused to commit a paid order's reservation (it expired or was released first): the order
    cannot be fulfilled, so it is cancelled and the payment is due back. True if the order changed."""
    order = await uow.orders.get(order_id, lock=True)
    if order is None or not order.record_lapsed_reservation(reservation_id, now()):
        return False
    await uow.orders.save(order)
    return True


# --- channels (orders' copy, fed by channels.channel.* events) ------------------------------------------------


async def channel(uow: OrdersUnitOfWork, channel_id: str) -> SalesChannel | None:
    return await uow.channels.get(channel_id)


async def sales_terms(uow: OrdersUnitOfWork, channel_id: str, skus: list[str]) -> SalesTerms:
    """The channel and its listings of these SKUs (what PlaceOrder checks before asking for stock)."""
    return await uow.channels.terms(channel_id, skus)


async def apply_listing(uow: OrdersUnitOfWork, listing: ChannelListing) -> bool:
    return await uow.channels.upsert_listing(listing)


async def apply_channel(uow: OrdersUnitOfWork, sales_channel: SalesChannel) -> bool:
    return await uow.channels.upsert(sales_channel)
