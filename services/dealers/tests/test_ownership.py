"""Whose goods come back on a return (domain/ownership.py ReturnedGoods), on the domain alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onepool_dealers.domain.ownership import BRAND, Departure, ReturnedGoods, UnitsFrom, resolve, value
from onepool_kernel.lines import StockLine
from onepool_kernel.money import Money

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D, E = "D-1", "E-1"  # D sells; E is another dealer
OWNERS = {"WH": BRAND, "D-SHOP": D, "E-SHOP": E}


def left(fulfillment_id: str, location_owner: str, minutes: int, **lines: int) -> Departure:
    stock = tuple(StockLine(sku, q) for sku, q in lines.items())
    return Departure(fulfillment_id, location_owner, stock, T0 + timedelta(minutes=minutes))


def back(at: str, departures: list[Departure], so_far: int | None = None, **lines: int) -> ReturnedGoods:
    return ReturnedGoods(
        return_id="R1",
        order_id="O1",
        location_id=at,
        lines=tuple(StockLine(sku, q) for sku, q in lines.items()),
        departures=tuple(departures),
        returned_so_far={sku: so_far if so_far is not None else q for sku, q in lines.items()},
    )


def moves(returned: ReturnedGoods, seller: str) -> list[tuple[str, str, str, dict[str, int]]]:
    """(id, giver, taker, units by SKU) of each part whose owner changes."""
    return [
        (g.id, g.giver, g.taker, {ln.sku: ln.quantity for ln in g.lines})
        for g in resolve([returned], seller, OWNERS)
        if g.giver != g.taker
    ]


def test_a_dealers_sale_from_the_brands_warehouse_returned_there_moves_nothing() -> None:
    assert moves(back("WH", [left("F1", BRAND, 0, TEA=1)], TEA=1), seller=D) == []


def test_a_dealers_sale_from_the_brands_warehouse_returned_at_its_shop_is_the_brands_goods_taken_by_it() -> None:
    assert moves(back("D-SHOP", [left("F1", BRAND, 0, TEA=1)], TEA=1), seller=D) == [
        ("return:R1:brand", BRAND, D, {"TEA": 1})
    ]


def test_the_sellers_own_goods_returned_to_the_brand_are_given_up_by_the_seller() -> None:
    assert moves(back("WH", [left("F1", D, 0, TEA=1)], TEA=1), seller=D) == [("return:R1", D, BRAND, {"TEA": 1})]


def test_a_brand_sale_returned_at_a_dealers_shop_moves_once_whichever_location_the_units_left() -> None:
    departures = [left("F1", BRAND, 0, TEA=1), left("F2", D, 1, TEA=1)]
    assert moves(back("D-SHOP", departures, TEA=2), seller=BRAND) == [("return:R1", BRAND, D, {"TEA": 2})]


def test_units_come_back_in_the_order_they_left_after_what_earlier_returns_took() -> None:
    """D's sale of 3: 1 left the brand's warehouse first, then 2 left D's shop. Returned at dealer E's shop one
    at a time: the first is the brand's, the next two D's; all three at once split the same way."""
    departures = [left("F2", D, 5, TEA=2), left("F1", BRAND, 0, TEA=1)]
    assert moves(back("E-SHOP", departures, so_far=1, TEA=1), seller=D) == [("return:R1:brand", BRAND, E, {"TEA": 1})]
    assert moves(back("E-SHOP", departures, so_far=2, TEA=1), seller=D) == [("return:R1", D, E, {"TEA": 1})]
    assert moves(back("E-SHOP", departures, TEA=3), seller=D) == [
        ("return:R1", D, E, {"TEA": 2}),
        ("return:R1:brand", BRAND, E, {"TEA": 1}),
    ]


def test_units_beyond_what_the_facts_show_leaving_are_the_sellers() -> None:
    assert moves(back("WH", [], TEA=2), seller=D) == [("return:R1", D, BRAND, {"TEA": 2})]


def test_returned_units_are_valued_at_the_fulfillment_move_they_left_with() -> None:
    """Of a brand sale, 2 TEA left D's shop (F2, valued at 4 000 each) and 1 left the warehouse (F1, no move).
    All three come back at E's shop: D's two at what they went out at, the warehouse's at E's tier today; a
    move recorded without that SKU, or in another currency, leaves today's price."""
    departures = [left("F1", BRAND, 0, TEA=1), left("F2", D, 5, TEA=2)]
    [goods] = resolve([back("E-SHOP", departures, TEA=3)], BRAND, OWNERS)
    assert goods.sources == (UnitsFrom("fulfillment:O1:F2", "TEA", 2),)
    today = {"TEA": Money("CNY", 5_000)}
    went_out = {"fulfillment:O1:F2": {"TEA": Money("CNY", 4_000)}}
    priced = value(goods, "CNY", 9_000, today, went_out)
    assert [(ln.quantity, ln.unit_price.amount_minor) for ln in priced.lines] == [(2, 4_000), (1, 4_500)]
    assert priced.total == Money("CNY", 12_500)
    for other in ({}, {"fulfillment:O1:F2": {"TEA": Money("EUR", 4_000)}}):
        assert [(ln.quantity, ln.unit_price.amount_minor) for ln in value(goods, "CNY", 9_000, today, other).lines] == [
            (3, 4_500)
        ]
