"""Issue 12 item 4: dealers on their own DEALER channel, across the real inventory, channels, orders and dealers
services (PostgreSQL, NATS, gRPC).

- A dealer token orders on its own channel without naming itself (the order is its sale).
- A dealer receives returns at its own locations with its own token, and at no one else's.
- "Own locations first" is the channel's choice: WHOLE_ORDER (default: the dealer's stock only when it fills
  the whole order) or FILL_FIRST (a split order takes what the dealer's locations hold, the rest from the
  brand's). The choice survives the dealers service re-pushing the channel's locations.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import metadata

from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio
PRICE = 5_000


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers")
    return stack


async def _warehouse(services: Any, admin: Any, sku: str, quantity: int) -> str:
    inventory = services.stub("inventory")
    location = uid("WH")
    await inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(id=location, name="brand", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True)
        ),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("rcv"), location_id=location, lines=[ipb.StockLine(sku=sku, quantity=quantity)]
        ),
        metadata=admin,
    )
    return location


def _order(channel_id: str, sku: str, quantity: int, *, allow_split: bool = True) -> opb.PlaceOrderRequest:
    return opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=cny(PRICE))],
        fulfillment=ship_to(allow_split=allow_split),
    )


def _held(order: opb.Order) -> dict[str, int]:
    return {f.location_id: sum(ln.quantity for ln in f.lines) for f in order.fulfillments}


async def _on_hand(services: Any, admin: Any, sku: str, location_id: str) -> int:
    reply = await services.stub("inventory").GetAvailability(
        ipb.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=admin
    )
    return reply.items[0].on_hand


async def test_a_dealer_token_orders_on_its_own_channel_without_naming_itself(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 4)
    order = (
        await services.stub("orders").PlaceOrder(
            _order(dealer.channel_id, sku, 2), metadata=metadata("dealer", dealer_id=dealer.id)
        )
    ).order
    # Stock is held at the dealer's shop for the dealer's sale (statuses are orders' own: not named here).
    assert (bool(order.reservation_id), order.dealer_id, _held(order)) == (True, dealer.id, {shop: 2})


async def test_a_dealer_receives_returns_at_its_own_locations_only(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("TEA")
    a, shop_a = await dealer_with_a_shop(services, admin, sku, 4)
    _b, shop_b = await dealer_with_a_shop(services, admin, sku, 4)
    brand = await _warehouse(services, admin, sku, 1)
    orders, token_a = services.stub("orders"), metadata("dealer", dealer_id=a.id)
    order = (await orders.PlaceOrder(_order(a.channel_id, sku, 2), metadata=token_a)).order
    order = (
        await orders.PayOrder(
            opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total), metadata=token_a
        )
    ).order
    [fulfillment] = order.fulfillments
    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=fulfillment.id, tracking_no="SF1"),
        metadata=token_a,
    )

    def give_back(location_id: str) -> opb.ReturnItemsRequest:
        return opb.ReturnItemsRequest(
            request_id=uid("ret"),
            order_id=order.id,
            lines=[opb.ReturnLine(sku=sku, quantity=1)],
            return_location_id=location_id,
            reason="too small",
        )

    for elsewhere in (shop_b, brand):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await orders.ReturnItems(give_back(elsewhere), metadata=token_a)
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED
    before = await _on_hand(services, admin, sku, shop_a)
    returned = await orders.ReturnItems(give_back(shop_a), metadata=token_a)
    assert returned.order_return.refund.amount_minor == PRICE
    await eventually(lambda: _on_hand(services, admin, sku, shop_a), lambda n: n == before + 1)
    assert await _on_hand(services, admin, sku, shop_b) == 4
    assert await _on_hand(services, admin, sku, brand) == 1


async def test_own_stock_first_is_the_channels_choice_whole_order_or_fill_first(services, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 3)
    warehouse = await _warehouse(services, admin, sku, 10)
    orders, channels, token = (
        services.stub("orders"),
        services.stub("channels"),
        metadata("dealer", dealer_id=dealer.id),
    )

    # WHOLE_ORDER (the default): the shop cannot fill 5, so one brand warehouse does, and the shop's 3 stay.
    whole = (await orders.PlaceOrder(_order(dealer.channel_id, sku, 5), metadata=token)).order
    assert _held(whole) == {warehouse: 5}
    await orders.CancelOrder(opb.CancelOrderRequest(order_id=whole.id, reason="test"), metadata=token)

    await channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(
                id=dealer.channel_id, allocation=cpb.AllocationPolicy(own_stock=cpb.OWN_STOCK_RULE_FILL_FIRST)
            ),
            update_mask={"paths": ["allocation.own_stock"]},
        ),
        metadata=admin,
    )

    async def split_order() -> opb.Order:
        order = (await orders.PlaceOrder(_order(dealer.channel_id, sku, 5), metadata=token)).order
        await orders.CancelOrder(opb.CancelOrderRequest(order_id=order.id, reason="probe"), metadata=token)
        return order

    # FILL_FIRST: the shop's 3 first, the other 2 from the brand (once inventory has the channel's new policy).
    filled = await eventually(split_order, lambda o: len(o.fulfillments) == 2)
    assert _held(filled) == {shop: 3, warehouse: 2}
    # Without a split allowed there is one parcel, as before.
    one = (await orders.PlaceOrder(_order(dealer.channel_id, sku, 5, allow_split=False), metadata=token)).order
    assert _held(one) == {warehouse: 5}
    await orders.CancelOrder(opb.CancelOrderRequest(order_id=one.id, reason="test"), metadata=token)

    # A new dealer location makes the dealers service push the channel's locations again: the brand's choice
    # of FILL_FIRST stays.
    second = uid("DS")
    await services.stub("dealers").AddDealerLocation(
        dpb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=ipb.Location(id=second, name="second", type=ipb.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )

    async def channel() -> cpb.Channel:
        return (await channels.GetChannel(cpb.GetChannelRequest(channel_id=dealer.channel_id), metadata=admin)).channel

    pushed = await eventually(channel, lambda c: second in c.allocation.location_ids)
    assert pushed.allocation.own_stock == cpb.OWN_STOCK_RULE_FILL_FIRST
    again = (await orders.PlaceOrder(_order(dealer.channel_id, sku, 5), metadata=token)).order
    assert _held(again) == {shop: 3, warehouse: 2}
