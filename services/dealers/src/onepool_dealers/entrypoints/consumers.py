"""Consumers' handlers: other services' events become dealers' read models (stock at dealer locations,
dealer orders, settlement balances) and complete replenishments whose transfers inventory moved; transfers,
fulfillments and returns that move goods between owners are valued and published (domain/ownership.py).
A replenishment received in inventory directly has its expected receipt cancelled right after the commit.

Every handler runs in the consumer's transaction, after its inbox insert, so a redelivered event has no
effect; stale numbers are dropped by version (stock, locations) or by revision (orders; OrderView.newer_than)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TypeAlias

from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool_kernel.lines import StockLine
from onepool_kernel.money import Money, units_value
from onepool_runtime import order_facts as stated
from onepool_runtime.protobuf import from_ts, money_from_proto

from onepool_dealers.adapters import mappers
from onepool_dealers.domain.income import ClosedOrder, DealerIncome
from onepool_dealers.domain.model import TierFactors
from onepool_dealers.domain.overview import WHOLESALE_RULE, OrderView, StockView
from onepool_dealers.domain.ownership import SELLER, Departure, Goods, MoveReason, ReturnedGoods
from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork

DEALER_PARTY = "dealer:"


async def on_location_upserted(event: inventory_events.LocationUpserted, uow: DealersUnitOfWork) -> None:
    location = mappers.location_from_proto(event.location)
    if location is not None:
        await handlers.record_dealer_location(uow, location)


async def on_stock_changed_many(events: list[inventory_events.StockChanged], uow: DealersUnitOfWork) -> None:
    """A run of StockChanged in the consumer's batch: owners looked up and levels stored in one statement each."""
    views = [
        StockView(e.level.sku, e.level.location_id, e.location_owner_dealer_id, e.level.on_hand, e.level.version)
        for e in events
    ]
    await handlers.apply_stock_levels(uow, views)


async def on_stock_changed(event: inventory_events.StockChanged, uow: DealersUnitOfWork) -> None:
    level = event.level
    # Older inventory builds leave location_owner_dealer_id empty: fall back to dealers' copy of locations.
    owner = event.location_owner_dealer_id or await handlers.location_owner(uow, level.location_id)
    if not owner:
        return  # a brand location: not a dealer's stock
    await handlers.apply_stock(uow, StockView(level.sku, level.location_id, owner, level.on_hand, level.version))


async def on_transfer_shipped(event: inventory_events.TransferShipped, uow: DealersUnitOfWork) -> None:
    """Nothing to follow: a replenishment is SHIPPED only by the answer to its own TransferStock (the event
    names no request id, and anyone may cite the replenishment as a transfer's reference). Kept subscribed
    so the consumer's subjects stay what the event catalogue lists; goods move owner when received."""


def on_transfer_received(
    factors: TierFactors,
    receipt_due: Callable[[str], None] | None = None,
    locations_wanted: Callable[[Iterable[str]], None] | None = None,
) -> Callable[[inventory_events.TransferReceived, DealersUnitOfWork], Awaitable[None]]:
    """`receipt_due(replenishment_id)` is told, once the transaction commits, of a replenishment this event
    received whose expected receipt is still to be cancelled (the sagas cancel it at once, outside the
    consumer's transaction; their recovery loop retries what fails). `locations_wanted` is told of the
    locations an event waits for (LocationLookup.wanted)."""

    async def received(event: inventory_events.TransferReceived, uow: DealersUnitOfWork) -> None:
        t = event.transfer
        own = await handlers.own_transfer_received(
            uow,
            transfer_id=t.id,
            reference=t.reference,
            from_location_id=t.from_location_id,
            to_location_id=t.to_location_id,
        )
        if own is not None:
            if own.receipt_cancel_due and receipt_due is not None:
                uow.after_commit(partial(receipt_due, own.id))
            return
        lines = [StockLine(ln.sku, ln.quantity) for ln in t.lines]
        with _looking_up(locations_wanted):
            await handlers.transfer_received(
                uow, factors, t.id, t.reference, lines, t.from_location_id, t.to_location_id
            )

    return received


@contextmanager
def _looking_up(locations_wanted: Callable[[Iterable[str]], None] | None) -> Iterator[None]:
    """An event waiting for locations dealers does not know yet has them looked up while it waits."""
    try:
        yield
    except handlers.LocationNotKnownYet as exc:
        if locations_wanted is not None:
            locations_wanted(exc.location_ids)
        raise


def _time(value: object, fallback: datetime | None) -> datetime | None:
    if getattr(value, "seconds", 0) or getattr(value, "nanos", 0):
        return from_ts(value)  # type: ignore[arg-type]
    return fallback


OrderEvent: TypeAlias = (
    order_events.OrderPlaced
    | order_events.OrderPaid
    | order_events.OrderCancelled
    | order_events.OrderShipped
    | order_events.OrderCompleted
    | order_events.OrderReturned
    | order_events.OrderReturnWindowClosed
)


def order_handlers(
    factors: TierFactors, locations_wanted: Callable[[Iterable[str]], None] | None = None
) -> tuple[
    Callable[[OrderEvent, DealersUnitOfWork], Awaitable[None]],
    Callable[[list[OrderEvent], DealersUnitOfWork], Awaitable[None]],
]:
    """(one event, a run of events): the dealer's order view, and goods that changed owner.
    `locations_wanted`: as for on_transfer_received (a return at a location dealers does not know yet)."""

    async def one(event: OrderEvent, uow: DealersUnitOfWork) -> None:
        await handlers.apply_order(uow, *_order_view(event))
        with _looking_up(locations_wanted):
            await handlers.order_goods_moved(uow, factors, [_order_goods(event)])
        await handlers.orders_closed(uow, _closed([event]))

    async def many(events: list[OrderEvent], uow: DealersUnitOfWork) -> None:
        """A run of orders events in the consumer's batch: dealers looked up and orders locked once."""
        await handlers.apply_orders(uow, [_order_view(e) for e in events])
        with _looking_up(locations_wanted):
            await handlers.order_goods_moved(uow, factors, [_order_goods(e) for e in events])
        await handlers.orders_closed(uow, _closed(events))

    return one, many


def _closed(events: Iterable[OrderEvent]) -> list[ClosedOrder]:
    """Orders these events show closed for income (domain/income.py): nothing can cancel their payment any more,
    as orders states it (OrderFacts.is_final; for an event from before orders stated it, orders' rule applied
    to its facts: onepool_runtime.order_facts).
    Whose they are is for handlers.orders_closed to judge (a brand order shipped from a dealer's shop pays the
    dealer too)."""
    return [
        ClosedOrder(
            e.facts.order_id,
            e.facts.dealer_id,
            e.facts.channel_id,
            any(f.location_owner_dealer_id for f in e.facts.fulfillments),
        )
        for e in events
        if e.HasField("facts") and e.facts.order_id and stated.is_final(e.facts)
    ]


def _order_goods(event: OrderEvent) -> tuple[str, str, list[Goods | ReturnedGoods]]:
    """(the order's dealer id, its channel id, goods it shows changing owner): fulfillments that left a
    dealer's location, and the return this event announces (whose goods came back is decided with the
    seller known, see ownership.ReturnedGoods)."""
    order = event.facts
    left = [f for f in order.fulfillments if f.has_left]
    from_dealers = [f for f in left if f.location_owner_dealer_id]
    returned = isinstance(event, order_events.OrderReturned) and bool(event.returned.location_id)
    if not from_dealers and not returned:
        return order.dealer_id, order.channel_id, []  # most orders events: nothing more to read
    prices = {ln.sku: _paid_unit_price(ln) for ln in order.lines}
    shown: list[Goods | ReturnedGoods] = [
        Goods(
            id=f"fulfillment:{order.order_id}:{f.fulfillment_id}",
            reason=MoveReason.FULFILLMENT,
            lines=_lines(f.lines),
            giver=f.location_owner_dealer_id,
            taker=SELLER,
            reference=f.fulfillment_id,
            paid_prices=prices,
            order_id=order.order_id,
            location_id=f.location_id,
        )
        for f in from_dealers
    ]
    if isinstance(event, order_events.OrderReturned) and returned:
        r = event.returned
        so_far: dict[str, int] = {}
        for ln in order.lines:
            so_far[ln.sku] = so_far.get(ln.sku, 0) + ln.returned_quantity
        shown.append(
            ReturnedGoods(
                return_id=r.return_id or f"event-{event.meta.event_id}",
                order_id=order.order_id,
                location_id=r.location_id,
                lines=_lines(r.lines),
                departures=tuple(
                    Departure(f.fulfillment_id, f.location_owner_dealer_id, _lines(f.lines), _time(f.left_at, None))
                    for f in left
                ),
                returned_so_far=so_far,
                paid_prices=prices,
            )
        )
    return order.dealer_id, order.channel_id, shown


def _paid_unit_price(line: facts_pb2.OrderLineFacts) -> Money:
    """What the customer paid for one unit of the line: its total (net of its discount) spread over its units,
    as orders and settlement value units (the kernel's units_value). Not the list price: a unit of a 2 x 6 000
    line with 2 000 off sold for 5 000, and goods without a wholesale price are priced from what they sold for."""
    total = money_from_proto(line.line_total)
    return Money(total.currency, units_value(total.amount_minor, 1, line.quantity))


def _lines(lines: Iterable[facts_pb2.StockLineFacts]) -> tuple[StockLine, ...]:
    return tuple(StockLine(ln.sku, ln.quantity) for ln in lines)


def _order_view(event: OrderEvent) -> tuple[OrderView, str]:
    order = event.facts  # never the deprecated API resource: its status is orders' business
    occurred = _time(event.meta.occurred_at, None) or datetime.now(UTC)
    currency = order.total.currency or order.paid.currency
    view = OrderView(
        order_id=order.order_id,
        dealer_id=order.dealer_id,
        open=order.is_open,
        paid=order.is_paid,
        total=Money(currency, order.total.amount_minor),
        paid_minor=order.paid.amount_minor,
        refunded_minor=order.refunded.amount_minor,
        created_at=_time(order.created_at, occurred) or occurred,
        updated_at=_time(order.updated_at, None),
        revision=order.revision,
    )
    return view, order.channel_id


async def on_entry_posted(event: settlement_events.EntryPosted, uow: DealersUnitOfWork) -> None:
    await on_entries_posted([event], uow)


async def on_entries_posted(events: list[settlement_events.EntryPosted], uow: DealersUnitOfWork) -> None:
    """Everything settlement posts to a dealer except wholesale (which dealers counts itself, never late): per
    entry, what it posts to each dealer, held or counted (handlers.record_income)."""
    amounts: list[DealerIncome] = []
    for event in events:
        if event.rule == WHOLESALE_RULE:
            continue
        # Per dealer and currency, the entry's positive lines apart from its negative ones: what may be held is
        # what settlement's payouts hold, line by line (a return taking -3 500 of a dealer's sale and giving it
        # +125 of a fee holds the 125, not nothing).
        per_dealer: dict[tuple[str, str, bool], int] = {}
        for line in event.lines:
            amount = line.amount.amount_minor
            if line.party.startswith(DEALER_PARTY) and amount:
                key = (line.party.removeprefix(DEALER_PARTY), line.amount.currency or event.currency, amount > 0)
                per_dealer[key] = per_dealer.get(key, 0) + amount
        # Settlement names every entry; an unnamed one (a test's, an old build's) still needs a key of its own.
        entry_id = event.entry_id or event.meta.event_id or f"unnamed:{uuid.uuid4()}"
        amounts += [
            DealerIncome(entry_id, event.order_id, dealer_id, currency, amount)
            for (dealer_id, currency, _), amount in per_dealer.items()
        ]
    await handlers.record_income(uow, amounts)
