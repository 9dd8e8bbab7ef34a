"""A trade the marketplace closed, cancelled or refunded is not a sale in OnePool (docs/import-formats.md,
"Closed, cancelled and refunded trades").

A closed trade OnePool never placed is refused with FAILED_PRECONDITION TRADE_CLOSED and places nothing (it
used to become a RESERVED order holding stock until its payment window ended); one re-sent closed after it was
placed cancels that order through orders' CancelOrder while nothing has left (it used to stay RESERVED or PAID,
so settlement kept the sale), once however often it is re-sent; after the goods left the order is answered as
it is (the connector records the return with ReturnItems). Statuses that are paid on the marketplace (Taobao
PAID_FORBID_CONSIGN, Shopify partially_refunded) are paid here too.
"""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, metadata

from tests.channels import test_import_orders as documented

pytestmark = pytest.mark.asyncio
EXAMPLES, channel_orders = documented.EXAMPLES, documented.channel_orders
# Its fixtures: the orders service, and a channel listing every channel SKU of the documented examples.
orders, marketplace = documented.orders, documented.marketplace
CLOSED_AT = "2026-11-23T11:00:00+08:00"


def taobao(tid: str, status: str) -> str:
    payload = json.loads(EXAMPLES["taobao"])
    payload["trade_fullinfo_get_response"]["trade"].update(tid_str=tid, status=status)
    return json.dumps(payload)


def shopify(sid: str, **changes: object) -> str:
    payload = json.loads(EXAMPLES["shopify"])
    payload.update(id=sid, **changes)
    return json.dumps(payload)


def generic(gid: str, **changes: object) -> str:
    payload = json.loads(EXAMPLES["generic"])
    payload.update(external_order_id=gid, **changes)
    return json.dumps(payload)


async def imported(world, channel_id: str, format_: str, payload: str) -> opb.Order:  # type: ignore[no-untyped-def]
    request = cpb.ImportOrderRequest(channel_id=channel_id, format=format_, payload=payload)
    return (await world.channels.ImportOrder(request, metadata=world.admin)).order


async def cancellations(nats_url: str, order_id: str) -> int:
    from tests.support.orders import order_events

    return [subject for subject, _ in await order_events(nats_url, order_id)].count("orders.order.cancelled")


async def test_a_trade_closed_before_it_was_imported_places_nothing(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    closed = [
        ("taobao", taobao(world.name("tid"), "TRADE_CLOSED_BY_TAOBAO")),
        ("taobao", taobao(world.name("tid"), "TRADE_CLOSED")),
        ("taobao", taobao(world.name("tid"), "TRADE_NO_CREATE_PAY")),
        ("shopify", shopify(world.name("s"), financial_status="voided", cancelled_at=CLOSED_AT)),
        ("shopify", shopify(world.name("s"), financial_status="pending", cancelled_at=CLOSED_AT)),
        ("shopify", shopify(world.name("s"), financial_status="refunded")),
        ("generic", generic(world.name("g"), cancelled=True)),
    ]
    for format_, payload in closed:
        for _ in range(2):  # a retry gets the same answer
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await imported(world, channel.id, format_, payload)
            assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, (format_, payload)
            info = error_info(refused.value)
            assert info is not None and info.reason == "TRADE_CLOSED", (format_, payload)
            assert info.metadata["external_order_id"]
    assert await channel_orders(orders, channel.id) == []


async def test_a_closed_trade_with_a_bad_field_is_still_refused_on_its_path(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await imported(world, channel.id, "shopify", shopify(world.name("s"), cancelled_at="yesterday"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await imported(world, channel.id, "generic", generic(world.name("g"), cancelled="yes"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_unpaid_trade_closed_on_the_marketplace_cancels_its_order_once(  # type: ignore[no-untyped-def]
    world, orders, marketplace, started
) -> None:
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await imported(world, channel.id, "taobao", taobao(tid, "WAIT_BUYER_PAY"))
    assert placed.status == opb.ORDER_STATUS_RESERVED

    closed = taobao(tid, "TRADE_CLOSED_BY_TAOBAO")
    answers = await asyncio.gather(*(imported(world, channel.id, "taobao", closed) for _ in range(4)))
    again = await imported(world, channel.id, "taobao", closed)

    assert {(o.id, o.status) for o in [*answers, again]} == {(placed.id, opb.ORDER_STATUS_CANCELLED)}
    assert "TRADE_CLOSED_BY_TAOBAO" in again.status_reason
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=placed.id), metadata=metadata("admin"))).order
    assert stored.status == opb.ORDER_STATUS_CANCELLED
    assert await world.eventually(lambda: cancellations(started.nats_url, placed.id), lambda n: n >= 1) == 1
    await asyncio.sleep(0.5)
    assert await cancellations(started.nats_url, placed.id) == 1


@pytest.mark.parametrize(
    ("format_", "paid", "closed"),
    [
        ("shopify", {}, {"financial_status": "refunded", "cancelled_at": CLOSED_AT}),
        ("shopify", {}, {"cancelled_at": CLOSED_AT}),
        ("taobao", "WAIT_SELLER_SEND_GOODS", "TRADE_CLOSED"),
        ("generic", {}, {"cancelled": True}),
    ],
)
async def test_a_paid_trade_refunded_before_its_goods_left_cancels_and_refunds(  # type: ignore[no-untyped-def]
    world, orders, marketplace, format_, paid, closed
) -> None:
    channel, _ = marketplace
    ref = world.name("ext")

    def payload(change: object) -> str:
        if format_ == "taobao":
            assert isinstance(change, str)
            return taobao(ref, change)
        assert isinstance(change, dict)
        return shopify(ref, **change) if format_ == "shopify" else generic(ref, **change)

    placed = await imported(world, channel.id, format_, payload(paid))
    assert placed.status == opb.ORDER_STATUS_PAID

    cancelled = await imported(world, channel.id, format_, payload(closed))

    assert (cancelled.id, cancelled.status) == (placed.id, opb.ORDER_STATUS_CANCELLED)
    assert cancelled.refunded == placed.paid  # orders' rule: a paid order cancelled is due back in full
    again = await imported(world, channel.id, format_, payload(closed))
    assert (again.status, again.refunded, again.updated_at) == (
        cancelled.status,
        cancelled.refunded,
        cancelled.updated_at,
    )


async def test_a_trade_refunded_after_its_goods_left_is_answered_as_it_is(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """The goods are on their way or with the buyer: the refund is a return, which the connector records with
    orders' ReturnItems where they come back. The import neither cancels nor refuses."""
    channel, _ = marketplace
    tid = world.name("tid")
    placed = await imported(world, channel.id, "taobao", taobao(tid, "WAIT_SELLER_SEND_GOODS"))
    for fulfillment in placed.fulfillments:
        await orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=fulfillment.id), metadata=metadata("admin")
        )

    answer = await imported(world, channel.id, "taobao", taobao(tid, "TRADE_CLOSED"))

    assert (answer.id, answer.status) == (placed.id, opb.ORDER_STATUS_SHIPPED)
    assert answer.refunded.amount_minor == 0 and answer.paid == placed.paid


@pytest.mark.parametrize(
    ("format_", "payload"),
    [
        ("taobao", lambda ref: taobao(ref, "PAID_FORBID_CONSIGN")),
        ("shopify", lambda ref: shopify(ref, financial_status="partially_refunded")),
    ],
)
async def test_statuses_paid_on_the_marketplace_are_paid(world, orders, marketplace, format_, payload) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    order = await imported(world, channel.id, format_, payload(world.name("ext")))
    assert order.status == opb.ORDER_STATUS_PAID
    assert order.paid == order.total


async def test_a_paused_channel_still_cancels_what_its_marketplace_closed(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    from google.protobuf import field_mask_pb2

    channel, _ = marketplace
    sid = world.name("s")
    placed = await imported(world, channel.id, "shopify", shopify(sid, financial_status="pending"))
    await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, status=cpb.CHANNEL_STATUS_PAUSED),
            update_mask=field_mask_pb2.FieldMask(paths=["status"]),
        ),
        metadata=world.admin,
    )

    cancelled = await imported(world, channel.id, "shopify", shopify(sid, financial_status="voided"))

    assert (cancelled.id, cancelled.status) == (placed.id, opb.ORDER_STATUS_CANCELLED)
