"""Flow 5 end to end: marketplace payloads become unified orders in the orders service, exactly once.

Needs the orders service's PlaceOrder/ListOrders; the module is skipped while orders answers UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import field_violations, metadata

from tests.support.channels import wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
DOC = Path(__file__).resolve().parents[2] / "docs" / "import-formats.md"
EXAMPLES = dict(re.findall(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", DOC.read_text("utf-8"), flags=re.S))

# What each documented example must become: (external id, [(channel sku, quantity, unit price, line discount)],
# (shipping fee, total the marketplace collected), region, customer (channel id, phone, email, name)).
EXPECTED = {
    "shopify": (
        "5721170592001",
        [("SHOP-TEE-RED-M", 2, 9900, 1000), ("SHOP-CAP-BLK", 1, 12900, 0)],
        (1200, 32900),
        "CN-SH",
        ("7310028783873", "+8613800138000", "li.lei@example.com", "Lei Li"),
    ),
    "taobao": (
        "3412345678901234567",
        # discount_fee 20.00 less adjust_fee -5.00: 25.00 spread over the lines by value
        [("TB-TEE-RED-M", 1, 9900, 1044), ("TB-MUG", 2, 6900, 1456)],
        (800, 22000),
        "CN-ZJ",
        ("tb_lilei_88", "13800138000", "", "李雷"),
    ),
    "generic": (
        "MP-2026-000123",
        [("GEN-TEE-RED-M", 3, 8990, 1970), ("GEN-CAP-BLK", 1, 12900, 0)],
        (1000, 38900),
        "CN-SH",
        ("buyer-42", "+8613800138000", "li.lei@example.com", "Li Lei"),
    ),
}
PRICES = {c: p for _, lines, _, _, _ in EXPECTED.values() for c, _, p, _ in lines}


@pytest.fixture(scope="module")
async def orders(started):  # type: ignore[no-untyped-def]
    await started.start("orders")
    stub = started.stub("orders")
    try:
        await stub.GetOrder(opb.GetOrderRequest(order_id="probe"), metadata=metadata("admin"))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip("waits on the orders service (PlaceOrder/GetOrder/ListOrders not implemented yet)")
    return stub


@pytest.fixture
async def marketplace(world, orders):  # type: ignore[no-untyped-def]
    """A channel listing every channel SKU of the examples, each mapped to a fresh SKU with stock."""
    channel = await world.channel("market")
    await wait_until_orders_knows(orders, metadata("admin"), channel.id)
    wh = await world.location("WH")
    skus = {}
    for channel_sku, price in PRICES.items():
        skus[channel_sku] = world.name("SKU")
        listing = await world.listing(channel.id, skus[channel_sku], channel_sku=channel_sku, price=price)
        await wait_until_orders_lists(orders, metadata("admin"), channel.id, listing.sku, listing.price)
    await world.stock(wh, **{sku: 50 for sku in skus.values()})
    return channel, skus


async def channel_orders(orders, channel_id: str) -> list[opb.Order]:  # type: ignore[no-untyped-def]
    return list(
        (await orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id), metadata=metadata("admin"))).orders
    )


@pytest.mark.parametrize("format_", ["shopify", "taobao", "generic"])
async def test_each_documented_example_becomes_the_right_unified_order(world, orders, marketplace, format_) -> None:  # type: ignore[no-untyped-def]
    channel, skus = marketplace
    reply = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=channel.id, format=format_, payload=EXAMPLES[format_]),
        metadata=metadata("channel", channel_id=channel.id),
    )
    order = reply.order
    external_id, lines, (shipping, collected), region, (buyer, phone, email, name) = EXPECTED[format_]
    assert (order.channel_id, order.external_order_id) == (channel.id, external_id)
    assert sorted(
        (
            ln.sku,
            ln.channel_sku,
            ln.quantity,
            ln.unit_price.currency,
            ln.unit_price.amount_minor,
            ln.discount.amount_minor,
        )
        for ln in order.lines
    ) == sorted((skus[c], c, q, "CNY", p, d) for c, q, p, d in lines)
    assert [ln.line_total.amount_minor for ln in order.lines] == [
        ln.unit_price.amount_minor * ln.quantity - ln.discount.amount_minor for ln in order.lines
    ]
    assert order.shipping_fee.amount_minor == shipping
    # The order charges exactly what the marketplace collected, and that is what was paid.
    assert order.total.amount_minor == collected
    assert order.customer_id
    assert (order.customer.channel_customer_id, order.customer.phone) == (buyer, phone)
    assert (order.customer.email, order.customer.name) == (email, name)
    assert order.fulfillment.region == region
    assert [o.id for o in await channel_orders(orders, channel.id)] == [order.id]
    # Every example is already paid on its marketplace, so it is paid here too: its stock cannot lapse.
    assert order.status == opb.ORDER_STATUS_PAID
    assert order.paid == order.total and order.payment_ref


async def test_an_unpaid_marketplace_order_waits_for_payment(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    trade = json.loads(EXAMPLES["taobao"])
    trade["trade_fullinfo_get_response"]["trade"]["status"] = "WAIT_BUYER_PAY"
    trade["trade_fullinfo_get_response"]["trade"]["tid_str"] = world.name("tid")
    reply = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=json.dumps(trade)),
        metadata=world.admin,
    )
    assert reply.order.status == opb.ORDER_STATUS_RESERVED


async def test_the_same_payload_imported_twice_and_concurrently_is_one_order(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    request = cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=EXAMPLES["taobao"])
    first = await world.channels.ImportOrder(request, metadata=world.admin)
    replies = await asyncio.gather(*(world.channels.ImportOrder(request, metadata=world.admin) for _ in range(6)))
    assert {r.order.id for r in replies} == {first.order.id}
    assert {r.order.status for r in replies} == {opb.ORDER_STATUS_PAID}
    assert len(await channel_orders(orders, channel.id)) == 1

    other = await world.channel("market2")
    await wait_until_orders_knows(orders, metadata("admin"), other.id)
    wh = await world.location("WH")
    for channel_sku, _, price, _ in EXPECTED["generic"][1]:
        sku = world.name("SKU")
        listing = await world.listing(other.id, sku, channel_sku=channel_sku, price=price)
        await wait_until_orders_lists(orders, metadata("admin"), other.id, listing.sku, listing.price)
        await world.stock(wh, **{sku: 10})
    request = cpb.ImportOrderRequest(channel_id=other.id, format="generic", payload=EXAMPLES["generic"])
    replies = await asyncio.gather(*(world.channels.ImportOrder(request, metadata=world.admin) for _ in range(6)))
    assert len({r.order.id for r in replies}) == 1
    assert len(await channel_orders(orders, other.id)) == 1


async def test_a_reimport_after_its_listings_changed_is_the_same_order_and_records_the_payment(  # type: ignore[no-untyped-def]
    world, orders, marketplace
) -> None:
    """The marketplace's "paid" message comes after the brand changed the listing's price, or switched the
    listing off once the item sold out: it is the same sale, so the order placed takes the payment."""
    channel, skus = marketplace
    sku = skus["SHOP-CAP-BLK"]

    def trade(external_id: str, status: str, price: str = "119.00") -> cpb.ImportOrderRequest:
        payload = json.loads(EXAMPLES["shopify"])
        payload.pop("total_discounts")
        payload.update(id=external_id, financial_status=status, shipping_lines=[], total_price=price)
        payload["line_items"] = [{"sku": "SHOP-CAP-BLK", "quantity": 1, "price": price}]
        return cpb.ImportOrderRequest(channel_id=channel.id, format="shopify", payload=json.dumps(payload))

    repriced, switched_off = world.name("shop"), world.name("shop")
    first = (await world.channels.ImportOrder(trade(repriced, "pending"), metadata=world.admin)).order
    other = (await world.channels.ImportOrder(trade(switched_off, "paid"), metadata=world.admin)).order
    assert (first.status, first.lines[0].unit_price.amount_minor) == (opb.ORDER_STATUS_RESERVED, 12900)

    listing = await world.listing(channel.id, sku, channel_sku="SHOP-CAP-BLK", price=12500)
    await wait_until_orders_lists(orders, metadata("admin"), channel.id, sku, listing.price)
    paid = (await world.channels.ImportOrder(trade(repriced, "paid"), metadata=world.admin)).order
    assert (paid.id, paid.status, paid.paid) == (first.id, opb.ORDER_STATUS_PAID, first.total)
    # Another deal under a taken number is still refused: it is not the order placed.
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ImportOrder(trade(repriced, "paid", price="99.00"), metadata=world.admin)
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS

    await world.listing(channel.id, sku, channel_sku="SHOP-CAP-BLK", price=12500, active=False)
    again = (await world.channels.ImportOrder(trade(switched_off, "paid"), metadata=world.admin)).order
    assert (again.id, again.status) == (other.id, opb.ORDER_STATUS_PAID)


async def test_a_reimport_with_other_goods_at_the_same_price_is_another_deal(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """A variant swapped on the marketplace (the same count at the same price) is not the order placed: orders
    refuses it as other lines, and the import used to override that with the old order, paying it (the
    warehouse shipped the old variant). A re-import of the same goods after the listing's channel SKU changed
    is still the order placed: its lines keep the channel SKU they were sold under."""
    channel, skus = marketplace

    def trade(code: str, paid: bool) -> cpb.ImportOrderRequest:
        body = {
            "external_order_id": external_id,
            "currency": "CNY",
            "customer": {"id": "buyer-1"},
            "total": "99.00",
            "fulfillment": {"region": "CN-SH", "address": "1 Road"},
            "lines": [{"channel_sku": code, "quantity": 1, "unit_price": "99.00"}],
        }
        if paid:
            body["payment_ref"] = "pay-1"
        return cpb.ImportOrderRequest(channel_id=channel.id, format="generic", payload=json.dumps(body))

    external_id = world.name("MP")
    first = (await world.channels.ImportOrder(trade("SHOP-TEE-RED-M", False), metadata=world.admin)).order
    assert [ln.sku for ln in first.lines] == [skus["SHOP-TEE-RED-M"]]
    with pytest.raises(grpc.aio.AioRpcError) as exc:  # TB-TEE-RED-M: another SKU, also at 99.00
        await world.channels.ImportOrder(trade("TB-TEE-RED-M", True), metadata=world.admin)
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS, exc.value.details()
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=first.id), metadata=metadata("admin"))).order
    assert (stored.status, stored.paid.amount_minor) == (opb.ORDER_STATUS_RESERVED, 0)

    listing = await world.listing(channel.id, skus["SHOP-TEE-RED-M"], channel_sku="SHOP-TEE-RED-M-V2", price=9900)
    assert listing.channel_sku == "SHOP-TEE-RED-M-V2"
    paid = (await world.channels.ImportOrder(trade("SHOP-TEE-RED-M", True), metadata=world.admin)).order
    assert (paid.id, paid.status) == (first.id, opb.ORDER_STATUS_PAID)


async def test_a_reimport_with_a_new_address_moves_the_order_until_it_ships(
    world, orders, marketplace, started
) -> None:  # type: ignore[no-untyped-def]
    """The buyer changes the delivery address on the marketplace before the goods ship, and the marketplace
    sends the trade again: the order placed goes to the new address (it used to keep the old one, and the
    warehouse shipped there). After it has shipped, the re-import is answered with the order as it is."""
    from tests.support.orders import order_events

    channel, _ = marketplace
    tid = world.name("tid")

    def trade(street: str, status: str = "WAIT_SELLER_SEND_GOODS") -> cpb.ImportOrderRequest:
        payload = json.loads(EXAMPLES["taobao"])
        payload["trade_fullinfo_get_response"]["trade"].update(tid_str=tid, receiver_address=street, status=status)
        return cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=json.dumps(payload))

    placed = (
        await world.channels.ImportOrder(trade("文三路100号", status="WAIT_BUYER_PAY"), metadata=world.admin)
    ).order
    assert placed.fulfillment.address == "浙江省, 杭州市, 西湖区, 文三路100号, 310000"

    moved = (await world.channels.ImportOrder(trade("天目山路8号"), metadata=world.admin)).order

    assert (moved.id, moved.status) == (placed.id, opb.ORDER_STATUS_PAID)
    assert moved.fulfillment.address == "浙江省, 杭州市, 西湖区, 天目山路8号, 310000"
    assert moved.fulfillment.region == placed.fulfillment.region
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=placed.id), metadata=metadata("admin"))).order
    assert stored.fulfillment.address == moved.fulfillment.address
    # The marketplace sending it again (a retry) is the same order at the same address, changed once.
    again = (await world.channels.ImportOrder(trade("天目山路8号"), metadata=world.admin)).order
    assert (again.id, again.fulfillment.address, again.updated_at) == (
        placed.id,
        moved.fulfillment.address,
        stored.updated_at,
    )
    # Back to the first address and on again: each move is applied (a move is not mistaken for an earlier one).
    back = (await world.channels.ImportOrder(trade("文三路100号"), metadata=world.admin)).order
    assert back.fulfillment.address == placed.fulfillment.address
    on = (await world.channels.ImportOrder(trade("天目山路8号"), metadata=world.admin)).order
    assert on.fulfillment.address == moved.fulfillment.address

    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=placed.fulfillments[0].id),
        metadata=metadata("admin"),
    )
    late = (await world.channels.ImportOrder(trade("莫干山路1号"), metadata=world.admin)).order
    assert (late.id, late.fulfillment.address) == (placed.id, moved.fulfillment.address)
    assert late.fulfillments[0].status == opb.FULFILLMENT_STATUS_SHIPPED

    changes = await world.eventually(
        lambda: order_events(started.nats_url, placed.id),
        lambda evs: [s for s, _ in evs].count("orders.order.delivery_address_changed") >= 3,
    )
    assert [e.address.split(", ")[3] for s, e in changes if s == "orders.order.delivery_address_changed"] == [
        "天目山路8号",
        "文三路100号",
        "天目山路8号",
    ]


async def test_a_late_reimport_of_an_older_version_does_not_move_the_address_back(  # type: ignore[no-untyped-def]
    world, orders, marketplace, started
) -> None:
    """Marketplaces re-send old versions of a trade, and one can arrive after a newer one: each payload's
    address is as of its own modification time (Taobao `modified`, Beijing time), so an older version is
    answered with the order as it is, whether the newer address came from the marketplace or from customer
    service. It used to move the order back to the stale address."""
    from tests.support.orders import order_events

    channel, _ = marketplace
    tid = world.name("tid")
    beijing = timezone(timedelta(hours=8))
    now = datetime.now(beijing)

    def trade(street: str, minutes: int, status: str = "WAIT_SELLER_SEND_GOODS") -> cpb.ImportOrderRequest:
        payload = json.loads(EXAMPLES["taobao"])
        modified = f"{now + timedelta(minutes=minutes):%Y-%m-%d %H:%M:%S}"
        payload["trade_fullinfo_get_response"]["trade"].update(
            tid_str=tid, receiver_address=street, status=status, modified=modified
        )
        return cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=json.dumps(payload))

    def address(street: str) -> str:
        return f"浙江省, 杭州市, 西湖区, {street}, 310000"

    async def send(street: str, minutes: int, status: str = "WAIT_SELLER_SEND_GOODS") -> opb.Order:
        return (await world.channels.ImportOrder(trade(street, minutes, status), metadata=world.admin)).order

    placed = await send("文三路100号", -60, status="WAIT_BUYER_PAY")
    moved = await send("天目山路8号", -40)
    assert (moved.id, moved.status, moved.fulfillment.address) == (
        placed.id,
        opb.ORDER_STATUS_PAID,
        address("天目山路8号"),
    )

    # The version between them, late: the order stays where the newer one put it.
    late = await send("莫干山路1号", -50)
    assert (late.id, late.fulfillment.address, late.updated_at) == (
        placed.id,
        moved.fulfillment.address,
        moved.updated_at,
    )

    # Customer service moves it, as of when the buyer called (30 minutes ago); the marketplace re-sending its
    # last version, older than that, changes nothing.
    called = Timestamp()
    called.FromDatetime(now - timedelta(minutes=30))
    await orders.ChangeDeliveryAddress(
        opb.ChangeDeliveryAddressRequest(
            request_id=world.name("cs"), order_id=placed.id, address=address("客服路5号"), as_of=called
        ),
        metadata=metadata("admin"),
    )
    resent = await send("天目山路8号", -40)
    assert resent.fulfillment.address == address("客服路5号")
    # A newer version at that address, then an older one (still newer than the service's change) arriving late.
    # (Times are never later than now: orders reads a sender's time ahead of its clock as now.)
    assert (await send("客服路5号", -20)).fulfillment.address == address("客服路5号")
    assert (await send("文三路100号", -25)).fulfillment.address == address("客服路5号")
    stored = (await orders.GetOrder(opb.GetOrderRequest(order_id=placed.id), metadata=metadata("admin"))).order
    assert stored.fulfillment.address == address("客服路5号")

    changes = await world.eventually(
        lambda: order_events(started.nats_url, placed.id),
        lambda evs: [s for s, _ in evs].count("orders.order.delivery_address_changed") >= 2,
    )
    assert [e.address for s, e in changes if s == "orders.order.delivery_address_changed"] == [
        address("天目山路8号"),
        address("客服路5号"),
    ]


async def test_a_refused_payload_creates_no_order(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    channel, _ = marketplace
    payload = json.loads(EXAMPLES["shopify"])
    payload["line_items"][1]["sku"] = "NOT-LISTED"
    for text in (json.dumps(payload), EXAMPLES["shopify"][:40]):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await world.channels.ImportOrder(
                cpb.ImportOrderRequest(channel_id=channel.id, format="shopify", payload=text), metadata=world.admin
            )
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(exc.value) in (["payload.line_items[1].sku"], ["payload"])
    assert await channel_orders(orders, channel.id) == []


async def test_a_paid_import_orders_cannot_take_is_answered_as_orders_keeps_it(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """Whether an order can take the marketplace's payment is orders' decision (channels reads no orders
    status): one rejected for lack of stock, or cancelled before the paid trade came in, is answered as it is."""
    channel, _ = marketplace
    empty = await world.channel("market-empty")
    await wait_until_orders_knows(orders, metadata("admin"), empty.id)
    short = await world.location("WH")
    for channel_sku, _, price, _ in EXPECTED["taobao"][1]:
        sku = world.name("SKU")
        listing = await world.listing(empty.id, sku, channel_sku=channel_sku, price=price)
        await wait_until_orders_lists(orders, metadata("admin"), empty.id, listing.sku, listing.price)
        await world.stock(short, **{sku: 1})  # the trade wants two mugs
    rejected = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=empty.id, format="taobao", payload=EXAMPLES["taobao"]), metadata=world.admin
    )
    assert rejected.order.status == opb.ORDER_STATUS_REJECTED
    assert rejected.order.paid.amount_minor == 0

    trade = json.loads(EXAMPLES["taobao"])
    trade["trade_fullinfo_get_response"]["trade"]["tid_str"] = world.name("tid")
    unpaid = json.loads(json.dumps(trade))
    unpaid["trade_fullinfo_get_response"]["trade"]["status"] = "WAIT_BUYER_PAY"
    placed = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=json.dumps(unpaid)),
        metadata=world.admin,
    )
    await orders.CancelOrder(
        opb.CancelOrderRequest(order_id=placed.order.id, reason="buyer"), metadata=metadata("admin")
    )
    paid_later = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=channel.id, format="taobao", payload=json.dumps(trade)), metadata=world.admin
    )
    assert (paid_later.order.id, paid_later.order.status) == (placed.order.id, opb.ORDER_STATUS_CANCELLED)
    assert paid_later.order.paid.amount_minor == 0


# --- issue 12 item 3: marketplace totals ------------------------------------------------------------------


def _one_line_shopify(world, price: str, total_price: str) -> str:  # type: ignore[no-untyped-def]
    payload = json.loads(EXAMPLES["shopify"])
    payload["id"] = world.name("shop")
    payload["line_items"] = [{"sku": "SHOP-CAP-BLK", "quantity": 1, "price": price}]
    payload.pop("total_discounts")
    payload["shipping_lines"] = []
    payload["total_price"] = total_price
    return json.dumps(payload)


async def test_a_payload_whose_parts_do_not_add_up_is_refused_naming_the_difference(world, orders, marketplace) -> None:  # type: ignore[no-untyped-def]
    """The acceptance run: total_price "1.00" with one line at 99.00 was booked as paid 99.00."""
    channel, _ = marketplace
    payload = _one_line_shopify(world, "129.00", "1.00")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ImportOrder(
            cpb.ImportOrderRequest(channel_id=channel.id, format="shopify", payload=payload), metadata=world.admin
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(exc.value) == ["payload.total_price"]
    assert "a difference of 128.00" in (exc.value.details() or "")
    assert await channel_orders(orders, channel.id) == []


async def test_a_marketplace_price_below_the_listing_is_an_explicit_discount_and_above_is_refused(  # type: ignore[no-untyped-def]
    world, orders, marketplace
) -> None:
    channel, skus = marketplace
    cheaper = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(
            channel_id=channel.id, format="shopify", payload=_one_line_shopify(world, "119.00", "119.00")
        ),
        metadata=world.admin,
    )
    [line] = cheaper.order.lines
    assert (line.sku, line.unit_price.amount_minor, line.discount.amount_minor) == (skus["SHOP-CAP-BLK"], 12900, 1000)
    assert cheaper.order.total.amount_minor == cheaper.order.paid.amount_minor == 11900
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ImportOrder(
            cpb.ImportOrderRequest(
                channel_id=channel.id, format="shopify", payload=_one_line_shopify(world, "139.00", "139.00")
            ),
            metadata=world.admin,
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(exc.value) == ["payload.line_items[0].price"]
    assert [o.id for o in await channel_orders(orders, channel.id)] == [cheaper.order.id]


async def test_settlement_books_what_the_marketplace_collected(world, orders, marketplace, started) -> None:  # type: ignore[no-untyped-def]
    """The Shopify example collects 329.00 (lines 327.00, less 10.00 discount, plus 12.00 shipping); the
    channel's 5% commission is taken from that, not from the lines' prices."""
    from onepool.settlement.v1 import settlement_pb2 as spb

    await started.start("settlement")
    settlement = started.stub("settlement")
    channel, _ = marketplace
    reply = await world.channels.ImportOrder(
        cpb.ImportOrderRequest(channel_id=channel.id, format="shopify", payload=EXAMPLES["shopify"]),
        metadata=world.admin,
    )
    assert reply.order.paid.amount_minor == 32900

    async def commission() -> int:
        balance = await settlement.GetBalance(
            spb.GetBalanceRequest(party=f"channel:{channel.id}"), metadata=world.admin
        )
        return int(balance.balance.amount_minor)

    assert await world.eventually(commission, lambda fee: fee != 0, within=30) == 32900 * 500 // 10_000
