"""Issue 16: the reference dealer portal in a real browser. Headless Chromium (Debian's package; `make test`
installs it when missing) driven by Playwright, against the real gateway in front of the five real services
(conftest.py).

A dealer logs in with its token, sees its overview, stock and statement, places a replenishment and watches it
move (PLACED, then SHIPPED by the brand with the units inbound, then RECEIVED by its own click), downloads its
statement as CSV; another dealer's data never reaches its page, and its token cannot fetch it either.

Set ONEPOOL_PORTAL_SCREENSHOT=<file.png> to keep a screenshot of the portal (docs/portal.png is one).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import metadata
from playwright.async_api import expect

from tests.portal.pages import STEP_MS, dealer_token, log_in
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import World, cny, ship_to, uid

pytestmark = pytest.mark.asyncio


async def _order(services: Any, dealer: dpb.Dealer, sku: str, quantity: int) -> opb.Order:
    """A sale on the dealer's own channel, placed with its token and left unpaid (RESERVED: no money moves)."""
    request = opb.PlaceOrderRequest(
        channel_id=dealer.channel_id,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=cny(4_000))],
        fulfillment=ship_to(),
    )
    reply = await services.stub("orders").PlaceOrder(request, metadata=metadata("dealer", dealer_id=dealer.id))
    return reply.order


@pytest.fixture(scope="module")
async def brand(services, admin) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(a brand warehouse, a SKU it stocks at a wholesale price)."""
    world = World(services.stub("inventory"), services.stub("orders"), admin, services.nats_url)
    warehouse, sku = await world.location("WH"), uid("TEA")
    await world.stock(warehouse, {sku: 100})
    await services.stub("dealers").SetWholesalePrice(
        dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(2_500)), metadata=admin
    )
    return warehouse, sku


async def test_a_dealer_logs_in_places_a_replenishment_and_watches_it_move(  # type: ignore[no-untyped-def]
    services, admin, brand, portal, browser, tmp_path
) -> None:
    warehouse, sku = brand
    own_sku = uid("CUP")
    dealer, shop = await dealer_with_a_shop(services, admin, own_sku, 6)
    sale = await _order(services, dealer, own_sku, 2)
    # Another dealer, with its own stock, sale and replenishment: none of it may reach the first dealer's page.
    their_sku = uid("SECRET")
    other, other_shop = await dealer_with_a_shop(services, admin, their_sku, 9)
    their_sale = await _order(services, other, their_sku, 1)
    other_md = metadata("dealer", dealer_id=other.id)
    theirs = (
        await services.stub("dealers").PlaceReplenishment(
            dpb.PlaceReplenishmentRequest(
                request_id=uid("po"),
                dealer_id=other.id,
                from_location_id=warehouse,
                to_location_id=other_shop,
                lines=[dpb.ReplenishmentLine(sku=sku, quantity=2)],
            ),
            metadata=other_md,
        )
    ).replenishment

    page = await log_in(browser, portal, dealer_token(dealer.id))
    await expect(page.get_by_test_id("dealer-name")).to_contain_text(dealer.id, timeout=STEP_MS)
    await expect(page.get_by_test_id("credit-available")).to_have_text("CNY 100,000.00", timeout=STEP_MS)
    await expect(page.get_by_test_id("orders")).to_contain_text(sale.external_order_id, timeout=STEP_MS)
    stock = page.get_by_test_id("stock").locator("tr", has_text=own_sku)
    await expect(stock.locator("td")).to_have_text(["shop", own_sku, "6", "2", "4", "0"], timeout=STEP_MS)
    await expect(page.get_by_test_id("replenishments")).to_contain_text("No replenishments yet.")

    # Place one: 3 units from the brand's warehouse to the shop, at GOLD's 80% of 25.00 = 20.00 each.
    await page.get_by_test_id("replenish-from").fill(warehouse)
    await page.get_by_test_id("replenish-to").select_option(shop)
    await page.get_by_test_id("replenish-sku").fill(sku)
    await page.get_by_test_id("replenish-quantity").fill("3")
    await page.get_by_test_id("replenish").click()
    row = page.get_by_test_id("replenishments").locator("tr", has_text=f"3 \u00d7 {sku}")
    await expect(row).to_contain_text("PLACED", timeout=STEP_MS)
    await expect(row).to_contain_text("CNY 60.00")
    await expect(page.get_by_test_id("credit-available")).to_have_text("CNY 99,940.00", timeout=STEP_MS)
    [mine] = (
        await services.stub("dealers").ListReplenishments(
            dpb.ListReplenishmentsRequest(dealer_id=dealer.id), metadata=admin
        )
    ).replenishments
    assert [(ln.sku, ln.quantity) for ln in mine.lines] == [(sku, 3)] and mine.to_location_id == shop

    # The brand ships it: the page shows it SHIPPED and the units inbound at the shop (it polls).
    await services.stub("dealers").ShipReplenishment(dpb.ShipReplenishmentRequest(id=mine.id), metadata=admin)
    await expect(row).to_contain_text("SHIPPED", timeout=STEP_MS)
    inbound = page.get_by_test_id("stock").locator("tr", has_text=sku)
    await expect(inbound.locator("td").nth(5)).to_have_text("3", timeout=STEP_MS)

    # The dealer receives it with its own click: RECEIVED, and the units are on hand.
    await row.get_by_role("button", name="Receive").click()
    await expect(row).to_contain_text("RECEIVED", timeout=STEP_MS)
    await expect(inbound.locator("td").nth(2)).to_have_text("3", timeout=STEP_MS)

    # The statement (read again by Refresh) shows the wholesale posting once settlement heard of the receipt,
    # and downloads as the settlement service's CSV.
    statement = page.get_by_test_id("statement")
    deadline = asyncio.get_running_loop().time() + STEP_MS / 1000
    while "wholesale" not in await statement.inner_text():
        assert asyncio.get_running_loop().time() < deadline, await statement.inner_text()
        await page.get_by_role("button", name="Refresh").click()
        await asyncio.sleep(0.5)
    async with page.expect_download(timeout=STEP_MS) as download_info:
        await page.get_by_test_id("download-csv").click()
    download = await download_info.value
    csv = await asyncio.to_thread(Path(await download.path()).read_text)
    assert download.suggested_filename.endswith(".csv")
    assert f"party,dealer:{dealer.id}" in csv

    if target := os.environ.get("ONEPOOL_PORTAL_SCREENSHOT"):
        await page.screenshot(path=target, full_page=True)
    await page.screenshot(path=str(tmp_path / "portal.png"), full_page=True)

    # Nothing of the other dealer's reached this page ...
    text = await page.locator("body").inner_text()
    for secret in (other.id, other_shop, their_sku, theirs.id, their_sale.id, their_sale.external_order_id):
        assert secret not in text
    # ... and this dealer's token cannot fetch it through the API either.
    for service, method, body in (
        ("onepool.dealers.v1.DealerService", "GetDealerOverview", {"dealerId": other.id}),
        ("onepool.dealers.v1.DealerService", "ListReplenishments", {"dealerId": other.id}),
        ("onepool.dealers.v1.DealerService", "GetReplenishment", {"id": theirs.id}),
        ("onepool.settlement.v1.SettlementService", "GetBalance", {"party": f"dealer:{other.id}"}),
    ):
        code = await page.evaluate(
            """async ([service, method, body]) => {
                 const token = sessionStorage.getItem("onepool-token");
                 const r = await fetch(`/${service}/${method}`, {method: "POST", body: JSON.stringify(body),
                   headers: {"Content-Type": "application/json", Authorization: `Bearer ${token}`}});
                 return `${r.status} ${(await r.json()).code}`;
               }""",
            [service, method, body],
        )
        assert code == "403 permission_denied", (method, code)
    await page.close()


async def test_the_portal_refuses_a_token_that_is_not_a_dealers(admin, portal, browser) -> None:  # type: ignore[no-untyped-def]
    page = await log_in(browser, portal, dict(admin)["authorization"][7:])
    await expect(page.get_by_test_id("error")).to_contain_text("needs a dealer token", timeout=STEP_MS)
    assert await page.locator("#portal").is_hidden()
    await page.close()


async def test_an_expired_token_goes_back_to_the_login_form_saying_why(services, admin, portal, browser) -> None:  # type: ignore[no-untyped-def]
    dealer, _ = await dealer_with_a_shop(services, admin, uid("MUG"), 1)
    page = await log_in(browser, portal, dealer_token(dealer.id, ttl="4"))
    await expect(page.get_by_test_id("dealer-name")).to_contain_text(dealer.id, timeout=STEP_MS)
    # The next polls after the expiry are refused: the portal logs out rather than showing stale figures.
    await expect(page.get_by_test_id("error")).to_contain_text("log in again", timeout=STEP_MS + 10_000)
    assert await page.locator("#portal").is_hidden()
    assert await page.evaluate("() => sessionStorage.getItem('onepool-token')") is None
    await page.close()
