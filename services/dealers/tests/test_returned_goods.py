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
