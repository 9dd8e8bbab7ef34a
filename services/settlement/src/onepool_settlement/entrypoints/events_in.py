"""Consumer handlers: other services' integration events -> settlement facts -> use cases.

Orders' events are read by their facts (onepool/orders/v1/facts.proto) only: whether an order is paid or
still open, and which fulfillments have left or were cancelled, is what orders says, never settlement's
reading of orders' statuses.

An event that can never be settled (no order id, a currency that is not ISO 4217, negative money, an
amount or an order line's value above the kernel's MAX_AMOUNT_MINOR, a refund in another currency) is
dead-lettered at once (PermanentError, naming the amount); it will not improve on retry. The bound on each
amount is what keeps a balance's running total inside int64 on this path, without a balance read per event
(domain/limits.py).
A sale on a channel whose terms (at the version it was paid under) have not arrived yet waits, uncounted
(handlers.ChannelNotKnownYet, a consumer.NotYet).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.dealers.v1 import events_pb2 as dealer_events
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2 as order_facts_pb2
from onepool_contracts.events import subject_of
from onepool_kernel.lines import StockLine
from onepool_kernel.money import MAX_AMOUNT_MINOR
from onepool_runtime import order_facts as stated
from onepool_runtime.consumer import PermanentError, Subscription
from onepool_runtime.errors import Conflict, DomainError, Unavailable
from onepool_runtime.protobuf import enum_maps, from_ts
from onepool_runtime.validation import CURRENCY_RE, ID_RE

from onepool_settlement.domain import parties
from onepool_settlement.domain.model import (
    ChannelTerms,
    ChannelType,
    Fulfillment,
    GoodsMoved,
    OrderFacts,
    OrderLine,
    ReturnedGoods,
    Source,
)
from onepool_settlement.domain.reconciliation import UnsettledOrder
from onepool_settlement.domain.rules import SettlementPolicy
from onepool_settlement.service_layer import handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork

_CHANNEL_TYPES = enum_maps(channels_pb2.ChannelType, ChannelType).from_proto
_MOVE_REASONS = {
    dealers_pb2.OWNERSHIP_MOVE_REASON_TRANSFER: "TRANSFER",
    dealers_pb2.OWNERSHIP_MOVE_REASON_RETURN: "RETURN",
    dealers_pb2.OWNERSHIP_MOVE_REASON_FULFILLMENT: "FULFILLMENT",
}


def source(event: Any) -> Source:
    meta = event.meta
    occurred = from_ts(meta.occurred_at) if meta.HasField("occurred_at") else None
    return Source(event_id=meta.event_id, subject=subject_of(event), occurred_at=occurred)


def _id(value: str, what: str) -> str:
    if not ID_RE.match(value):
        raise PermanentError(f"{what} {value!r} is not a valid id")
    return value


def _amount(money: common_pb2.Money, currency: str, what: str) -> int:
    if money.amount_minor < 0:
        raise PermanentError(f"{what} is negative")
    if money.amount_minor and money.currency and money.currency != currency:
        raise PermanentError(f"{what} is in {money.currency}, the order in {currency}")
    return _bounded(money.amount_minor, what)


def _bounded(amount: int, what: str) -> int:
    if amount > MAX_AMOUNT_MINOR:
        raise PermanentError(f"{what} {amount} is above the largest amount settlement books ({MAX_AMOUNT_MINOR})")
    return amount


def _line(ln: order_facts_pb2.OrderLineFacts, currency: str, order_id: str) -> OrderLine:
    price = _amount(ln.unit_price, currency, f"order {order_id} unit price")
    _bounded(abs(ln.quantity) * price, f"order {order_id} line {ln.sku[:80]!r} value")
    return OrderLine(ln.sku, ln.quantity, price, _amount(ln.discount, currency, f"order {order_id} line discount"))


def order_facts(order: order_facts_pb2.OrderFacts, *, default_currency: str) -> OrderFacts:
    _id(order.order_id, "order id")
    currency = order.paid.currency or order.total.currency or default_currency
    if not CURRENCY_RE.match(currency):
        raise PermanentError(f"order {order.order_id}: currency {currency!r} is not ISO 4217")
    if order.channel_id:
        _id(order.channel_id, "channel id")
    if order.dealer_id:
        _id(order.dealer_id, "dealer id")
    lines = tuple(_line(ln, currency, order.order_id) for ln in order.lines)
    fulfillments = tuple(
        Fulfillment(
            id=f.fulfillment_id,
            location_id=f.location_id,
            owner_dealer_id=f.location_owner_dealer_id,
            lines=tuple(StockLine(fl.sku, fl.quantity) for fl in f.lines),
            shipped=f.has_left,
            cancelled=f.is_cancelled,
        )
        for f in order.fulfillments
    )
    return OrderFacts(
        id=order.order_id,
        channel_id=order.channel_id,
        dealer_id=order.dealer_id,
        currency=currency,
        total=_amount(order.total, currency, f"order {order.order_id} total"),
        paid=_amount(order.paid, currency, f"order {order.order_id} paid"),
        refunded=_amount(order.refunded, currency, f"order {order.order_id} refunded"),
        lines=lines,
        fulfillments=fulfillments,
        is_paid=order.is_paid,
        is_open=order.is_open,
        is_final=stated.is_final(order),
        deposit=_amount(order.deposit, currency, f"order {order.order_id} deposit"),
        deposit_kept=_amount(order.deposit_kept, currency, f"order {order.order_id} deposit kept"),
        channel_version=max(0, order.channel_version),
    )


def deposit_subscriptions(policy: SettlementPolicy, default_currency: str) -> list[Subscription[Any, Any]]:
    """Presale deposits as they are paid (a durable of its own: the deposit's entries do not depend on the
    order's other events arriving first, see domain/deposits.py)."""

    async def deposit_paid(event: order_events.OrderDepositPaid, uow: SettlementUnitOfWork) -> None:
        order = order_facts(event.facts, default_currency=default_currency)
        await handlers.ensure_sale(uow, policy, order, source(event))

    return [Subscription.of(order_events.OrderDepositPaid, _permanent_on_domain_errors(deposit_paid))]


def channel_terms(channel: channels_pb2.Channel) -> ChannelTerms:
    _id(channel.id, "channel id")
    return ChannelTerms(
        channel_id=channel.id,
        type=_CHANNEL_TYPES.get(channel.type, ChannelType.UNSPECIFIED),
        owner_dealer_id=channel.owner_dealer_id,
        fee_rate_bps=channel.fee_rate_bps,
        version=channel.version,
        # Not ISO 4217 (never from channels): not known, so no payment is refused for it.
        currency=channel.currency if CURRENCY_RE.match(channel.currency) else "",
    )


Handler = Callable[[Any, SettlementUnitOfWork], Awaitable[None]]


def _permanent_on_domain_errors(fn: Handler) -> Handler:
    """A domain rule refusing an event's content will refuse it on every retry: dead-letter it now.
    Unavailable and Conflict are not about the content (a dependency, a concurrent change): retried."""

    async def run(event: Any, uow: SettlementUnitOfWork) -> None:
        try:
            await fn(event, uow)
        except (Unavailable, Conflict):
            raise
        except DomainError as exc:
            raise PermanentError(exc.message) from exc

    return run


def order_subscriptions(policy: SettlementPolicy, default_currency: str) -> list[Subscription[Any, Any]]:
    def facts(event: Any) -> OrderFacts:
        return order_facts(event.facts, default_currency=default_currency)

    def sale_event(
        event: order_events.OrderPaid
        | order_events.OrderShipped
        | order_events.OrderCompleted
        | order_events.OrderReturnWindowClosed,
    ) -> Any:
        shipped = event.fulfillment_id if isinstance(event, order_events.OrderShipped) else ""
        return handlers.OrderEvent(facts(event), source(event), shipped)

    async def sale(event: Any, uow: SettlementUnitOfWork) -> None:
        await handlers.record_orders(uow, policy, [sale_event(event)])

    async def sales(events: list[Any], uow: SettlementUnitOfWork) -> None:
        """A run of paid, shipped and completed events of a consumer's batch, booked together."""
        await handlers.record_orders(uow, policy, [sale_event(e) for e in events])

    async def cancelled(event: order_events.OrderCancelled, uow: SettlementUnitOfWork) -> None:
        await handlers.record_order_cancelled(uow, policy, facts(event), source(event))

    async def returned(event: order_events.OrderReturned, uow: SettlementUnitOfWork) -> None:
        order = facts(event)
        ret = event.returned
        return_id = _id(ret.return_id, "return id") if ret.return_id else f"event-{event.meta.event_id}"
        refund = _amount(ret.refund, order.currency, f"return {return_id} refund")
        if ret.location_id:
            _id(ret.location_id, "return location id")
        goods = ReturnedGoods(
            return_id=return_id,
            location_id=ret.location_id,
            lines=tuple(StockLine(ln.sku, ln.quantity) for ln in ret.lines),
            refund=refund,
        )
        await handlers.record_order_returned(uow, policy, order, goods, source(event))

    one, many = _permanent_on_domain_errors(sale), _permanent_on_domain_errors(sales)
    return [
        Subscription.of(message, one, many=many, on_dead_letter=keep_report)
        for message in (
            order_events.OrderPaid,
            order_events.OrderShipped,
            order_events.OrderCompleted,
            # Its facts final: the order's held income is paid out from then on (rules.is_final).
            order_events.OrderReturnWindowClosed,
        )
    ] + [
        Subscription.of(
            order_events.OrderCancelled, _permanent_on_domain_errors(cancelled), on_dead_letter=keep_report
        ),
        Subscription.of(order_events.OrderReturned, _permanent_on_domain_errors(returned), on_dead_letter=keep_report),
    ]


def reported(order: order_facts_pb2.OrderFacts, event_type: str) -> UnsettledOrder | None:
    """What an orders event states the order was paid and refunded, read as far as it can be (the rest of
    the event may be what could not be settled); None if even that is unusable."""
    paid, refunded = order.paid.amount_minor, order.refunded.amount_minor
    currency = order.total.currency
    if not ID_RE.match(order.order_id) or not all(0 <= a <= MAX_AMOUNT_MINOR for a in (paid, refunded)):
        return None
    if not CURRENCY_RE.match(currency):
        return None
    return UnsettledOrder(order.order_id, currency, paid, refunded, event_type[:128])


async def keep_report(event: Any, uow: SettlementUnitOfWork) -> None:
    """An orders event about to be dead-lettered: keep what orders reported paid and refunded (its own
    transaction; the handler's rolled back), so that Reconcile shows a refund that never booked as a
    refund_mismatch instead of losing the report with it. Not `cancelled`: a lost cancellation must show
    as a mismatch too."""
    report = reported(event.facts, event.DESCRIPTOR.full_name)
    if report is not None:
        await handlers.keep_order_report(uow, report, is_paid=event.facts.is_paid)


def channel_subscriptions() -> list[Subscription[Any, Any]]:
    async def on_channel(
        event: channel_events.ChannelCreated | channel_events.ChannelUpdated, uow: SettlementUnitOfWork
    ) -> None:
        await handlers.apply_channel_terms(uow, channel_terms(event.channel))

    handler = _permanent_on_domain_errors(on_channel)
    return [
        Subscription.of(channel_events.ChannelCreated, handler),
        Subscription.of(channel_events.ChannelUpdated, handler),
    ]


def location_subscriptions() -> list[Subscription[Any, Any]]:
    async def upserted(event: inventory_events.LocationUpserted, uow: SettlementUnitOfWork) -> None:
        location = event.location
        _id(location.id, "location id")
        if location.owner_dealer_id:
            _id(location.owner_dealer_id, "owner dealer id")
        await handlers.apply_location(uow, location.id, location.owner_dealer_id)

    return [Subscription.of(inventory_events.LocationUpserted, _permanent_on_domain_errors(upserted))]


def dealer_subscriptions(default_currency: str) -> list[Subscription[Any, Any]]:
    async def received(event: dealer_events.ReplenishmentReceived, uow: SettlementUnitOfWork) -> None:
        r = event.replenishment
        _id(r.id, "replenishment id")
        _id(r.dealer_id, "dealer id")
        currency = r.total.currency or default_currency
        if not CURRENCY_RE.match(currency):
            raise PermanentError(f"replenishment {r.id}: currency {currency!r} is not ISO 4217")
        total = _amount(r.total, currency, f"replenishment {r.id} total")
        await handlers.record_replenishment_received(uow, r.id, r.dealer_id, currency, total, source(event))

    async def moved(event: dealer_events.OwnershipMoved, uow: SettlementUnitOfWork) -> None:
        await handlers.record_goods_moved(uow, goods_moved(event.move, default_currency), source(event))

    return [
        Subscription.of(dealer_events.ReplenishmentReceived, _permanent_on_domain_errors(received)),
        Subscription.of(dealer_events.OwnershipMoved, _permanent_on_domain_errors(moved)),
    ]


def goods_moved(m: dealers_pb2.OwnershipMove, default_currency: str) -> GoodsMoved:
    if not m.id or len(m.id) > 200 or not m.id.isprintable():
        raise PermanentError(f"ownership move id {m.id[:80]!r} is not one")
    owners = []
    for dealer_id in (m.from_dealer_id, m.to_dealer_id):
        owners.append(parties.dealer(_id(dealer_id, "dealer id")) if dealer_id else parties.BRAND)
    currency = m.total.currency or default_currency
    if not CURRENCY_RE.match(currency):
        raise PermanentError(f"ownership move {m.id}: currency {currency!r} is not ISO 4217")
    total = _amount(m.total, currency, f"ownership move {m.id} total")
    priced = ", ".join(f"{ln.quantity} x {ln.sku} at {ln.unit_price.amount_minor}" for ln in m.lines)
    return GoodsMoved(
        id=m.id,
        reason=_MOVE_REASONS.get(m.reason, "MOVE"),
        giver=owners[0],
        taker=owners[1],
        currency=currency,
        total=total,
        order_id=_id(m.order_id, "order id") if m.order_id else "",
        reference=m.reference[:200],
        location_id=m.location_id[:64],
        priced=priced[:300],
        unpriced=_unpriced(m),
    )


def _unpriced(m: dealers_pb2.OwnershipMove) -> tuple[StockLine, ...]:
    """The move's unpriced SKUs with their units (`unpriced_lines`); a SKU named only in `unpriced_skus` (an
    event from before dealers sent the units) has quantity 0: not stated."""
    units: dict[str, int] = {}
    for ln in m.unpriced_lines:
        if ln.quantity < 0:
            raise PermanentError(f"ownership move {m.id}: unpriced quantity of {ln.sku[:80]!r} is negative")
        units[ln.sku[:64]] = units.get(ln.sku[:64], 0) + ln.quantity
    for sku in m.unpriced_skus:
        units.setdefault(sku[:64], 0)
    return tuple(StockLine(sku, quantity) for sku, quantity in units.items())
