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
from onepool_runtime import order_facts as stated
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import money_to_proto, ts

from onepool_orders.adapters.mappers import order_to_proto, return_to_proto
from onepool_orders.domain import events as de
from onepool_orders.domain.model import Order, OrderStatus, Return


def order_facts(o: Order) -> fx.OrderFacts:
    return to_message(
        fx.OrderFacts,
        o,
        order_id=o.id,
        lines=[
            to_message(
                fx.OrderLineFacts,
                ln,
                fulfilled_quantity=o.delivered(ln.sku),
                returned_quantity=ln.returned,
                awaiting_quantity=ln.awaiting,
                promised_at=ts(ln.promised_at if ln.awaiting > 0 else None),
            )
            for ln in o.lines
        ],
        fulfillments=[
            to_message(
                fx.FulfillmentFacts,
                f,
                fulfillment_id=f.id,
                location_owner_dealer_id=f.owner_dealer_id,
                lines=[to_message(fx.StockLineFacts, ln) for ln in f.lines],
                left_at=ts(f.shipped_at),
            )
            for f in o.fulfillments
        ],
        balance_due_at=ts(o.balance_due_at if o.status is OrderStatus.DEPOSIT_PAID else None),
        channel_version=o.channel_version,
        facts_version=stated.CURRENT,
    )


def return_facts(r: Return) -> fx.ReturnFacts:
    return to_message(fx.ReturnFacts, r, return_id=r.id, lines=[to_message(fx.StockLineFacts, ln) for ln in r.lines])


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
        case de.DeliveryAddressChanged(order=o, previous_address=previous):
            yield ev.OrderDeliveryAddressChanged(
                facts=order_facts(o),
                address=o.fulfillment.address,
                previous_address=previous,
                region=o.fulfillment.region,
            )
        case de.OrderRepriced(order=o, previous_total=previous):
            yield ev.OrderRepriced(facts=order_facts(o), previous_total=money_to_proto(previous))
        case de.ReturnWindowClosed(order=o):
            yield ev.OrderReturnWindowClosed(facts=order_facts(o))
        case de.DepositPaid(order=o):
            yield ev.OrderDepositPaid(facts=order_facts(o))
        case de.StockFilled(order=o):
            yield ev.OrderStockFilled(facts=order_facts(o))
        case de.PromiseMoved(order=o, lines=moved, reason=reason):
            yield ev.OrderPromiseMoved(
                facts=order_facts(o),
                lines=[
                    fx.LinePromise(
                        sku=m.sku,
                        awaiting_quantity=m.awaiting,
                        previous_promised_at=ts(m.previous_promised_at),
                        promised_at=ts(m.promised_at),
                    )
                    for m in moved
                ],
                reason=reason,
            )
        case _:
            raise TypeError(f"no integration event for {type(event).__name__}")
