"""A trade the marketplace closed stays closed (docs/import-formats.md, "A closed trade stays closed").

Webhooks are not delivered in order: the open or paid copy of a trade, sent before its refund closed it, can
arrive after the closed one. It used to be placed as a new order: paid, its goods shipped for a refunded
trade; unpaid, its stock held for the payment window. The two copies racing each other had the same gap (the
close found no order yet, the open copy placed one after). Now channels records the close before it looks for
the order, and the open copy reads the record before and after it places.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import error_info, metadata

from tests.channels import test_import_closed_trades as closed_trades
from tests.channels import test_import_orders as documented

pytestmark = pytest.mark.asyncio
orders, marketplace = documented.orders, documented.marketplace
imported, taobao, shopify, generic = (
    closed_trades.imported,
    closed_trades.taobao,
    closed_trades.shopify,
    closed_trades.generic,
)
CLOSED_AT = closed_trades.CLOSED_AT


async def placed_under(orders, channel_id: str, external_order_id: str) -> list[opb.Order]:  # type: ignore[no-untyped-def]
    request = opb.ListOrdersRequest(channel_id=channel_id, external_order_id=external_order_id)
    return list((await orders.ListOrders(request, metadata=metadata("admin"))).orders)


async def refused_closed(world, channel_id: str, format_: str, payload: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await imported(world, channel_id, format_, payload)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value.details()
    info = error_info(refused.value)
    assert info is not None and info.reason == "TRADE_CLOSED"


@pytest.mark.parametrize(
    ("format_", "closed", "paid"),
    [
        ("taobao", lambda ref: taobao(ref, "TRADE_CLOSED"), lambda ref: taobao(ref, "WAIT_SELLER_SEND_GOODS")),
        ("shopify", lambda ref: shopify(ref, financial_status="refunded"), lambda ref: shopify(ref)),
        ("shopify", lambda ref: shopify(ref, cancelled_at=CLOSED_AT), lambda ref: shopify(ref)),
        ("generic", lambda ref: generic(ref, cancelled=True), lambda ref: generic(ref)),
    ],
)
async def test_a_paid_copy_arriving_after_the_close_is_no_sale(
    world, orders, marketplace, format_, closed, paid
) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    ref = world.name("ext")
    await refused_closed(world, channel.id, format_, closed(ref))

    for _ in range(2):  # the late paid copy, and its retry
        await refused_closed(world, channel.id, format_, paid(ref))

    assert await placed_under(orders, channel.id, ref) == []


async def test_an_unpaid_copy_arriving_after_the_close_holds_no_stock(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    tid = world.name("tid")
    await refused_closed(world, channel.id, "taobao", taobao(tid, "TRADE_CLOSED_BY_TAOBAO"))

    await refused_closed(world, channel.id, "taobao", taobao(tid, "WAIT_BUYER_PAY"))

    assert await placed_under(orders, channel.id, tid) == []  # no order, so no reservation holding stock


async def test_a_closed_copy_racing_the_paid_copy_never_leaves_a_live_order(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    for round_ in range(6):
        tid = world.name("tid")
        copies = [taobao(tid, "WAIT_SELLER_SEND_GOODS"), taobao(tid, "TRADE_CLOSED")]
        if round_ % 2:
            copies.reverse()
        answers = await asyncio.gather(
            *(imported(world, channel.id, "taobao", copy) for copy in copies), return_exceptions=True
        )
        for answer in answers:  # never an error but the close's own (INTERNAL, ABORTED, ...)
            if isinstance(answer, BaseException):
                info = error_info(answer) if isinstance(answer, grpc.aio.AioRpcError) else None
                assert info is not None and info.reason == "TRADE_CLOSED", (round_, answer)
        # The paid copy may answer the order as it placed and paid it, cancelled a moment later by the close.
        close = answers[1 - round_ % 2]
        assert not isinstance(close, opb.Order) or close.status == opb.ORDER_STATUS_CANCELLED, (round_, close)

        left = await placed_under(orders, channel.id, tid)
        assert [o.status for o in left] in ([], [opb.ORDER_STATUS_CANCELLED]), (round_, left)
        assert all(o.refunded == o.paid for o in left), "nothing paid is kept for a closed trade"
