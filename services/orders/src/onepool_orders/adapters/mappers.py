"""Domain objects -> orders protobuf messages (requests are translated in entrypoints/requests.py)."""

from __future__ import annotations

from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as pb
from onepool_kernel.money import Money
from onepool_runtime.protobuf import enum_maps, ts

from onepool_orders.domain.model import (
    FulfillmentMode,
    FulfillmentStatus,
    Order,
    OrderStatus,
    Return,
)

ORDER_STATUSES, ORDER_STATUSES_BACK = enum_maps(pb.OrderStatus, OrderStatus)
FULFILLMENT_MODES, FULFILLMENT_MODES_BACK = enum_maps(pb.FulfillmentMode, FulfillmentMode)
FULFILLMENT_STATUSES = enum_maps(pb.FulfillmentStatus, FulfillmentStatus).to_proto


def money(value: Money | None) -> common_pb2.Money | None:
    if value is None:
        return None
    return common_pb2.Money(currency=value.currency, amount_minor=value.amount_minor)


def order_to_proto(o: Order) -> pb.Order:
    c = o.customer
    f = o.fulfillment
    return pb.Order(
        id=o.id,
        channel_id=o.channel_id,
        external_order_id=o.external_order_id,
        customer_id=o.customer_id,
        status=ORDER_STATUSES[o.status],
        lines=[
            pb.OrderLine(
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=money(ln.unit_price),
                line_total=money(ln.line_total),
                channel_sku=ln.channel_sku,
                returned_quantity=ln.returned,
                discount=money(ln.discount),
            )
            for ln in o.lines
        ],
        total=money(o.total),
        fulfillments=[
            pb.Fulfillment(
                id=fl.id,
                location_id=fl.location_id,
                lines=[pb.FulfillmentLine(sku=ln.sku, quantity=ln.quantity) for ln in fl.lines],
                status=FULFILLMENT_STATUSES[fl.status],
                tracking_no=fl.tracking_no,
                location_owner_dealer_id=fl.owner_dealer_id,
                shipped_at=ts(fl.shipped_at),
            )
            for fl in o.fulfillments
        ],
        reservation_id=o.reservation_id,
        created_at=ts(o.created_at),
        updated_at=ts(o.updated_at),
        dealer_id=o.dealer_id,
        customer=pb.Customer(
            channel_customer_id=c.channel_customer_id,
            phone=c.phone,
            member_id=c.member_id,
            name=c.name,
            email=c.email,
        ),
        fulfillment=pb.FulfillmentPreference(
            mode=FULFILLMENT_MODES[f.mode],
            region=f.region,
            address=f.address,
            pickup_location_id=f.pickup_location_id,
            allow_split=f.allow_split,
        ),
        paid=money(o.paid),
        refunded=money(o.refunded),
        payment_ref=o.payment_ref,
        status_reason=o.status_reason,
        shortfalls=[pb.Shortfall(sku=s.sku, requested=s.requested, available=s.available) for s in o.shortfalls],
        reservation_expires_at=ts(o.reservation_expires_at if o.status is OrderStatus.RESERVED else None),
        shipping_fee=money(o.shipping_fee),
    )


def return_to_proto(r: Return) -> pb.Return:
    return pb.Return(
        id=r.id,
        order_id=r.order_id,
        lines=[pb.ReturnLine(sku=ln.sku, quantity=ln.quantity) for ln in r.lines],
        return_location_id=r.location_id,
        refund=money(r.refund),
        reason=r.reason,
        created_at=ts(r.created_at),
    )
