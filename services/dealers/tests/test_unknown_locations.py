"""A move naming a location dealers' copy of the pool does not hold yet (its LocationUpserted comes on the
INVENTORY durable, which an order's return on the ORDERS durable, or another replica's batch, runs ahead of):
the location is not the brand's for want of knowing it. The event waits, dealers asks inventory, and the move
is recorded as it would have been with the location known."""

from __future__ import annotations

import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_dealers.domain.model import Location, LocationType
from sqlalchemy import text

from .conftest import eventually
from .test_returned_goods import returned_at

pytestmark = pytest.mark.asyncio


async def _moves(db, column: str, value: str) -> list[tuple[str, str, str, int]]:  # type: ignore[no-untyped-def]
    async with db.connect() as conn:
        rows = await conn.execute(
            text(f"SELECT id, from_dealer_id, to_dealer_id, total_minor FROM ownership_moves WHERE {column} = :v"),
            {"v": value},
        )
        return [tuple(r) for r in rows]


def _shop(location_id: str, dealer_id: str) -> inv.Location:
    return inv.Location(
        id=location_id, name="Shop", type=inv.LOCATION_TYPE_DEALER_STORE, owner_dealer_id=dealer_id, version=1
    )


async def _gold_dealer(setup) -> pb.Dealer:  # type: ignore[no-untyped-def]
    dealer = await setup.dealer(tier=pb.DEALER_TIER_GOLD)
    await setup.price("TEA", 10_000)
    return dealer


async def test_a_return_at_a_dealer_shop_created_a_moment_ago_is_taken_over_by_the_dealer(  # type: ignore[no-untyped-def]
    setup, publish, dealers_db, fake_inventory
) -> None:
    """GOLD dealer D's sale shipped from the brand's warehouse, returned at D's new shop N, created in inventory a
    moment ago (its event not applied by dealers yet): D takes the unit over, 8 000 (as test_returned_goods).
    It was read as the brand's shop: brand -> brand, no move, and nothing fixed it later."""
    dealer = await _gold_dealer(setup)
    shop, warehouse, oid = setup.name("DS"), fake_inventory.warehouse(), setup.name("O")
    fake_inventory.locations[shop] = Location(shop, "Shop", LocationType.DEALER_STORE, owner_dealer_id=dealer.id)
    await publish("orders.order.returned", returned_at(shop, dealer.id, oid, warehouse))

    async def recorded() -> bool:
        return bool(await _moves(dealers_db, "order_id", oid))

    await eventually(recorded)
    assert await _moves(dealers_db, "order_id", oid) == [(f"return:R-{oid}:brand", "", dealer.id, 8_000)]


async def test_a_return_waits_for_a_location_inventory_does_not_show_yet(  # type: ignore[no-untyped-def]
    setup, publish, dealers_db, fake_inventory
) -> None:
    """The same return while inventory cannot tell either: it waits (never dead-lettered) until the location's
    own event is applied, then it is the same move."""
    dealer = await _gold_dealer(setup)
    shop, warehouse, oid = setup.name("DS"), fake_inventory.warehouse(), setup.name("O")
    lookups = fake_inventory.location_lookups
    await publish("orders.order.returned", returned_at(shop, dealer.id, oid, warehouse))

    async def asked() -> bool:
        return fake_inventory.location_lookups > lookups

    await eventually(asked)
    assert await _moves(dealers_db, "order_id", oid) == []
    await publish("inventory.location.upserted", inventory_events.LocationUpserted(location=_shop(shop, dealer.id)))

    async def recorded() -> bool:
        return bool(await _moves(dealers_db, "order_id", oid))

    await eventually(recorded, within=30.0)  # the return's retries back off up to 10 s apart
    assert await _moves(dealers_db, "order_id", oid) == [(f"return:R-{oid}:brand", "", dealer.id, 8_000)]


async def test_a_transfer_to_a_dealer_shop_created_a_moment_ago_moves_the_goods_to_the_dealer(  # type: ignore[no-untyped-def]
    setup, publish, dealers_db, fake_inventory
) -> None:
    """Another replica is still applying the batch holding N's LocationUpserted when this one applies
    TransferReceived brand warehouse -> N: the goods are D's, 8 000. Both ends used to read as the brand's."""
    dealer = await _gold_dealer(setup)
    shop, warehouse, tid = setup.name("DS"), fake_inventory.warehouse(), setup.name("T")
    fake_inventory.locations[shop] = Location(shop, "Shop", LocationType.DEALER_STORE, owner_dealer_id=dealer.id)
    transfer = inv.Transfer(
        id=tid, from_location_id=warehouse, to_location_id=shop, lines=[inv.StockLine(sku="TEA", quantity=1)]
    )
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer))

    async def recorded() -> bool:
        return bool(await _moves(dealers_db, "id", f"transfer:{tid}"))

    await eventually(recorded)
    assert await _moves(dealers_db, "id", f"transfer:{tid}") == [(f"transfer:{tid}", "", dealer.id, 8_000)]


async def test_a_transfer_before_its_locations_event_is_a_move_once_the_event_is_applied(  # type: ignore[no-untyped-def]
    setup, publish, dealers_db, fake_inventory
) -> None:
    """The transfer delivered before N's LocationUpserted, with inventory not showing N: it waits for the event."""
    dealer = await _gold_dealer(setup)
    shop, warehouse, tid = setup.name("DS"), fake_inventory.warehouse(), setup.name("T")
    transfer = inv.Transfer(
        id=tid, from_location_id=warehouse, to_location_id=shop, lines=[inv.StockLine(sku="TEA", quantity=1)]
    )
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer))
    await publish("inventory.location.upserted", inventory_events.LocationUpserted(location=_shop(shop, dealer.id)))

    async def recorded() -> bool:
        return bool(await _moves(dealers_db, "id", f"transfer:{tid}"))

    await eventually(recorded, within=30.0)
    assert await _moves(dealers_db, "id", f"transfer:{tid}") == [(f"transfer:{tid}", "", dealer.id, 8_000)]
