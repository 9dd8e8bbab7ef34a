"""Returns read from orders' events on JetStream change owners only where the goods were not already the
taker's: a dealer's sale shipped from the brand's pool sold the brand's goods (docs/settlement.md example 10)."""

from __future__ import annotations

import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2 as facts
from sqlalchemy import text

from .conftest import cny, eventually

pytestmark = pytest.mark.asyncio


def returned_at(location_id: str, dealer_id: str, order_id: str, left_from: str) -> order_events.OrderReturned:
    """Dealer `dealer_id`'s sale of one TEA at 12 000, shipped from brand location `left_from` and returned
    at `location_id`."""
    paid = cny(12_000)
    one = [facts.StockLineFacts(sku="TEA", quantity=1)]
    order = facts.OrderFacts(
        order_id=order_id,
        dealer_id=dealer_id,
        total=paid,
        paid=paid,
        refunded=paid,
        is_paid=True,
        lines=[facts.OrderLineFacts(sku="TEA", quantity=1, returned_quantity=1, unit_price=paid, line_total=paid)],
        fulfillments=[facts.FulfillmentFacts(fulfillment_id="F1", location_id=left_from, lines=one, has_left=True)],
    )
    back = facts.ReturnFacts(return_id=f"R-{order_id}", location_id=location_id, lines=one, refund=paid)
    return order_events.OrderReturned(facts=order, returned=back)


async def test_a_dealers_sale_from_the_brands_pool_is_the_brands_goods_when_it_comes_back(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, dealers_db
) -> None:
    """GOLD dealer D (80%), list price 10 000. Returned at the warehouse it left: no one's goods changed hands.
    Returned at D's shop: D takes the brand's unit over at its price, 8 000."""
    dealer = await setup.dealer(tier=pb.DEALER_TIER_GOLD)
    shop = await setup.store(dealer.id)
    await setup.price("TEA", 10_000)
    warehouse, at_warehouse, at_shop = setup.inventory.warehouse(), setup.name("O"), setup.name("O")
    await publish("orders.order.returned", returned_at(warehouse, dealer.id, at_warehouse, warehouse))
    await publish("orders.order.returned", returned_at(shop, dealer.id, at_shop, warehouse))

    async def moves(order_id: str) -> list[tuple[str, str, str, int]]:
        async with dealers_db.connect() as conn:
            rows = await conn.execute(
                text("SELECT id, from_dealer_id, to_dealer_id, total_minor FROM ownership_moves WHERE order_id = :o"),
                {"o": order_id},
            )
            return [tuple(r) for r in rows]

    async def shop_return_recorded() -> bool:
        return bool(await moves(at_shop))

    await eventually(shop_return_recorded)  # published after the warehouse return, so that one was read too
    assert await moves(at_shop) == [(f"return:R-{at_shop}:brand", "", dealer.id, 8_000)]
    assert await moves(at_warehouse) == []


def _brand_sale(order_id: str, dealer_id: str, shop: str, returned: int) -> facts.OrderFacts:
    """The brand's sale of two TEA at 6 000 on its own channel, both shipped (F1) from dealer `dealer_id`'s
    `shop`, `returned` of them returned so far."""
    price, two = cny(6_000), [facts.StockLineFacts(sku="TEA", quantity=2)]
    order = facts.OrderFacts(
        order_id=order_id,
        channel_id="WEB",
        total=cny(12_000),
        paid=cny(12_000),
        is_paid=True,
        is_open=True,
        lines=[facts.OrderLineFacts(sku="TEA", quantity=2, returned_quantity=returned, unit_price=price)],
        fulfillments=[
            facts.FulfillmentFacts(
                fulfillment_id="F1",
                location_id=shop,
                location_owner_dealer_id=dealer_id,
                lines=two,
                has_left=True,
            )
        ],
    )
    return order


def _one_back(order_id: str, dealer_id: str, shop: str, returned: int, return_id: str) -> order_events.OrderReturned:
    """Of `_brand_sale`, one unit returned at `shop` by `return_id` (the `returned`-th)."""
    back = facts.ReturnFacts(return_id=return_id, location_id=shop, lines=[facts.StockLineFacts(sku="TEA", quantity=1)])
    return order_events.OrderReturned(facts=_brand_sale(order_id, dealer_id, shop, returned), returned=back)


async def test_units_back_after_a_tier_and_price_change_come_back_at_what_they_went_out_at(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, dealers_db
) -> None:
    """GOLD dealer D (80%), list price 5 000: two units of a brand sale leave D's shop, D is paid 2 x 4 000. The
    brand then makes D STANDARD (90%) and raises the list price to 6 000. The units come back at D's shop one
    return at a time: each at 4 000, so D gives back exactly what it was paid (before: 5 400 each)."""
    dealer = await setup.dealer(tier=pb.DEALER_TIER_GOLD)
    shop = await setup.store(dealer.id)
    await setup.price("TEA", 5_000)
    order_id = setup.name("O")

    async def moves() -> dict[str, int]:
        async with dealers_db.connect() as conn:
            rows = await conn.execute(
                text("SELECT id, total_minor FROM ownership_moves WHERE order_id = :o"), {"o": order_id}
            )
            return {r.id: r.total_minor for r in rows}

    async def recorded(count: int) -> bool:
        return len(await moves()) == count

    await publish("orders.order.shipped", order_events.OrderShipped(facts=_brand_sale(order_id, dealer.id, shop, 0)))
    await eventually(lambda: recorded(1))
    assert await moves() == {f"fulfillment:{order_id}:F1": 8_000}

    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id=dealer.id, tier=pb.DEALER_TIER_STANDARD))
    update.update_mask.paths.append("tier")
    await dealers.UpdateDealer(update, metadata=admin)
    await setup.price("TEA", 6_000)
    await publish("orders.order.returned", _one_back(order_id, dealer.id, shop, 1, "R1"))
    await publish("orders.order.returned", _one_back(order_id, dealer.id, shop, 2, "R2"))
    await eventually(lambda: recorded(3))
    assert await moves() == {f"fulfillment:{order_id}:F1": 8_000, "return:R1": 4_000, "return:R2": 4_000}
