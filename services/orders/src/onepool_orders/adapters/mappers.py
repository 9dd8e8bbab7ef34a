"""Domain objects -> orders protobuf messages (requests are translated in entrypoints/requests.py)."""

from __future__ import annotations

from onepool.orders.v1 import orders_pb2 as pb
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import FULFILLMENT_MODES, enum_maps, ts

from onepool_orders.domain.model import (
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentKind,
    Return,
)

ORDER_STATUSES, ORDER_STATUSES_BACK = enum_maps(pb.OrderStatus, OrderStatus)
FULFILLMENT_STATUSES = enum_maps(pb.FulfillmentStatus, FulfillmentStatus).to_proto
PAYMENT_KINDS_BACK = enum_maps(pb.PaymentKind, PaymentKind).from_proto


def _line(ln: OrderLine) -> pb.OrderLine:
    state = pb.LINE_STOCK_STATE_AWAITING_STOCK if ln.awaiting > 0 else pb.LINE_STOCK_STATE_ALLOCATED
    return to_message(
        pb.OrderLine,
        ln,
        returned_quantity=ln.returned,
        awaiting_quantity=ln.awaiting,
        promised_at=ts(ln.promised_at if ln.awaiting > 0 else None),
        stock_state=state,
    )


def order_to_proto(o: Order) -> pb.Order:
    return to_message(
        pb.Order,
        o,
        status=ORDER_STATUSES[o.status],
        lines=[_line(ln) for ln in o.lines],
        fulfillments=[
            to_message(
                pb.Fulfillment,
                fl,
                lines=[to_message(pb.FulfillmentLine, ln) for ln in fl.lines],
                status=FULFILLMENT_STATUSES[fl.status],
                location_owner_dealer_id=fl.owner_dealer_id,
            )
            for fl in o.fulfillments
        ],
        customer=to_message(pb.Customer, o.customer),
        fulfillment=to_message(pb.FulfillmentPreference, o.fulfillment, mode=FULFILLMENT_MODES[o.fulfillment.mode]),
        shortfalls=[to_message(pb.Shortfall, s) for s in o.shortfalls],
        reservation_expires_at=ts(o.reservation_expires_at if o.status is OrderStatus.RESERVED else None),
        balance_due_at=ts(o.balance_due_at if o.status is OrderStatus.DEPOSIT_PAID else None),
    )


def return_to_proto(r: Return) -> pb.Return:
    return to_message(
        pb.Return, r, lines=[to_message(pb.ReturnLine, ln) for ln in r.lines], return_location_id=r.location_id
    )
