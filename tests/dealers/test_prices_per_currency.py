"""A brand whose dealers keep their accounts in different currencies (CNY and USD), across the real inventory,
channels, orders, dealers and settlement services: the wholesale price list has a price per SKU and currency
(migration 0015), a dealer is priced in its credit currency only, and setting a price in one currency leaves
the others alone.

- a replenishment is priced in the dealer's currency; a SKU without a price in it is PRICE_MISSING, naming the
  SKU and the currency;
- goods that change owner (a transfer into a dealer's shop, a brand sale shipped from a dealer's shop) are
  valued in the valuing dealer's currency; a move nothing could price is logged, naming it;
- the prices set before 0015 are kept, and replicas of the release before it (a rolling upgrade) still read
  one price per SKU, in its currency, and what they write reaches the price list.

Amounts: list price 5 000 CNY and 700 USD; GOLD pays 80%: 4 000 CNY, 560 USD a unit.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import grpc
import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_cli.services import BY_NAME
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import error_info

from tests.dealers.test_ownership_moves import entries, moved_lines, per_party, transfer, warehouse
from tests.support.channels import register_channel
from tests.support.orders import eventually, ship_to, uid

pytestmark = pytest.mark.asyncio

CNY_PRICE, USD_PRICE = 5_000, 700
# Set by the release before 0015 (the test writes it into that schema before dealers starts on this release).
OLD_SKU, OLD_PRICE = "OLD-TEA", 2_500


def money(currency: str, amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency=currency, amount_minor=amount)


async def _sql(database_url: str, schema: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})


@pytest.fixture(scope="module")
async def services(stack, database_url):  # type: ignore[no-untyped-def]
    schema = stack.settings("dealers").schema_name
    await upgrade(BY_NAME["dealers"].migrations, database_url, schema, "0014")
    conn = await _sql(database_url, schema)
    try:
        await conn.execute(
            "INSERT INTO wholesale_prices (sku, currency, list_price_minor) VALUES ($1, 'CNY', $2)", OLD_SKU, OLD_PRICE
        )
    finally:
        await conn.close()
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    return stack


async def dealer_with_shop(services: Any, admin: Any, currency: str) -> tuple[dpb.Dealer, str]:
    dealers = services.stub("dealers")
    request = dpb.RegisterDealerRequest(
        request_id=uid("reg"), name=f"{currency} dealer", tier=dpb.DEALER_TIER_GOLD, credit_limit=money(currency, 10**7)
    )
    dealer = (await dealers.RegisterDealer(request, metadata=admin)).dealer
    shop = uid("DS")
    location = ipb.Location(id=shop, name="shop", type=ipb.LOCATION_TYPE_DEALER_STORE, ships=True)
    await dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(dealer_id=dealer.id, location=location), metadata=admin
    )
    return dealer, shop


async def set_prices(services: Any, admin: Any, sku: str, *prices: common_pb2.Money) -> None:
    for price in prices:
        await services.stub("dealers").SetWholesalePrice(
            dpb.SetWholesalePriceRequest(sku=sku, list_price=price), metadata=admin
        )


async def place(services: Any, admin: Any, dealer: dpb.Dealer, shop: str, source: str, sku: str) -> Any:
    request = dpb.PlaceReplenishmentRequest(
        request_id=uid("po"),
        dealer_id=dealer.id,
        from_location_id=source,
        to_location_id=shop,
        lines=[dpb.ReplenishmentLine(sku=sku, quantity=2)],
    )
    return (await services.stub("dealers").PlaceReplenishment(request, metadata=admin)).replenishment


def currencies(lines: list[spb.JournalLine]) -> set[str]:
    return {ln.amount.currency for ln in lines}


async def test_a_transfer_into_each_dealers_shop_is_valued_in_that_dealers_currency(services: Any, admin: Any) -> None:
    """The audit's transfer: 3 units of a SKU priced in CNY and then in USD go from the brand's warehouse to a
    USD dealer's shop and to a CNY dealer's. Each owes its tier price in its own currency (before: the USD
    price replaced the CNY one, and the CNY dealer's move was booked nowhere)."""
    sku = uid("TEA")
    await set_prices(services, admin, sku, money("CNY", CNY_PRICE), money("USD", USD_PRICE))
    brand = await warehouse(services, admin, sku, 10)
    usd, usd_shop = await dealer_with_shop(services, admin, "USD")
    cny, cny_shop = await dealer_with_shop(services, admin, "CNY")

    to_usd = await transfer(services, admin, sku, 3, brand, usd_shop)
    to_cny = await transfer(services, admin, sku, 3, brand, cny_shop)

    usd_lines = await moved_lines(services, admin, usd.id, to_usd)
    assert per_party(usd_lines) == {f"dealer:{usd.id}": -1_680, "brand": 1_680}
    assert currencies(usd_lines) == {"USD"}
    cny_lines = await moved_lines(services, admin, cny.id, to_cny)
    assert per_party(cny_lines) == {f"dealer:{cny.id}": -12_000, "brand": 12_000}
    assert currencies(cny_lines) == {"CNY"}


async def test_a_cny_sale_shipped_from_a_usd_dealers_shop_pays_for_its_goods_in_usd(services: Any, admin: Any) -> None:
    """The audit's fulfillment: a brand web sale in CNY of 2 units ships from a USD dealer's own stock. The
    brand takes the goods over at the dealer's USD price (2 x 560), the USD price being set before the CNY one
    (before: the CNY price replaced it, and the move was published at 0 USD with the SKU unpriced)."""
    sku = uid("TEA")
    await set_prices(services, admin, sku, money("USD", USD_PRICE), money("CNY", CNY_PRICE))
    dealer, shop = await dealer_with_shop(services, admin, "USD")
    inventory, orders = services.stub("inventory"), services.stub("orders")
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(request_id=uid("rcv"), location_id=shop, lines=[ipb.StockLine(sku=sku, quantity=5)]),
        metadata=admin,
    )
    web = await register_channel(services.nats_url, inventory, admin, location_ids=[shop], orders=orders)
    placed = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=web,
                external_order_id=uid("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=2, unit_price=money("CNY", 10_000))],
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

    async def moved() -> list[spb.JournalLine]:
        return [ln for ln in await entries(services, admin, order_id=placed.id) if ln.rule == "ownership"]

    lines = await eventually(moved, lambda ls: len(ls) == 2)
    assert per_party(lines) == {"brand": -1_120, f"dealer:{dealer.id}": 1_120}
    assert currencies(lines) == {"USD"}


async def test_a_price_set_in_usd_leaves_the_cny_price_for_cny_dealers(services: Any, admin: Any) -> None:
    """Replenishments are priced in each dealer's currency; re-pricing the SKU in USD changes what the USD
    dealer pays and nothing for the CNY dealer (before: the CNY dealer was refused CURRENCY_MISMATCH)."""
    sku = uid("TEA")
    await set_prices(services, admin, sku, money("CNY", CNY_PRICE), money("USD", USD_PRICE))
    brand = await warehouse(services, admin, sku, 10)
    usd, usd_shop = await dealer_with_shop(services, admin, "USD")
    cny, cny_shop = await dealer_with_shop(services, admin, "CNY")

    in_cny = await place(services, admin, cny, cny_shop, brand, sku)
    assert (in_cny.lines[0].unit_price, in_cny.total) == (money("CNY", 4_000), money("CNY", 8_000))
    in_usd = await place(services, admin, usd, usd_shop, brand, sku)
    assert (in_usd.lines[0].unit_price, in_usd.total) == (money("USD", 560), money("USD", 1_120))

    await set_prices(services, admin, sku, money("USD", 800))
    again = await place(services, admin, cny, cny_shop, brand, sku)
    assert again.total == money("CNY", 8_000)
    assert (await place(services, admin, usd, usd_shop, brand, sku)).total == money("USD", 1_280)

    # The readers of what was placed: the replenishment and the dealer's overview, each in its currency.
    dealers = services.stub("dealers")
    got = await dealers.GetReplenishment(dpb.GetReplenishmentRequest(id=in_usd.id), metadata=admin)
    assert got.replenishment == in_usd
    overview = await dealers.GetDealerOverview(dpb.GetDealerOverviewRequest(dealer_id=usd.id), metadata=admin)
    assert overview.open_replenishments == money("USD", 1_120 + 1_280)


async def test_a_dealer_without_a_price_in_its_currency_is_told_which_sku_and_currency(
    services: Any, admin: Any
) -> None:
    """A SKU priced in CNY only: the USD dealer's replenishment is refused PRICE_MISSING, naming the SKU and
    USD (before: CURRENCY_MISMATCH, as if the prices disagreed)."""
    sku = uid("TEA")
    await set_prices(services, admin, sku, money("CNY", CNY_PRICE))
    brand = await warehouse(services, admin, sku, 10)
    usd, usd_shop = await dealer_with_shop(services, admin, "USD")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await place(services, admin, usd, usd_shop, brand, sku)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(caught.value)
    assert (info.reason, info.metadata["sku"], info.metadata["currency"]) == ("PRICE_MISSING", sku, "USD")


async def test_goods_moved_with_no_price_in_the_dealers_currency_are_reported(
    services: Any, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Settlement books nothing for a move none of whose SKUs is priced: dealers logs a WARNING naming the move,
    the SKU and the currency a price is wanted in (before: nothing anywhere)."""
    caplog.set_level(logging.WARNING, logger="onepool_dealers")
    sku = uid("TEA")
    await set_prices(services, admin, sku, money("CNY", CNY_PRICE))
    brand = await warehouse(services, admin, sku, 10)
    _, usd_shop = await dealer_with_shop(services, admin, "USD")
    moved = await transfer(services, admin, sku, 3, brand, usd_shop)

    async def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    found = await eventually(warnings, lambda ws: any(f"transfer:{moved}" in w for w in ws))
    [warning] = [w for w in found if f"transfer:{moved}" in w]
    assert sku in warning and "USD" in warning


async def test_prices_set_before_0015_are_kept_and_replicas_of_the_release_before_still_read_theirs(
    services: Any, admin: Any, database_url: str
) -> None:
    """The price written at 0014 prices a CNY dealer's replenishment now. During a rolling upgrade: a price a
    replica of the release before writes (into `wholesale_prices`, one per SKU) is in the price list, and a
    price this release sets in another currency leaves that replica's row (what it prices every dealer at) in
    its own currency."""
    brand = await warehouse(services, admin, OLD_SKU, 10)
    cny, cny_shop = await dealer_with_shop(services, admin, "CNY")
    assert (await place(services, admin, cny, cny_shop, brand, OLD_SKU)).total == money("CNY", 2 * 2_000)

    conn = await _sql(database_url, services.settings("dealers").schema_name)
    try:
        # What the release before's SetWholesalePrice runs.
        old_write = uid("OLDW")
        await conn.execute(
            "INSERT INTO wholesale_prices (sku, currency, list_price_minor) VALUES ($1, 'CNY', 1000) "
            "ON CONFLICT (sku) DO UPDATE SET currency = excluded.currency, "
            "list_price_minor = excluded.list_price_minor, updated_at = now()",
            old_write,
        )
        assert (await place(services, admin, cny, cny_shop, brand, old_write)).total == money("CNY", 2 * 800)

        await set_prices(services, admin, OLD_SKU, money("CNY", 3_000), money("USD", USD_PRICE))
        single = await conn.fetch("SELECT currency, list_price_minor FROM wholesale_prices WHERE sku = $1", OLD_SKU)
        assert [tuple(r) for r in single] == [("CNY", 3_000)]
        listed = await conn.fetch(
            "SELECT currency, list_price_minor FROM wholesale_price_list WHERE sku = $1 ORDER BY currency", OLD_SKU
        )
        assert [tuple(r) for r in listed] == [("CNY", 3_000), ("USD", USD_PRICE)]
    finally:
        await conn.close()
