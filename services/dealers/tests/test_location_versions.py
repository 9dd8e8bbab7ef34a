"""Dealers' copy of a location keeps the newest version inventory published (inventory.v1.Location.version):
an event of a location that arrives after a later one (a redelivery, another replica) changes nothing, so a
store inventory opened again is not refused as disabled."""

from __future__ import annotations

import uuid

import pytest
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from sqlalchemy import text

from .conftest import eventually

pytestmark = pytest.mark.asyncio


async def test_a_disable_arriving_after_the_enable_that_followed_it_changes_nothing(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, dealers_db
) -> None:
    dealer, store, warehouse = await setup.ready(**{"SKU-V": 5})

    def store_at(version: int, *, disabled: bool) -> inventory_events.LocationUpserted:
        location = inv.Location(
            id=store,
            name="Shop",
            type=inv.LOCATION_TYPE_DEALER_STORE,
            owner_dealer_id=dealer.id,
            disabled=disabled,
            version=version,
        )
        return inventory_events.LocationUpserted(location=location)

    late = str(uuid.uuid4())
    await publish("inventory.location.upserted", store_at(3, disabled=False))
    await publish("inventory.location.upserted", store_at(2, disabled=True), late)  # overtaken

    async def applied() -> bool:
        async with dealers_db.connect() as c:
            query = text("SELECT count(*) FROM inbox WHERE event_id = :e")
            return bool((await c.execute(query, {"e": late})).scalar())

    await eventually(applied)
    async with dealers_db.connect() as c:
        row = (await c.execute(text("SELECT active, version FROM locations WHERE id = :i"), {"i": store})).one()
    assert (row.active, row.version) == (True, 3)
    placed = await dealers.PlaceReplenishment(
        setup.place_request(dealer.id, warehouse, store, **{"SKU-V": 1}), metadata=admin
    )
    assert placed.replenishment.id
