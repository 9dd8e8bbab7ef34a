"""A dealer's own sale lends it no credit until the sale can no longer be refunded (audit F; domain/income.py),
across the real inventory, channels, orders, dealers and settlement services.

GOLD dealer, credit limit 8 000, owes 8 000 for a received replenishment. It declares a 2 x 10 000 sale on its
own channel paid: settlement posts it its 70 % share, but dealers holds it while the order is open, so a second
replenishment of 8 000 is refused. Before, the share counted at once: the second replenishment was accepted,
the sale cancelled (refunded), and the dealer owed 8 000 with 8 000 more open against a limit of 8 000. A
shipped or completed sale's share still waits for its return window (audit D).
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import metadata

from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    return stack


async def test_a_paid_sale_lends_no_credit_until_its_goods_have_left(services: Any, admin: Any) -> None:
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

    def place() -> dpb.PlaceReplenishmentRequest:  # 10 x 800 (GOLD): the whole limit
        return dpb.PlaceReplenishmentRequest(
            request_id=uid("po"),
            dealer_id=dealer.id,
            from_location_id=warehouse,
            to_location_id=shop,
            lines=[dpb.ReplenishmentLine(sku=sku, quantity=10)],
        )

    first = (await d.PlaceReplenishment(place(), metadata=md)).replenishment
    await d.ShipReplenishment(dpb.ShipReplenishmentRequest(id=first.id), metadata=admin)
    await d.ReceiveReplenishment(dpb.ReceiveReplenishmentRequest(id=first.id), metadata=md)

    async def overview() -> dpb.GetDealerOverviewResponse:
        return await d.GetDealerOverview(dpb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=md)

    async def posted(order_id: str, rule: str) -> list[spb.JournalLine]:
        async def probe() -> list[spb.JournalLine]:
            reply = await s.ListEntries(spb.ListEntriesRequest(order_id=order_id, page_size=1000), metadata=admin)
            return [ln for ln in reply.entries if ln.rule == rule and ln.party == f"dealer:{dealer.id}"]

        return await eventually(probe, bool)  # type: ignore[no-any-return]

    def sale(quantity: int) -> opb.PlaceOrderRequest:
        return opb.PlaceOrderRequest(
            channel_id=dealer.channel_id,
            external_order_id=uid("EXT"),
            customer=opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=quantity, unit_price=cny(10_000))],
            fulfillment=ship_to(),
        )

    owed = await eventually(overview, lambda x: x.balance.amount_minor == 8_000)
    assert owed.credit_available.amount_minor == 0

    # Its own sale, declared paid with the dealer's token alone: the share is posted, and held.
    order = (await o.PlaceOrder(sale(2), metadata=md)).order
    await o.PayOrder(opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total), metadata=md)
    [share] = await posted(order.id, "sale")
    assert share.amount.amount_minor == 14_000
    for _ in range(20):  # dealers reads the entry within moments: it must not lend credit meanwhile either
        assert (await overview()).credit_available.amount_minor == 0
        await asyncio.sleep(0.1)
    # The dealer's portal shows the share as held: owed to it, not yet counted.
    held = await eventually(overview, lambda x: x.income_held.amount_minor > 0)
    assert (held.income_held.amount_minor, held.balance.amount_minor) == (14_000, 8_000)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await d.PlaceReplenishment(place(), metadata=md)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "CREDIT_LIMIT" in str(refused.value.trailing_metadata())

    await o.CancelOrder(opb.CancelOrderRequest(order_id=order.id, reason="changed my mind"), metadata=md)
    await posted(order.id, "cancel")
    final = await eventually(overview, lambda x: x.balance.amount_minor == 8_000)
    assert final.income_held.amount_minor == 0  # the share went with the refund: nothing left to count
    assert final.balance.amount_minor + final.open_replenishments.amount_minor <= final.credit_limit.amount_minor

    # A sale whose goods have all left can no longer be cancelled, but it can still be returned: its share
    # (7 000) stays held while its return window is open, completed or not (tests/dealers/
    # test_return_window_credit.py follows it until the window closes).
    order = (await o.PlaceOrder(sale(1), metadata=md)).order
    order = (
        await o.PayOrder(
            opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total), metadata=md
        )
    ).order
    for f in order.fulfillments:
        await o.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=f.id, tracking_no="SF1"), metadata=admin
        )
    await posted(order.id, "sale")
    held = await eventually(overview, lambda x: x.income_held.amount_minor == 7_000)
    assert (held.balance.amount_minor, held.credit_available.amount_minor) == (8_000, 0)
    await o.CompleteOrder(opb.CompleteOrderRequest(order_id=order.id), metadata=admin)
    await asyncio.sleep(1)  # orders.order.completed reaches dealers
    assert (await overview()).credit_available.amount_minor == 0
