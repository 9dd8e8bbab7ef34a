"""Issue 9 item 3: the dealer of an order is decided by who may act, never taken from the request.

Across the five real services (PostgreSQL, NATS, gRPC): dealer A's token cannot sell dealer B's stock through
B's DEALER channel, whatever dealer it names; a channel token cannot name a dealer its channel does not
bind; and a dealer selling on its own channel without naming itself gets the sale, in orders and in settlement.
A refused placement changes nothing: no order, no reservation, no event, no ledger entry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import metadata

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import ORDER_EVENTS, cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio
PRICE = 21_000
SETTLE_SECONDS = 1.0  # how long "nothing was booked" is watched for after a refusal (not a performance bound)


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    return stack


class Dealer:
    def __init__(self, dealer: dpb.Dealer, shop: str) -> None:
        self.id, self.channel_id, self.shop = dealer.id, dealer.channel_id, shop
        self.token = metadata("dealer", dealer_id=dealer.id)
        self.party = f"dealer:{dealer.id}"


async def _dealer_with_a_stocked_shop(services: Any, admin: Any, sku: str) -> Dealer:
    return Dealer(*await dealer_with_a_shop(services, admin, sku, 5))


async def _available(services: Any, admin: Any, sku: str, location_id: str) -> tuple[int, int]:
    reply = await services.stub("inventory").GetAvailability(
        ipb.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=admin
    )
    return reply.items[0].on_hand, reply.items[0].reserved


async def _balance(services: Any, admin: Any, party: str) -> int:
    reply = await services.stub("settlement").GetBalance(spb.GetBalanceRequest(party=party), metadata=admin)
    return reply.balance.amount_minor


async def _orders_of_channel(services: Any, admin: Any, channel_id: str) -> list[opb.Order]:
    reply = await services.stub("orders").ListOrders(opb.ListOrdersRequest(channel_id=channel_id), metadata=admin)
    return list(reply.orders)


async def _events_on_channel(nats_url: str, channel_id: str) -> list[str]:
    """Subjects of every order event published about an order of this channel."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(
            "orders.>",
            stream="ORDERS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        found: list[str] = []
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except TimeoutError:
                break
            found += [
                m.subject for m in batch if ORDER_EVENTS[m.subject].FromString(m.data).order.channel_id == channel_id
            ]
            if len(batch) < 500:
                break
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


def _order(channel_id: str, sku: str, **fields: Any) -> opb.PlaceOrderRequest:
    return opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=cny(PRICE))],
        fulfillment=ship_to(),
        **fields,
    )


async def _refused(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code()


async def _unchanged(services: Any, admin: Any, sku: str, a: Dealer, b: Dealer, before: Any) -> None:
    """Nothing a refused placement could have touched moved: orders, stock, events, both dealers' ledgers."""
    await asyncio.sleep(SETTLE_SECONDS)  # give any event a wrongly made order would publish time to land
    assert await _snapshot(services, admin, sku, a, b) == before


async def _snapshot(services: Any, admin: Any, sku: str, a: Dealer, b: Dealer) -> Any:
    return (
        [o.id for o in await _orders_of_channel(services, admin, b.channel_id)],
        [o.id for o in await _orders_of_channel(services, admin, a.channel_id)],
        await _available(services, admin, sku, b.shop),
        await _events_on_channel(services.nats_url, b.channel_id),
        await _balance(services, admin, a.party),
        await _balance(services, admin, b.party),
    )


async def test_a_dealer_cannot_sell_another_dealers_stock(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("BIKE")
    a = await _dealer_with_a_stocked_shop(services, admin, sku)
    b = await _dealer_with_a_stocked_shop(services, admin, sku)
    orders = services.stub("orders")
    before = await _snapshot(services, admin, sku, a, b)
    assert before[2] == (5, 0)

    # The attack of the issue: A's token, B's channel, naming A. Then the same without naming anyone, and
    # naming B (A acting for B): all refused.
    for fields in ({"dealer_id": a.id}, {}, {"dealer_id": b.id}):
        code = await _refused(orders.PlaceOrder(_order(b.channel_id, sku, **fields), metadata=a.token))
        assert code == grpc.StatusCode.PERMISSION_DENIED, fields
    # Even the privileged path cannot move B's channel's sale to A.
    code = await _refused(orders.PlaceOrder(_order(b.channel_id, sku, dealer_id=a.id), metadata=admin))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    await _unchanged(services, admin, sku, a, b, before)


async def test_a_channel_token_cannot_name_a_dealer_its_channel_does_not_bind(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("TEA")
    a = await _dealer_with_a_stocked_shop(services, admin, sku)
    b = await _dealer_with_a_stocked_shop(services, admin, sku)
    brand = (
        await services.stub("channels").CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("web"),
                name="brand web store",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                allocation=cpb.AllocationPolicy(location_ids=[b.shop]),
                request_id=uid("req"),
            ),
            metadata=admin,
        )
    ).channel
    orders = services.stub("orders")
    await wait_until_inventory_knows(services.stub("inventory"), admin, brand.id)
    await wait_until_orders_knows(orders, admin, brand.id)
    before = await _snapshot(services, admin, sku, a, b)

    # B's own channel token naming A, and a brand channel's token naming A: neither channel binds A.
    for channel_id in (b.channel_id, brand.id):
        token = metadata("channel", channel_id=channel_id)
        code = await _refused(orders.PlaceOrder(_order(channel_id, sku, dealer_id=a.id), metadata=token))
        assert code == grpc.StatusCode.PERMISSION_DENIED, channel_id
    assert [o for o in await _orders_of_channel(services, admin, brand.id)] == []
    await _unchanged(services, admin, sku, a, b, before)

    # B's channel token not naming anyone: the order is B's.
    token = metadata("channel", channel_id=b.channel_id)
    order = (await orders.PlaceOrder(_order(b.channel_id, sku), metadata=token)).order
    assert (order.status, order.dealer_id) == (opb.ORDER_STATUS_RESERVED, b.id)


async def test_a_dealer_selling_on_its_own_channel_gets_the_sale(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("MUG")
    a = await _dealer_with_a_stocked_shop(services, admin, sku)
    b = await _dealer_with_a_stocked_shop(services, admin, sku)
    orders = services.stub("orders")
    a_before, b_before = await _balance(services, admin, a.party), await _balance(services, admin, b.party)

    order = (await orders.PlaceOrder(_order(b.channel_id, sku), metadata=b.token)).order
    assert (order.status, order.dealer_id) == (opb.ORDER_STATUS_RESERVED, b.id)
    assert [f.location_id for f in order.fulfillments] == [b.shop]
    # A cannot pay, cancel, read or see B's order.
    pay = opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total)
    assert await _refused(orders.PayOrder(pay, metadata=a.token)) == grpc.StatusCode.PERMISSION_DENIED
    cancel = opb.CancelOrderRequest(order_id=order.id, reason="mine now")
    assert await _refused(orders.CancelOrder(cancel, metadata=a.token)) == grpc.StatusCode.PERMISSION_DENIED
    get = opb.GetOrderRequest(order_id=order.id)
    assert await _refused(orders.GetOrder(get, metadata=a.token)) == grpc.StatusCode.PERMISSION_DENIED
    listed = await orders.ListOrders(opb.ListOrdersRequest(), metadata=a.token)
    assert order.id not in {o.id for o in listed.orders}

    paid = (await orders.PayOrder(pay, metadata=b.token)).order
    assert paid.status == opb.ORDER_STATUS_PAID
    # Settlement books the sale to B (the brand keeps its share; a dealer channel has no fee); A gets nothing.
    share = PRICE * 7_000 // 10_000
    await eventually(lambda: _balance(services, admin, b.party), lambda v: v == b_before + share)
    assert await _balance(services, admin, a.party) == a_before
    entries = await services.stub("settlement").ListEntries(
        spb.ListEntriesRequest(party=b.party), metadata=metadata("dealer", dealer_id=b.id)
    )
    assert any(line.account == "sale" and line.amount.amount_minor == share for line in entries.entries)
