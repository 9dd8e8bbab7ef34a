"""Dealers asks the real inventory for locations an event names before their own events reached it
(service_layer/locations.py): any type and owner, brand or dealer, and nothing for an id inventory does not have."""

from __future__ import annotations

from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_dealers.service_layer.locations import LocationLookup

from tests.support.orders import cny, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "dealers")
    return stack


async def test_dealers_learns_a_location_from_inventory(services: Any, admin: Any) -> None:
    request = dpb.RegisterDealerRequest(
        request_id=uid("reg"), name="shop", tier=dpb.DEALER_TIER_GOLD, region="CN-SH", credit_limit=cny(1000)
    )
    dealer = (await services.stub("dealers").RegisterDealer(request, metadata=admin)).dealer
    warehouse, shop = uid("WH"), uid("DS")
    for location in (
        ipb.Location(id=warehouse, name="wh", type=ipb.LOCATION_TYPE_WAREHOUSE),
        ipb.Location(id=shop, name="shop", type=ipb.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer.id),
    ):
        await services.stub("inventory").UpsertLocation(ipb.UpsertLocationRequest(location=location), metadata=admin)
    lookup: LocationLookup = services.hosts["dealers"].parts.components["location_lookup"]

    found = await lookup.inventory.find_locations([shop, warehouse, uid("NOPE")])

    assert sorted((loc.id, loc.owner_dealer_id) for loc in found) == sorted([(warehouse, ""), (shop, dealer.id)])
    await lookup.learn([shop, warehouse])  # recorded (or already there from their events): known either way
    async with lookup.uow_factory() as uow:
        assert await uow.repo.location_owners([shop, warehouse]) == {warehouse: "", shop: dealer.id}
