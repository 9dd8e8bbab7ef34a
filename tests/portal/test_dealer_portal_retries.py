"""The dealer portal when an answer is lost: a click repeated after the network dropped the first answer must
not place a second replenishment (the first was placed; only its answer never arrived)."""

from __future__ import annotations

from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from playwright.async_api import Route, expect

from tests.portal.pages import STEP_MS, dealer_token, log_in
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import World, cny, uid

pytestmark = pytest.mark.asyncio


async def test_a_replenishment_whose_answer_was_lost_is_placed_once_however_often_the_dealer_clicks(  # type: ignore[no-untyped-def]
    services: Any, admin: Any, portal: str, browser: Any
) -> None:
    world = World(services.stub("inventory"), services.stub("orders"), admin, services.nats_url)
    warehouse, sku = await world.location("WH"), uid("TEA")
    await world.stock(warehouse, {sku: 100})
    dealers = services.stub("dealers")
    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(2_500)), metadata=admin)
    dealer, shop = await dealer_with_a_shop(services, admin, uid("OWN"), 1)
    page = await log_in(browser, portal, dealer_token(dealer.id))
    await expect(page.get_by_test_id("dealer-name")).to_contain_text(dealer.id, timeout=STEP_MS)

    lost = 0

    async def drop_the_answer(route: Route) -> None:
        """The request reaches the dealers service; its answer never reaches the page."""
        nonlocal lost
        await route.fetch()
        lost += 1
        await route.abort("connectionreset")

    await page.route("**/onepool.dealers.v1.DealerService/PlaceReplenishment", drop_the_answer)
    await page.get_by_test_id("replenish-from").fill(warehouse)
    await page.get_by_test_id("replenish-to").select_option(shop)
    await page.get_by_test_id("replenish-sku").fill(sku)
    await page.get_by_test_id("replenish-quantity").fill("3")
    await page.get_by_test_id("replenish").click()
    await expect(page.get_by_test_id("error")).to_be_visible(timeout=STEP_MS)
    assert lost == 1
    await page.unroute("**/onepool.dealers.v1.DealerService/PlaceReplenishment")

    await page.get_by_test_id("replenish").click()  # the dealer tries again
    row = page.get_by_test_id("replenishments").locator("tr", has_text=f"3 \u00d7 {sku}")
    await expect(row).to_contain_text("PLACED", timeout=STEP_MS)
    placed = await dealers.ListReplenishments(dpb.ListReplenishmentsRequest(dealer_id=dealer.id), metadata=admin)
    assert len(placed.replenishments) == 1
