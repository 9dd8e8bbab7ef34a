"""Issue 12 item 2: PlaceOrder honours the channel's terms, through the real channels, orders, inventory and
settlement services (PostgreSQL, NATS, gRPC).

- A LISTINGS channel (the default) sells only its active listings: a SKU with no listing, or an inactive
  one, is INVALID_ARGUMENT on `lines[i].sku`, and nothing is reserved.
- Prices are in the channel's currency (`lines[i].unit_price.currency` otherwise).
- A line is at its listing's price (`lines[i].unit_price.amount_minor` otherwise); a reduction is an explicit
  `lines[i].discount`, recorded on the line, and settlement splits what was actually paid.
- A POOL channel (a brand shop's POS) opts out of the listing rule for SKUs it does not list; a SKU it does
  list is still sold at its listing's price.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import error_info, field_violations, metadata

from tests.support.channels import wait_until_orders_knows

pytestmark = pytest.mark.asyncio
PRICE = 10_000


@pytest.fixture(scope="module")
async def services(started: Any) -> Any:
    await started.start("orders", "settlement")
    return started


@pytest.fixture(scope="module")
async def orders(services: Any) -> Any:
    return services.stub("orders")


def money(amount: int, currency: str = "CNY") -> common_pb2.Money:
    return common_pb2.Money(currency=currency, amount_minor=amount)


def order_request(channel_id: str, sku: str, price: int, *, quantity: int = 1, **line: Any) -> opb.PlaceOrderRequest:
    return opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=f"EXT-{sku}-{price}-{quantity}-{len(line)}",
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=money(price, line.pop("currency", "CNY")), **line)],
        fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="1 Nanjing Rd"),
    )


async def refused(orders: Any, request: opb.PlaceOrderRequest, meta: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await orders.PlaceOrder(request, metadata=meta)
    return exc.value


async def reserved(world: Any, sku: str) -> int:
    reply = await world.inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[sku]), metadata=world.admin)
    return reply.items[0].reserved


async def shop(world: Any, orders: Any, *, catalogue: int = cpb.CATALOGUE_UNSPECIFIED, **stock: int) -> cpb.Channel:
    """A channel that orders knows, over a warehouse holding `stock`."""
    warehouse = await world.location("WH")
    await world.stock(warehouse, **stock)
    reply = await world.channels.CreateChannel(
        cpb.CreateChannelRequest(
            code=world.name("web"),
            name="web",
            type=cpb.CHANNEL_TYPE_ONLINE_STORE,
            fee_rate_bps=500,
            request_id=world.name("req"),
            catalogue=catalogue,
        ),
        metadata=world.admin,
    )
    await wait_until_orders_knows(orders, world.admin, reply.channel.id)
    return reply.channel


async def orders_knows_listing_price(world: Any, orders: Any, channel_id: str, sku: str, price: int) -> None:
    """Wait until orders' copy of the listing has `price`: an order one fen off is then refused on its price
    (not on its SKU), and nothing is placed meanwhile."""

    async def probe() -> list[str]:
        error = await refused(orders, order_request(channel_id, sku, price + 1), world.admin)
        return field_violations(error)

    await world.eventually(probe, lambda fields: fields == ["lines[0].unit_price.amount_minor"])


async def test_a_sku_the_channel_does_not_list_is_refused_and_nothing_is_reserved(world, orders) -> None:  # type: ignore[no-untyped-def]
    sku, inactive = world.name("SKU"), world.name("SKU")
    channel = await shop(world, orders, **{sku: 10, inactive: 10})
    token = metadata("channel", channel_id=channel.id)
    error = await refused(orders, order_request(channel.id, sku, PRICE), token)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["lines[0].sku"]
    assert "not listed" in (error.details() or "")
    # The cause beside the field (a malformed SKU is refused on lines[0].sku too): orders' listings may lag.
    assert (info := error_info(error)) is not None and info.reason == "LISTING_TERMS"

    await world.listing(channel.id, inactive, price=PRICE, active=False)
    error = await world.eventually(
        lambda: refused(orders, order_request(channel.id, inactive, PRICE), token),
        lambda e: "inactive" in (e.details() or ""),
    )
    assert (info := error_info(error)) is not None and info.reason == "LISTING_TERMS"
    assert await reserved(world, sku) == await reserved(world, inactive) == 0
    listed = await orders.ListOrders(opb.ListOrdersRequest(channel_id=channel.id), metadata=world.admin)
    assert list(listed.orders) == []


async def test_an_order_in_another_currency_is_refused_naming_the_field(world, orders) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    channel = await shop(world, orders, **{sku: 10})
    await world.listing(channel.id, sku, price=PRICE)
    error = await refused(orders, order_request(channel.id, sku, PRICE, currency="USD"), world.admin)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == ["lines[0].unit_price.currency"]
    assert "CNY" in (error.details() or "")
    assert error_info(error) is None  # not about the listings: nothing to wait for
    assert await reserved(world, sku) == 0


async def test_a_price_other_than_the_listings_is_refused_and_a_stated_discount_is_settled(
    world, orders, services
) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    channel = await shop(world, orders, **{sku: 10})
    await world.listing(channel.id, sku, price=PRICE)
    await orders_knows_listing_price(world, orders, channel.id, sku, PRICE)
    error = await refused(orders, order_request(channel.id, sku, PRICE - 1500, quantity=2), world.admin)
    assert field_violations(error) == ["lines[0].unit_price.amount_minor"]
    assert "must be the listing's price 10000 CNY" in (error.details() or "")
    assert await reserved(world, sku) == 0

    # The same reduction stated as a discount: list price, reduction and net are all on the line.
    placed = await orders.PlaceOrder(
        order_request(channel.id, sku, PRICE, quantity=2, discount=money(3000)), metadata=world.admin
    )
    order = placed.order
    assert order.status == opb.ORDER_STATUS_RESERVED
    [line] = order.lines
    assert (line.unit_price.amount_minor, line.discount.amount_minor, line.line_total.amount_minor) == (
        PRICE,
        3000,
        17000,
    )
    assert order.total.amount_minor == 17000
    paid = await orders.PayOrder(
        opb.PayOrderRequest(order_id=order.id, payment_ref=world.name("PAY"), amount=order.total), metadata=world.admin
    )
    assert paid.order.paid.amount_minor == 17000

    # Settlement splits the 170.00 paid: the channel's 5% is 8.50, not 5% of the 200.00 list price.
    settlement = services.stub("settlement")

    async def commission() -> int:
        reply = await settlement.GetBalance(spb.GetBalanceRequest(party=f"channel:{channel.id}"), metadata=world.admin)
        return int(reply.balance.amount_minor)

    assert await world.eventually(commission, lambda fee: fee != 0, within=30) == 850


async def test_a_repeat_of_an_order_placed_before_its_listing_changed_returns_that_order(world, orders) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    channel = await shop(world, orders, **{sku: 10})
    await world.listing(channel.id, sku, price=PRICE)
    await orders_knows_listing_price(world, orders, channel.id, sku, PRICE)
    request = order_request(channel.id, sku, PRICE)
    first = (await orders.PlaceOrder(request, metadata=world.admin)).order
    await world.listing(channel.id, sku, price=PRICE + 500)
    await orders_knows_listing_price(world, orders, channel.id, sku, PRICE + 500)
    again = (await orders.PlaceOrder(request, metadata=world.admin)).order
    assert (again.id, again.status) == (first.id, opb.ORDER_STATUS_RESERVED)


async def test_a_pool_channel_sells_unlisted_skus_but_holds_listed_ones_to_their_price(world, orders) -> None:  # type: ignore[no-untyped-def]
    """The opt-out: a brand-operated shop's POS sells whatever its pool holds."""
    unlisted, listed = world.name("SKU"), world.name("SKU")
    pos = await shop(world, orders, catalogue=cpb.CATALOGUE_POOL, **{unlisted: 5, listed: 50})
    assert pos.catalogue == cpb.CATALOGUE_POOL
    token = metadata("channel", channel_id=pos.id)
    sold = await orders.PlaceOrder(order_request(pos.id, unlisted, 4321), metadata=token)
    assert sold.order.status == opb.ORDER_STATUS_RESERVED

    await world.listing(pos.id, listed, price=PRICE)
    # Until orders' copy has the listing the SKU sells as unlisted; then only at the listing's price.
    error = await world.eventually(
        lambda: _placed_or_refused(orders, order_request(pos.id, listed, PRICE + 1), token),
        lambda outcome: isinstance(outcome, grpc.aio.AioRpcError),
    )
    assert field_violations(error) == ["lines[0].unit_price.amount_minor"]
    assert (await orders.PlaceOrder(order_request(pos.id, listed, PRICE), metadata=token)).order.status == (
        opb.ORDER_STATUS_RESERVED
    )


async def test_a_channel_switched_to_its_listings_only_refuses_unlisted_skus(world, orders) -> None:  # type: ignore[no-untyped-def]
    sku = world.name("SKU")
    pos = await shop(world, orders, catalogue=cpb.CATALOGUE_POOL, **{sku: 5})
    updated = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=pos.id, catalogue=cpb.CATALOGUE_LISTINGS), update_mask={"paths": ["catalogue"]}
        ),
        metadata=world.admin,
    )
    assert updated.channel.catalogue == cpb.CATALOGUE_LISTINGS
    error = await world.eventually(
        lambda: _placed_or_refused(orders, order_request(pos.id, sku, PRICE), world.admin),
        lambda outcome: isinstance(outcome, grpc.aio.AioRpcError),
    )
    assert field_violations(error) == ["lines[0].sku"]


async def _placed_or_refused(orders: Any, request: opb.PlaceOrderRequest, meta: Any) -> Any:
    """The order placed, or the refusal (a fresh external id each time, so a placed one is not repeated)."""
    request.external_order_id = f"{request.external_order_id}-{id(object())}"
    try:
        return (await orders.PlaceOrder(request, metadata=meta)).order
    except grpc.aio.AioRpcError as exc:
        return exc


async def test_an_update_without_a_mask_refuses_a_new_currency_and_takes_the_channel_back_as_read(  # type: ignore[no-untyped-def]
    world, orders
) -> None:
    """Without a mask, fields that never change are compared, not ignored: a different currency (or code) is
    INVALID_ARGUMENT and changes nothing (before: OK, still CNY); the channel as read, renamed, is taken."""
    channel = await shop(world, orders, **{world.name("SKU"): 1})
    for field, value in (("currency", "USD"), ("code", world.name("other"))):
        changed = cpb.Channel()
        changed.CopyFrom(channel)
        setattr(changed, field, value)
        changed.name = "renamed"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await world.channels.UpdateChannel(cpb.UpdateChannelRequest(channel=changed), metadata=world.admin)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(caught.value) == [f"channel.{field}"]
    read = (await world.channels.GetChannel(cpb.GetChannelRequest(channel_id=channel.id), metadata=world.admin)).channel
    assert read.name == "web" and read.currency == "CNY"
    read.name = "renamed"
    updated = (await world.channels.UpdateChannel(cpb.UpdateChannelRequest(channel=read), metadata=world.admin)).channel
    assert updated.name == "renamed" and updated.currency == "CNY"
