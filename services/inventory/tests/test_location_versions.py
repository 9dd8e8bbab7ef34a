"""A location's version (inventory.v1.Location.version) moves on by one with every upsert that changes it, and
is what the copies kept by channels and dealers order its events by."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.adapters import integration
from onepool_inventory.domain.model import Location, LocationType
from onepool_kernel.errors import FailedPrecondition


def warehouse(**changes: object) -> Location:
    return replace(Location("WH-1", "East", LocationType.WAREHOUSE, region="CN-SH"), **changes)


def test_a_new_location_is_version_1_and_each_change_moves_it_on_by_one() -> None:
    first = warehouse().superseding(None)
    assert first.version == 1
    assert warehouse().superseding(first).version == 1  # the same details: nothing changed
    disabled = warehouse(active=False).superseding(first)
    assert disabled.version == 2
    for change in ({"name": "West"}, {"region": "CN-BJ"}, {"priority": 5}, {"ships": False}, {"pickup": True}):
        assert warehouse(active=False, **change).superseding(disabled).version == 3, change
    assert warehouse(version=99).superseding(disabled).version == 3  # a caller's version is not the owner's


def test_the_event_publishes_the_location_with_its_version() -> None:
    second = warehouse(active=False).superseding(warehouse().superseding(None))
    (event,) = second.events
    (message,) = integration.translate(event)
    assert isinstance(message, events_pb2.LocationUpserted)
    assert (message.location.id, message.location.disabled, message.location.version) == ("WH-1", True, 2)


def test_the_owner_still_never_changes() -> None:
    mine = Location("D-1", "Shop", LocationType.DEALER_STORE, owner_dealer_id="D").superseding(None)
    with pytest.raises(FailedPrecondition) as caught:
        Location("D-1", "Shop", LocationType.DEALER_STORE, owner_dealer_id="E").superseding(mine)
    assert caught.value.reason == "OWNER_IMMUTABLE"


async def test_upserts_answer_list_and_publish_the_version(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    location_id = setup.name("WH")

    async def upsert(**fields: object) -> int:
        location = pb.Location(id=location_id, name="WH", type=pb.LOCATION_TYPE_WAREHOUSE, **fields)  # type: ignore[arg-type]
        reply = await inventory.UpsertLocation(pb.UpsertLocationRequest(location=location), metadata=admin)
        return int(reply.location.version)

    sub = await inventory_host.infra.js.subscribe(
        "inventory.location.upserted", stream="INVENTORY", ordered_consumer=True
    )
    assert [await upsert(), await upsert(), await upsert(disabled=True), await upsert(version=7)] == [1, 1, 2, 3]
    published = []
    while len(published) < 4:
        event = events_pb2.LocationUpserted.FromString((await sub.next_msg(timeout=5)).data)
        if event.location.id == location_id:
            published.append((event.location.disabled, event.location.version))
    await sub.unsubscribe()
    assert published == [(False, 1), (False, 1), (True, 2), (False, 3)]
    listed = await inventory.ListLocations(pb.ListLocationsRequest(location_ids=[location_id]), metadata=admin)
    assert [loc.version for loc in listed.locations] == [3]


async def test_concurrent_upserts_of_one_location_take_turns(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    """Even those that create it: each version follows the one before, none is given out twice (two events
    with one version and different details would leave the copies disagreeing on which came last)."""
    location_id = setup.name("WH")

    async def upsert(name: str) -> int:
        location = pb.Location(id=location_id, name=name, type=pb.LOCATION_TYPE_WAREHOUSE)
        reply = await inventory.UpsertLocation(pb.UpsertLocationRequest(location=location), metadata=admin)
        return int(reply.location.version)

    versions = await asyncio.gather(*(upsert(f"name {i}") for i in range(8)))
    assert sorted(versions) == list(range(1, 9))
