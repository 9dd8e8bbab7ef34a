"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place orders' domain objects become its published contract.

Every event states the order's facts (onepool/orders/v1/facts.proto) as the domain computes them: channel,
dealer, customer, lines with ordered, fulfilled and returned units, paid and refunded amounts, the fulfilling
locations and their owners, whether the order is open and paid. Readers decide from these and never from the
API status. The API resource (`order`) is still written, deprecated, for readers built before the facts."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.orders.v1 import events_pb2 as ev
from onepool.orders.v1 import facts_pb2 as fx
from onepool_runtime.protobuf import ts

from onepool_orders.adapters.mappers import money, order_to_proto, return_to_proto
from onepool_orders.domain import events as de
from onepool_orders.domain.model import Order, Return


def order_facts(o: Order) -> fx.OrderFacts:
    return fx.OrderFacts(
        order_id=o.id,
        channel_id=o.channel_id,
        dealer_id=o.dealer_id,
        customer_id=o.customer_id,
        lines=[
            fx.OrderLineFacts(
                sku=ln.sku,
                quantity=ln.quantity,
                fulfilled_quantity=o.delivered(ln.sku),
                returned_quantity=ln.returned,
                unit_price=money(ln.unit_price),
                line_total=money(ln.line_total),
                discount=money(ln.discount),
            )
            for ln in o.lines
        ],
        total=money(o.total),
        paid=money(o.paid),
        refunded=money(o.refunded),
        fulfillments=[
            fx.FulfillmentFacts(
                fulfillment_id=f.id,
                location_id=f.location_id,
                location_owner_dealer_id=f.owner_dealer_id,
                lines=[fx.StockLineFacts(sku=ln.sku, quantity=ln.quantity) for ln in f.lines],
                has_left=f.has_left,
                is_cancelled=f.is_cancelled,
                left_at=ts(f.shipped_at),
            )
            for f in o.fulfillments
        ],
        is_open=o.is_open,
        is_paid=o.is_paid,
        created_at=ts(o.created_at),
        updated_at=ts(o.updated_at),
        shipping_fee=money(o.shipping_fee),
    )


def return_facts(r: Return) -> fx.ReturnFacts:
    return fx.ReturnFacts(
        return_id=r.id,
        location_id=r.location_id,
        lines=[fx.StockLineFacts(sku=ln.sku, quantity=ln.quantity) for ln in r.lines],
        refund=money(r.refund),
        reason=r.reason,
    )


def translate(event: object) -> Iterable[Message]:
    match event:
        case de.OrderPlaced(order=o):
            yield ev.OrderPlaced(order=order_to_proto(o), facts=order_facts(o))
        case de.OrderPaid(order=o):
            yield ev.OrderPaid(order=order_to_proto(o), facts=order_facts(o))
        case de.OrderCancelled(order=o, reason=reason):
            yield ev.OrderCancelled(order=order_to_proto(o), reason=reason, facts=order_facts(o))
        case de.FulfillmentShipped(order=o, fulfillment_id=fid):
            yield ev.OrderShipped(order=order_to_proto(o), fulfillment_id=fid, facts=order_facts(o))
        case de.OrderCompleted(order=o):
            yield ev.OrderCompleted(order=order_to_proto(o), facts=order_facts(o))
        case de.ItemsReturned(order=o, order_return=r):
            yield ev.OrderReturned(
                order=order_to_proto(o),
                order_return=return_to_proto(r),
                facts=order_facts(o),
                returned=return_facts(r),
            )
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
