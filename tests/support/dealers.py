"""A dealer as the brand onboards one, through the real dealers, inventory and orders APIs: registered (which
creates its DEALER channel), with a stocked shop that has joined the channel's allocation, and orders knowing
whose sales the channel's are."""

from __future__ import annotations

from typing import Any

from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb

from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows
from tests.support.orders import cny, eventually, uid


async def dealer_with_a_shop(stack: Any, admin: Any, sku: str, quantity: int) -> tuple[dpb.Dealer, str]:
    """(the dealer, its shop's location id) with `quantity` units of `sku` sellable on its channel."""
    dealers, inventory, orders = stack.stub("dealers"), stack.stub("inventory"), stack.stub("orders")
    request = dpb.RegisterDealerRequest(
        request_id=uid("reg"), name="shop", tier=dpb.DEALER_TIER_GOLD, region="CN-SH", credit_limit=cny(10_000_000)
    )
    dealer = (await dealers.RegisterDealer(request, metadata=admin)).dealer
    shop = uid("DS")
    location = ipb.Location(id=shop, name="shop", type=ipb.LOCATION_TYPE_DEALER_STORE, ships=True)
    await dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(dealer_id=dealer.id, location=location), metadata=admin
    )
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("rcv"), location_id=shop, lines=[ipb.StockLine(sku=sku, quantity=quantity)]
        ),
        metadata=admin,
    )
    await wait_until_inventory_knows(inventory, admin, dealer.channel_id)
    await wait_until_orders_knows(orders, admin, dealer.channel_id)

    async def sellable_at_shop() -> int:
        reply = await inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], channel_id=dealer.channel_id, location_ids=[shop]), metadata=admin
        )
        return reply.items[0].available

    await eventually(sellable_at_shop, lambda n: n == quantity)  # the shop has joined the channel's allocation
    return dealer, shop
