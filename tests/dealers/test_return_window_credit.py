"""A dealer cannot overdraw its credit by ship-then-return (audit D), across the real inventory, channels,
orders, dealers and settlement services.

GOLD dealer, credit limit 8 000, owing 8 000. It places, pays and ships its own 10 000 sale: its 7 000 share
used to count towards credit once the goods left, so it reordered 6 400 on it and then returned the sale into
its own shop, owing 8 000 with 6 400 open on a limit of 8 000. Now the share is held until the order's return
window closes (orders.order.return_window_closed): the reorder is refused meanwhile, the return is accepted
within the window, and once the window closed the share counts, a return is RETURN_WINDOW_CLOSED, and a
dealer token may not accept one late (PERMISSION_DENIED: only the brand's operators may).
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.db import plain_url
from onepool_runtime.testing.services import error_info, metadata

from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("orders", return_window_interval_seconds=0.2)  # the closer looks often
    await stack.start("inventory", "channels", "dealers", "settlement")
    return stack


async def _window_passed(stack: Any, order_id: str) -> None:
    """Time passes: the order's stored deadline is written back (no test waits 7 days)."""
    conn = await asyncpg.connect(plain_url(stack.database_url), server_settings={"search_path": "orders"})
    try:
        await conn.execute("UPDATE orders SET returnable_until = now() - interval '1 second' WHERE id = $1", order_id)
    finally:
        await conn.close()


async def test_a_shipped_sale_lends_no_credit_until_its_return_window_closed(services: Any, admin: Any) -> None:
    d, i, o, s = (services.stub(n) for n in ("dealers", "inventory", "orders", "settlement"))
    sku = uid("TEA")
    dealer, shop = await dealer_with_a_shop(services, admin, sku, 10)
    update = dpb.UpdateDealerRequest(dealer=dpb.Dealer(id=dealer.id, credit_limit=cny(8_000)))
    update.update_mask.paths.append("credit_limit")
    await d.UpdateDealer(update, metadata=admin)
    warehouse = uid("WH")
    await i.UpsertLocation(
        ipb.UpsertLocationRequest(location=ipb.Location(id=warehouse, name="DC", type=ipb.LOCATION_TYPE_WAREHOUSE)),
        metadata=admin,
    )
    await i.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("r"), location_id=warehouse, lines=[ipb.StockLine(sku=sku, quantity=100)]
        ),
        metadata=admin,
    )
    await d.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(1_000)), metadata=admin)
    md = metadata("dealer", dealer_id=dealer.id)

    def replenish(quantity: int) -> dpb.PlaceReplenishmentRequest:  # at 800 a unit (GOLD)
        return dpb.PlaceReplenishmentRequest(
            request_id=uid("po"),
            dealer_id=dealer.id,
            from_location_id=warehouse,
            to_location_id=shop,
            lines=[dpb.ReplenishmentLine(sku=sku, quantity=quantity)],
        )

    first = (await d.PlaceReplenishment(replenish(10), metadata=md)).replenishment
    await d.ShipReplenishment(dpb.ShipReplenishmentRequest(id=first.id), metadata=admin)
    await d.ReceiveReplenishment(dpb.ReceiveReplenishmentRequest(id=first.id), metadata=md)

    async def overview() -> dpb.GetDealerOverviewResponse:
        return await d.GetDealerOverview(dpb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)

    async def posted(order_id: str, rule: str) -> list[spb.JournalLine]:
        async def probe() -> list[spb.JournalLine]:
            reply = await s.ListEntries(spb.ListEntriesRequest(order_id=order_id, page_size=1000), metadata=admin)
            return [ln for ln in reply.entries if ln.rule == rule and ln.party == f"dealer:{dealer.id}"]

        return await eventually(probe, bool)  # type: ignore[no-any-return]

    async def shipped_sale() -> opb.Order:
        """Its own 10 000 sale, declared paid with its own token and shipped from its shop."""
        placed = opb.PlaceOrderRequest(
            channel_id=dealer.channel_id,
            external_order_id=uid("EXT"),
            customer=opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=cny(10_000))],
            fulfillment=ship_to(),
        )
        order = (await o.PlaceOrder(placed, metadata=md)).order
        pay = opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total)
        order = (await o.PayOrder(pay, metadata=md)).order
        for f in order.fulfillments:
            ship = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=f.id, tracking_no="SF1")
            order = (await o.ShipFulfillment(ship, metadata=md)).order
        assert order.HasField("returnable_until")  # the 7-day window from the goods leaving
        await posted(order.id, "sale")
        return order

    def give_back(order: opb.Order, *, late: bool = False) -> opb.ReturnItemsRequest:
        return opb.ReturnItemsRequest(
            request_id=uid("ret"),
            order_id=order.id,
            lines=[opb.ReturnLine(sku=sku, quantity=1)],
            return_location_id=shop,
            reason="changed my mind",
            accept_after_window=late,
        )

    async def refused_reorder() -> None:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await d.PlaceReplenishment(replenish(8), metadata=md)  # 6 400
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "CREDIT_LIMIT" in str(refused.value.trailing_metadata())

    owed = await eventually(overview, lambda x: x.balance.amount_minor == 8_000)
    assert owed.credit_available.amount_minor == 0

    # Shipped, yet returnable: the share is held and lends no credit, so the 6 400 reorder is refused.
    order = await shipped_sale()
    held = await eventually(overview, lambda x: x.income_held.amount_minor == 7_000)
    for _ in range(10):  # the shipment's events have all reached dealers by now: still nothing lent
        assert (await overview()).credit_available.amount_minor == 0
        await asyncio.sleep(0.1)
    assert held.balance.amount_minor == 8_000
    await refused_reorder()
    # The return into its own shop, within the window: the sale is undone and the dealer is within its limit.
    await o.ReturnItems(give_back(order), metadata=md)
    after = await eventually(overview, lambda x: x.income_held.amount_minor == 0)
    assert after.balance.amount_minor + after.open_replenishments.amount_minor <= after.credit_limit.amount_minor

    # Another sale, its window closed: orders says so, and the share counts from then on.
    order = await shipped_sale()
    await eventually(overview, lambda x: x.income_held.amount_minor > 0)
    await _window_passed(services, order.id)
    counted = await eventually(overview, lambda x: x.income_held.amount_minor == 0)
    assert counted.credit_available.amount_minor >= 6_400
    await d.PlaceReplenishment(replenish(8), metadata=md)  # now lent on income that can no longer be refunded
    # ... and the sale can no longer be returned to take it back.
    with pytest.raises(grpc.aio.AioRpcError) as closed:
        await o.ReturnItems(give_back(order), metadata=md)
    assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(closed.value)
    assert info is not None and info.reason == "RETURN_WINDOW_CLOSED"
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await o.ReturnItems(give_back(order, late=True), metadata=md)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    final = await overview()
    assert final.balance.amount_minor + final.open_replenishments.amount_minor <= final.credit_limit.amount_minor
