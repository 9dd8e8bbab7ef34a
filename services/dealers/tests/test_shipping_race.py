"""Two ship attempts in flight at once (a caller's and the recovery loop's, or two callers'): one attempt's
refusal never lets the replenishment be rejected while the other's transfer may still go out; and goods a
transfer brings for a replenishment that did not ship with it are a change of owner, never lost."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_runtime.testing.services import error_info
from sqlalchemy import text

from .conftest import FakeInventory, eventually

pytestmark = pytest.mark.asyncio


class RacingInventory(FakeInventory):
    """The first TransferStock waits until a second one is in, then is refused (the warehouse is empty); the
    second waits for `go`, by when stock has arrived, and goes out."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.second_in = asyncio.Event()
        self.go = asyncio.Event()

    async def transfer(self, **kw: Any) -> str:  # type: ignore[override]
        self.calls += 1
        if self.calls == 1:
            await self.second_in.wait()
            return await super().transfer(**kw)
        self.second_in.set()
        await self.go.wait()
        for ln in kw["lines"]:
            key = (ln.sku, kw["from_location_id"])
            self.stock[key] = self.stock.get(key, 0) + ln.quantity
        return await super().transfer(**kw)


@pytest.fixture(scope="module")
def fake_inventory() -> FakeInventory:
    return RacingInventory()


async def test_a_refused_attempt_does_not_let_one_still_in_flight_be_rejected(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory
) -> None:
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-R": 0})
    request = setup.place_request(dealer.id, warehouse, store, **{"SKU-R": 5})
    rid = (await dealers.PlaceReplenishment(request, metadata=admin)).replenishment.id

    def ship() -> Any:
        return asyncio.ensure_future(dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin))

    first = ship()

    async def first_in() -> bool:
        return fake_inventory.calls == 1

    await eventually(first_in)
    second = ship()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await first
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    with pytest.raises(grpc.aio.AioRpcError) as not_now:
        await dealers.RejectReplenishment(pb.RejectReplenishmentRequest(id=rid, reason="no stock"), metadata=admin)
    assert error_info(not_now.value).reason == "SHIPMENT_IN_PROGRESS"
    fake_inventory.go.set()
    shipped = (await second).replenishment
    assert shipped.status == pb.REPLENISHMENT_STATUS_SHIPPED and shipped.transfer_id
    assert [t["reference"] for t in fake_inventory.transfers.values()] == [rid]


async def test_goods_a_transfer_brings_for_a_rejected_replenishment_are_the_dealers_at_its_price(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, dealers_db
) -> None:
    """STANDARD dealer (90%), list price 1 000: 2 units the replenishment never shipped with reach the dealer's
    store, so the dealer owes the brand 1 800 for them (a transfer move), as for any transfer between owners."""
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-T": 10})
    request = setup.place_request(dealer.id, warehouse, store, **{"SKU-T": 2})
    rid = (await dealers.PlaceReplenishment(request, metadata=admin)).replenishment.id
    await dealers.RejectReplenishment(pb.RejectReplenishmentRequest(id=rid, reason="changed my mind"), metadata=admin)
    transfer = inv.Transfer(
        id=setup.name("T"),
        from_location_id=warehouse,
        to_location_id=store,
        reference=rid,
        lines=[inv.StockLine(sku="SKU-T", quantity=2)],
    )
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer))

    async def move() -> list[tuple[str, str, int]]:
        async with dealers_db.connect() as conn:
            rows = await conn.execute(
                text("SELECT from_dealer_id, to_dealer_id, total_minor FROM ownership_moves WHERE id = :id"),
                {"id": f"transfer:{transfer.id}"},
            )
            return [tuple(r) for r in rows]

    async def recorded() -> bool:
        return bool(await move())

    await eventually(recorded)
    assert await move() == [("", dealer.id, 1_800)]
    got = (await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert got.status == pb.REPLENISHMENT_STATUS_REJECTED
