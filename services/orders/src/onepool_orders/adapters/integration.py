"""Domain events -> integration events (protobuf messages for the outbox, which finds their subjects in the event
registry). The only place orders' domain objects become its published contract. Every event carries the whole
order: channel, dealer, lines and prices, fulfilling locations and their owners, paid and refunded amounts."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from onepool.orders.v1 import events_pb2 as ev

from onepool_orders.adapters.mappers import order_to_proto, return_to_proto
from onepool_orders.domain import events as de


def translate(event: object) -> Iterable[Message]:
    match event:
        case de.OrderPlaced(order=o):
            yield ev.OrderPlaced(order=order_to_proto(o))
        case de.OrderPaid(order=o):
            yield ev.OrderPaid(order=order_to_proto(o))
        case de.OrderCancelled(order=o, reason=reason):
            yield ev.OrderCancelled(order=order_to_proto(o), reason=reason)
        case de.FulfillmentShipped(order=o, fulfillment_id=fid):
            yield ev.OrderShipped(order=order_to_proto(o), fulfillment_id=fid)
        case de.OrderCompleted(order=o):
            yield ev.OrderCompleted(order=order_to_proto(o))
        case de.ItemsReturned(order=o, order_return=r):
            yield ev.OrderReturned(order=order_to_proto(o), order_return=return_to_proto(r))
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
