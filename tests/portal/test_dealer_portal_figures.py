"""The figures the dealer portal shows, in a real browser against the real services: amounts in their own
currency with that currency's decimals, a statement that is stored once however often the dealer looks at it,
"this month" as the brand's business month wherever the browser is, and stock however many SKUs the dealer
holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.settlement.v1 import settlement_pb2 as spb
from playwright.async_api import Page, Request, expect
from sqlalchemy import text

from tests.portal.pages import STEP_MS, dealer_token, log_in
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import eventually, uid

pytestmark = pytest.mark.asyncio


def money(currency: str, amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency=currency, amount_minor=amount_minor)


async def _dealer(services: Any, admin: Any, credit_limit: common_pb2.Money) -> dpb.Dealer:
    """A dealer trading in `credit_limit`'s currency."""
    request = dpb.RegisterDealerRequest(request_id=uid("reg"), name="trader", credit_limit=credit_limit)
    return (await services.stub("dealers").RegisterDealer(request, metadata=admin)).dealer


async def _bank_transfer(services: Any, admin: Any, dealer: dpb.Dealer, amount: common_pb2.Money) -> None:
    """The brand records the dealer's transfer to it: one line on the dealer's ledger, at once."""
    request = spb.RecordPaymentRequest(
        request_id=uid("pay"), from_party=f"dealer:{dealer.id}", to_party="brand", amount=amount, reference=uid("BANK")
    )
    await services.stub("settlement").RecordPayment(request, metadata=admin)


async def _statements_stored(services: Any, dealer: dpb.Dealer) -> int:
    async with services.hosts["settlement"].infra.engine.connect() as conn:
        query = text("SELECT count(*) FROM statements WHERE party = :party")
        return int((await conn.execute(query, {"party": f"dealer:{dealer.id}"})).scalar_one())


async def _refresh(page: Page) -> None:
    """Click Refresh and wait for its statement step (the last thing a refresh asks settlement for)."""
    async with page.expect_response(lambda r: "/onepool.settlement.v1.SettlementService/" in r.url) as answered:
        await page.get_by_role("button", name="Refresh").click()
    await answered.value


async def test_a_dealer_trading_in_dollars_sees_its_statement_in_dollars(services, admin, portal, browser) -> None:  # type: ignore[no-untyped-def]
    dealer = await _dealer(services, admin, money("USD", 1_000_000))
    await _bank_transfer(services, admin, dealer, money("USD", 1_234))

    page = await log_in(browser, portal, dealer_token(dealer.id))
    statement = page.get_by_test_id("statement")
    await expect(statement).to_contain_text("payment", timeout=STEP_MS)
    await expect(statement).to_contain_text("USD 12.34")
    await expect(page.get_by_test_id("statement-closing")).to_contain_text("USD 12.34")
    assert "CNY" not in await page.locator("#portal").inner_text()
    await page.close()


async def test_a_cny_dealer_sees_what_it_has_in_dollars_beside_its_yuan(services, admin, portal, browser) -> None:  # type: ignore[no-untyped-def]
    """A CNY dealer with a USD line on its ledger: the overview's table has a USD row beside the CNY one, each
    amount in its own currency (before: the portal showed CNY figures only, the dollars nowhere)."""
    dealer = await _dealer(services, admin, money("CNY", 1_000_000))
    await _bank_transfer(services, admin, dealer, money("USD", 1_234))

    async def overview() -> dpb.GetDealerOverviewResponse:
        request = dpb.GetDealerOverviewRequest(dealer_id=dealer.id)
        return await services.stub("dealers").GetDealerOverview(request, metadata=admin)

    await eventually(overview, lambda o: len(o.currencies) == 2)  # dealers has heard of the USD line

    page = await log_in(browser, portal, dealer_token(dealer.id))
    rows = page.get_by_test_id("currencies").locator("tr")
    await expect(rows).to_have_count(2, timeout=STEP_MS)
    await expect(rows.nth(0)).to_contain_text("CNY 0.00")
    await expect(rows.nth(1)).to_contain_text("USD 12.34")
    await expect(page.get_by_test_id("credit-available")).to_have_text("CNY 10,000.00")
    await page.close()


async def test_amounts_have_as_many_decimals_as_their_currency(services, admin, portal, browser) -> None:  # type: ignore[no-untyped-def]
    for limit, shown in ((money("JPY", 1_000_000), "JPY 1,000,000"), (money("KWD", 1_234_567), "KWD 1,234.567")):
        dealer = await _dealer(services, admin, limit)
        page = await log_in(browser, portal, dealer_token(dealer.id))
        await expect(page.get_by_test_id("credit-available")).to_have_text(shown, timeout=STEP_MS)
        await page.close()


async def test_looking_at_the_statement_again_stores_no_new_one_until_something_is_posted(  # type: ignore[no-untyped-def]
    services, admin, portal, browser
) -> None:
    dealer = await _dealer(services, admin, money("CNY", 1_000_000))
    await _bank_transfer(services, admin, dealer, money("CNY", 500))

    page = await log_in(browser, portal, dealer_token(dealer.id))
    statement = page.get_by_test_id("statement")
    await expect(statement).to_contain_text("CNY 5.00", timeout=STEP_MS)
    for _ in range(3):
        await _refresh(page)
    # A new session asks again from scratch: the same question, answered from the first statement.
    await page.get_by_role("button", name="Log out").click()
    async with page.expect_response(lambda r: r.url.endswith("/GenerateStatement")) as generated:
        await page.get_by_test_id("token").fill(dealer_token(dealer.id))
        await page.get_by_test_id("login").click()
    await generated.value
    await expect(statement).to_contain_text("CNY 5.00", timeout=STEP_MS)
    assert await _statements_stored(services, dealer) == 1

    # Something new is posted: Refresh shows it, in one more stored statement.
    await _bank_transfer(services, admin, dealer, money("CNY", 700))
    await _refresh(page)
    await expect(statement).to_contain_text("CNY 7.00", timeout=STEP_MS)
    await expect(page.get_by_test_id("statement-closing")).to_contain_text("CNY 12.00")
    assert await _statements_stored(services, dealer) == 2
    await page.close()


@pytest.mark.parametrize("browser_zone", ["Asia/Shanghai", "UTC"])
async def test_this_month_is_the_brands_business_month_wherever_the_browser_is(  # type: ignore[no-untyped-def]
    services, admin, portal, browser, browser_zone
) -> None:
    """Audit: at 07:30 on 1 January in Beijing the portal showed and asked for December from Dec 1 08:00 Beijing
    (the UTC month), so every month started 8 h late for the brand's dealers, the CSV they download included."""
    new_year_in_beijing = datetime.fromisoformat("2027-01-01T07:30:00+08:00")
    month = (datetime.fromisoformat("2027-01-01T00:00:00+08:00"), datetime.fromisoformat("2027-02-01T00:00:00+08:00"))
    dealer = await _dealer(services, admin, money("CNY", 1_000_000))
    page = await browser.new_page(viewport={"width": 1200, "height": 1500}, timezone_id=browser_zone)
    await page.clock.set_fixed_time(new_year_in_beijing)
    asked: dict[str, Any] = {}  # each settlement RPC's first request

    def note(request: Request) -> None:
        if "/onepool.settlement.v1.SettlementService/" in request.url:
            asked.setdefault(request.url.rsplit("/", 1)[-1], request.post_data_json)

    page.on("request", note)
    await page.goto(portal)
    async with page.expect_response(lambda r: r.url.endswith("/GenerateStatement")) as generated:
        await page.get_by_test_id("token").fill(dealer_token(dealer.id))
        await page.get_by_test_id("login").click()
    await generated.value

    def instant(field: str, rpc: str = "GenerateStatement") -> datetime:
        return datetime.fromisoformat(asked[rpc][field])

    assert instant("periodStart") == month[0]
    assert month[0] < instant("periodEnd") <= month[1]
    assert (instant("from", "ListEntries"), instant("to", "ListEntries")) == month
    await expect(page.locator("#statement-period")).to_have_text("2027-01-01 \u2013 2027-01-01 (Asia/Shanghai)")
    await page.close()


async def test_a_dealer_holding_more_skus_than_one_availability_call_answers_sees_them_all(  # type: ignore[no-untyped-def]
    services, admin, portal, browser
) -> None:
    prefix = uid("BULK")
    dealer, shop = await dealer_with_a_shop(services, admin, f"{prefix}-000", 1)
    more = [ipb.StockLine(sku=f"{prefix}-{i:03}", quantity=1) for i in range(1, 501)]  # one receipt's most lines
    await services.stub("inventory").ReceiveStock(
        ipb.ReceiveStockRequest(request_id=uid("rcv"), location_id=shop, lines=more), metadata=admin
    )

    page = await log_in(browser, portal, dealer_token(dealer.id))
    stock = page.get_by_test_id("stock").locator("tr")
    await expect(stock).to_have_count(501, timeout=STEP_MS)
    await expect(stock.last.locator("td")).to_have_text(["shop", f"{prefix}-500", "1", "0", "1", "0"])
    assert await page.get_by_test_id("error").is_hidden()
    await page.close()
