"""Goods that change owner other than by a replenishment are settled (issue 13 item 2), across the real
inventory, channels, orders, dealers and settlement services: dealers values each move at a dealer's tier
wholesale price and publishes it, settlement books it. docs/settlement.md worked examples 4, 6, 7 and 10, with
exact amounts per party:

- a transfer into a dealer's shop that is not a replenishment: the dealer owes the brand its tier price;
  sent back, the brand owes it again (valued at the giving dealer's tier);
- a brand sale shipped from a dealer's shop: the dealer earns its fulfillment fee AND is paid for the goods
  at its tier price; a unit of that sale returned at the dealer's shop is the dealer's again, at that price;
- a dealer's own sale shipped from the brand's warehouse sold the brand's goods: a unit returned there moves
  nothing, a unit returned at the dealer's shop is the dealer's from then on, at its tier price.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb

from tests.support.channels import register_channel
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    return stack


def per_party(lines: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        out[line.party] += line.amount.amount_minor
    return {k: v for k, v in out.items() if v}


async def entries(services: Any, admin: Any, **query: Any) -> list[spb.JournalLine]:
    reply = await services.stub("settlement").ListEntries(spb.ListEntriesRequest(**query), metadata=admin)
    return list(reply.entries)


async def moved_lines(services: Any, admin: Any, dealer_id: str, reference: str) -> list[spb.JournalLine]:
    """Both sides (the dealer's and the brand's) of the ownership entry whose reference is `reference`."""

    async def probe() -> list[spb.JournalLine]:
        lines = []
        for party in (f"dealer:{dealer_id}", "brand"):
            lines += await entries(services, admin, party=party, page_size=1000)
        return [ln for ln in lines if ln.rule == "ownership" and ln.reference == reference]

    return await eventually(probe, lambda lines: len(lines) == 2)  # type: ignore[no-any-return]


async def warehouse(services: Any, admin: Any, sku: str, quantity: int) -> str:
    inventory, location = services.stub("inventory"), uid("WH")
    await inventory.UpsertLocation(
        ipb.UpsertLocationRequest(
            location=ipb.Location(id=location, name="brand DC", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True)
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


async def transfer(services: Any, admin: Any, sku: str, quantity: int, source: str, target: str) -> str:
    inventory = services.stub("inventory")
    sent = await inventory.TransferStock(
        ipb.TransferStockRequest(
            request_id=uid("tr"),
            from_location_id=source,
            to_location_id=target,
            lines=[ipb.StockLine(sku=sku, quantity=quantity)],
            reason="display stock",
        ),
        metadata=admin,
    )
    await inventory.ReceiveTransfer(ipb.ReceiveTransferRequest(transfer_id=sent.transfer.id), metadata=admin)
    return str(sent.transfer.id)


async def test_a_transfer_into_a_dealers_shop_and_back_is_settled_at_the_dealers_tier_price(
    services: Any, admin: Any
) -> None:
    """Worked example 6. Dealer D (SILVER, 85%); list price 10 000, so D's price is 8 500. Two units sent
    from a brand warehouse to D's shop: D owes 17 000. One sent back: the brand owes D 8 500 (the giving
    dealer's price). D owes 8 500, and its dealer overview counts it."""
    dealers, sku = services.stub("dealers"), uid("TEA")
    dealer = (
        await dealers.RegisterDealer(
            dpb.RegisterDealerRequest(
                request_id=uid("reg"), name="D", tier=dpb.DEALER_TIER_SILVER, credit_limit=cny(100_000)
            ),
            metadata=admin,
        )
    ).dealer
    shop = uid("DS")
    await dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=ipb.Location(id=shop, name="shop", type=ipb.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )
    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(10_000)), metadata=admin)
    brand = await warehouse(services, admin, sku, 10)

    there = await transfer(services, admin, sku, 2, brand, shop)
    assert per_party(await moved_lines(services, admin, dealer.id, there)) == {
        f"dealer:{dealer.id}": -17_000,
        "brand": 17_000,
    }
    back = await transfer(services, admin, sku, 1, shop, brand)
    assert per_party(await moved_lines(services, admin, dealer.id, back)) == {
        f"dealer:{dealer.id}": 8_500,
        "brand": -8_500,
    }

    balance = await services.stub("settlement").GetBalance(
        spb.GetBalanceRequest(party=f"dealer:{dealer.id}"), metadata=admin
    )
    assert balance.balance == cny(-8_500)

    async def overview() -> dpb.GetDealerOverviewResponse:
        return await dealers.GetDealerOverview(dpb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=admin)

    o = await eventually(overview, lambda o: o.balance == cny(8_500))
    assert o.credit_available == cny(91_500)


async def test_a_brand_sale_shipped_from_a_dealers_shop_pays_for_the_goods_and_a_return_there_gives_them_back(
    services: Any, admin: Any
) -> None:
    """Worked examples 7 and 4. Dealer D (GOLD, 80%); list price 5 000, so D's price is 4 000. A brand online
    sale of 2 x 6 000 is shipped from D's shop: the sale (brand +12 000), D's fee (5% = 600), and the goods
    the brand took from D's shelf (2 x 4 000 = 8 000). One unit comes back at D's shop: the refund takes half
    of the sale and of the fee, and D takes the unit back at 4 000."""
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 4)
    dealers, inventory, orders = services.stub("dealers"), services.stub("inventory"), services.stub("orders")
    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(5_000)), metadata=admin)
    web = await register_channel(services.nats_url, inventory, admin, location_ids=[shop], orders=orders)

    placed = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=web,
                external_order_id=uid("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=2, unit_price=cny(6_000))],
                fulfillment=ship_to(),
            ),
            metadata=admin,
        )
    ).order
    [fulfillment] = placed.fulfillments
    assert fulfillment.location_id == shop
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=placed.id, payment_ref=uid("PAY"), amount=placed.total), metadata=admin
    )
    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=fulfillment.id, tracking_no="SF1"),
        metadata=admin,
    )

    def by_rule(lines: list[spb.JournalLine]) -> dict[str, dict[str, int]]:
        return {rule: per_party(ln for ln in lines if ln.rule == rule) for rule in sorted({ln.rule for ln in lines})}

    async def order_entries() -> list[spb.JournalLine]:
        return await entries(services, admin, order_id=placed.id)

    d = f"dealer:{dealer.id}"
    lines = await eventually(
        order_entries, lambda ls: {"sale", "fulfilment_fee", "ownership"} <= {ln.rule for ln in ls}
    )
    assert by_rule(lines) == {
        "sale": {"clearing": -12_000, "brand": 12_000},
        "fulfilment_fee": {"brand": -600, d: 600},
        "ownership": {"brand": -8_000, d: 8_000},
    }

    await orders.ReturnItems(
        opb.ReturnItemsRequest(
            request_id=uid("ret"),
            order_id=placed.id,
            lines=[opb.ReturnLine(sku=sku, quantity=1)],
            return_location_id=shop,
            reason="too small",
        ),
        metadata=admin,
    )
    lines = await eventually(
        order_entries, lambda ls: "return" in {ln.rule for ln in ls} and len({ln.entry_id for ln in ls}) == 5
    )
    assert by_rule(lines) == {
        "sale": {"clearing": -12_000, "brand": 12_000},
        "fulfilment_fee": {"brand": -600, d: 600},
        "ownership": {"brand": -4_000, d: 4_000},  # 8 000 for two units, less 4 000 for the one back
        "return": {"clearing": 6_000, "brand": -5_700, d: -300},
    }
    balance = await services.stub("settlement").GetBalance(spb.GetBalanceRequest(party=d), metadata=admin)
    assert balance.balance == cny(4_300)


async def test_goods_without_a_wholesale_price_are_valued_at_what_the_customer_paid_after_the_discount(
    services: Any, admin: Any
) -> None:
    """Audit X: a SKU with no list price is valued at the price the customer paid x the tier factor
    (docs/settlement.md). A brand sale of 2 x 6 000 with 2 000 off the line (paid 5 000 a unit) shipped from
    GOLD dealer D's shop: the brand takes the goods at 80% of 5 000 = 4 000 a unit, 8 000. Before, dealers took
    the list price before the discount (80% of 6 000: 9 600)."""
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 2)
    inventory, orders = services.stub("inventory"), services.stub("orders")
    web = await register_channel(services.nats_url, inventory, admin, location_ids=[shop], orders=orders)
    line = opb.OrderLine(sku=sku, quantity=2, unit_price=cny(6_000), discount=cny(2_000))
    request = opb.PlaceOrderRequest(
        channel_id=web,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[line],
        fulfillment=ship_to(),
    )
    placed = (await orders.PlaceOrder(request, metadata=admin)).order
    [fulfillment] = placed.fulfillments
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=placed.id, payment_ref=uid("PAY"), amount=placed.total), metadata=admin
    )
    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=fulfillment.id, tracking_no="SF1"),
        metadata=admin,
    )
    lines = await moved_lines(services, admin, dealer.id, fulfillment.id)
    assert per_party(lines) == {"brand": -8_000, f"dealer:{dealer.id}": 8_000}


async def test_a_dealers_part_of_a_sale_cancelled_before_it_left_moves_no_goods_and_refunds_only_the_sale(
    services: Any, admin: Any
) -> None:
    """A split sale: 1 unit ships from the brand's warehouse, the 4 at dealer D's shop never leave (CancelOrder
    on the FULFILLING order). D earns no fee and the brand takes no goods from D; the 4 units' share of the
    sale (24 000 of 30 000) is refunded as a return of goods that never left: no owner changes."""
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 4)
    brand_dc = await warehouse(services, admin, sku, 1)
    inventory, orders = services.stub("inventory"), services.stub("orders")
    web = await register_channel(services.nats_url, inventory, admin, location_ids=[brand_dc, shop], orders=orders)
    placed = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=web,
                external_order_id=uid("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=5, unit_price=cny(6_000))],
                fulfillment=ship_to(allow_split=True),
            ),
            metadata=admin,
        )
    ).order
    parts = {f.location_id: f for f in placed.fulfillments}
    assert {loc: f.lines[0].quantity for loc, f in parts.items()} == {brand_dc: 1, shop: 4}
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=placed.id, payment_ref=uid("PAY"), amount=placed.total), metadata=admin
    )
    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=parts[brand_dc].id), metadata=admin
    )
    cancelled = await orders.CancelOrder(
        opb.CancelOrderRequest(order_id=placed.id, reason="D's units damaged"), metadata=admin
    )
    assert cancelled.order.refunded == cny(24_000)

    async def order_entries() -> list[spb.JournalLine]:
        return await entries(services, admin, order_id=placed.id)

    lines = await eventually(order_entries, lambda ls: "return" in {ln.rule for ln in ls})
    rules = {rule: per_party(ln for ln in lines if ln.rule == rule) for rule in sorted({ln.rule for ln in lines})}
    assert rules == {"sale": {"clearing": -30_000, "brand": 30_000}, "return": {"clearing": 24_000, "brand": -24_000}}
    assert await entries(services, admin, party=f"dealer:{dealer.id}", order_id=placed.id) == []


async def test_a_dealers_sale_from_the_brands_warehouse_returned_there_moves_nothing_and_at_its_shop_is_bought(
    services: Any, admin: Any
) -> None:
    """Worked example 10. Dealer D (GOLD, 80%); list price 5 000, so D's price is 4 000. D's own sale of 2 x 6 000
    is shipped from the brand's warehouse (D's shop has none): the goods were the brand's and stay so. One unit
    comes back at the warehouse: no owner changes. One comes back at D's shop: D takes the brand's unit over,
    `dealer:D -4 000`, `brand +4 000` (move `return:<return>:brand`)."""
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, uid("MUG"), 1)
    dealers, inventory, orders = services.stub("dealers"), services.stub("inventory"), services.stub("orders")
    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(5_000)), metadata=admin)
    brand_dc = await warehouse(services, admin, sku, 2)

    async def sellable_on_the_dealer_channel() -> int:
        reply = await inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], channel_id=dealer.channel_id), metadata=admin
        )
        return reply.items[0].available

    await eventually(sellable_on_the_dealer_channel, lambda n: n == 2)
    placed = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=dealer.channel_id,
                external_order_id=uid("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=2, unit_price=cny(6_000))],
                fulfillment=ship_to(),
                dealer_id=dealer.id,
            ),
            metadata=admin,
        )
    ).order
    [fulfillment] = placed.fulfillments
    assert fulfillment.location_id == brand_dc
    await orders.PayOrder(
        opb.PayOrderRequest(order_id=placed.id, payment_ref=uid("PAY"), amount=placed.total), metadata=admin
    )
    await orders.ShipFulfillment(
        opb.ShipFulfillmentRequest(order_id=placed.id, fulfillment_id=fulfillment.id, tracking_no="SF1"),
        metadata=admin,
    )
    for location in (brand_dc, shop):
        await orders.ReturnItems(
            opb.ReturnItemsRequest(
                request_id=uid("ret"),
                order_id=placed.id,
                lines=[opb.ReturnLine(sku=sku, quantity=1)],
                return_location_id=location,
                reason="changed mind",
            ),
            metadata=admin,
        )

    async def order_entries() -> list[spb.JournalLine]:
        return await entries(services, admin, order_id=placed.id)

    def both_returns_and_a_move(lines: list[spb.JournalLine]) -> bool:
        returns = {ln.entry_id for ln in lines if ln.rule == "return"}
        return len(returns) == 2 and any(ln.rule == "ownership" for ln in lines)

    lines = await eventually(order_entries, both_returns_and_a_move)
    assert per_party(ln for ln in lines if ln.rule == "ownership") == {"brand": 4_000, f"dealer:{dealer.id}": -4_000}
