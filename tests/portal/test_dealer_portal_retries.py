"""The dealer portal when an answer is lost: a click repeated after the network dropped the first answer must
not place a second replenishment (the first was placed; only its answer never arrived)."""

from __future__ import annotations

import asyncio
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


async def test_the_login_still_loading_never_clears_the_error_of_an_action_started_after_it(  # type: ignore[no-untyped-def]
    services: Any, admin: Any, portal: str, browser: Any
) -> None:
    """Seen in CI under load: the login's first refresh (its statement last) was still loading when the dealer's
    replenishment failed; the login's action ended after it and cleared its error, so the dealer never saw that
    the request's answer was lost. The statement is held here until the error shows, then let go."""
    world = World(services.stub("inventory"), services.stub("orders"), admin, services.nats_url)
    warehouse, sku = await world.location("WH"), uid("TEA")
    await world.stock(warehouse, {sku: 100})
    await services.stub("dealers").SetWholesalePrice(
        dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(2_500)), metadata=admin
    )
    dealer, shop = await dealer_with_a_shop(services, admin, uid("OWN"), 1)
    page = await browser.new_page(viewport={"width": 1200, "height": 1500})
    statement_held, let_go = asyncio.Event(), asyncio.Event()

    async def hold_the_statement(route: Route) -> None:
        statement_held.set()
        await let_go.wait()
        await route.continue_()

    async def drop_the_answer(route: Route) -> None:
        await route.fetch()
        await route.abort("connectionreset")

    await page.route("**/onepool.settlement.v1.SettlementService/GenerateStatement", hold_the_statement)
    await page.route("**/onepool.dealers.v1.DealerService/PlaceReplenishment", drop_the_answer)
    await page.goto(portal)
    await page.get_by_test_id("token").fill(dealer_token(dealer.id))
    await page.get_by_test_id("login").click()
    await asyncio.wait_for(statement_held.wait(), STEP_MS / 1000)  # the login's action is still loading
    await page.get_by_test_id("replenish-from").fill(warehouse)
    await page.get_by_test_id("replenish-to").select_option(shop)
    await page.get_by_test_id("replenish-sku").fill(sku)
    await page.get_by_test_id("replenish-quantity").fill("3")
    await page.get_by_test_id("replenish").click()
    await expect(page.get_by_test_id("error")).to_be_visible(timeout=STEP_MS)
    let_go.set()
    await expect(page.get_by_test_id("statement-closing")).not_to_be_empty(timeout=STEP_MS)
    await expect(page.get_by_test_id("error")).to_be_visible()
    await page.close()
