"""Only the transfer a replenishment asked for is its own: the one inventory's answer to its TransferStock (under
the request id derived from the replenishment) names. Inventory's transfer events carry no request id, so a
transfer citing a replenishment whose answer is not recorded yet waits until the shipping saga records it."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_runtime import errors
from sqlalchemy import text

from .conftest import FakeInventory, eventually

pytestmark = pytest.mark.asyncio


class LosingInventory(FakeInventory):
    """While `lose` is set, TransferStock goes out but its answer never reaches dealers."""

    lose = False

    async def transfer(self, **kw: Any) -> str:  # type: ignore[override]
        transfer_id = await super().transfer(**kw)
        if self.lose:
            raise errors.Unavailable("inventory failed: DEADLINE_EXCEEDED")
        return transfer_id


@pytest.fixture(scope="module")
def fake_inventory() -> FakeInventory:
    return LosingInventory()


async def moves(dealers_db, transfer_id: str) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    async with dealers_db.connect() as conn:
        rows = await conn.execute(
            text("SELECT from_dealer_id, to_dealer_id, total_minor FROM ownership_moves WHERE id = :id"),
            {"id": f"transfer:{transfer_id}"},
        )
        return [tuple(r) for r in rows]


async def test_a_transfer_citing_a_replenishment_whose_answer_was_lost_waits_for_the_saga(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, fake_inventory, sagas, dealers_db
) -> None:
    """STANDARD dealer (90%), list price 1 000. The replenishment's TransferStock went out but its answer was
    lost; an operator's transfer of 1 unit on the same route cites the replenishment, and both are received in
    inventory before dealers knows which transfer is its own. Neither is taken as its shipment until the
    recovery loop replays the request: then its own transfer receives it (and its expected receipt is
    cancelled), and the operator's is a change of owner (1 unit, 900)."""
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-L": 10})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-L": 2}), metadata=admin
        )
    ).replenishment.id
    fake_inventory.lose = True
    with pytest.raises(grpc.aio.AioRpcError) as lost:
        await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    fake_inventory.lose = False
    own = fake_inventory.by_request[f"replenishment:{rid}"]

    def transfer(transfer_id: str, quantity: int) -> inv.Transfer:
        return inv.Transfer(
            id=transfer_id,
            from_location_id=warehouse,
            to_location_id=store,
            reference=rid,
            lines=[inv.StockLine(sku="SKU-L", quantity=quantity)],
        )

    operators = setup.name("T")
    await publish("inventory.transfer.shipped", inventory_events.TransferShipped(transfer=transfer(operators, 1)))
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer(operators, 1)))
    await publish("inventory.transfer.shipped", inventory_events.TransferShipped(transfer=transfer(own, 2)))
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer(own, 2)))

    async def status() -> pb.Replenishment:
        return (await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)).replenishment

    await asyncio.sleep(1.0)  # time enough to apply all four, were any of them to be applied now
    assert (await status()).status == pb.REPLENISHMENT_STATUS_PLACED
    assert await moves(dealers_db, operators) == []  # it may still be the replenishment's own

    await sagas.recover_once()  # replays TransferStock under the same request id: the answer names `own`
    shipped = await status()
    assert shipped.transfer_id == own

    async def settled() -> bool:
        return (await status()).status == pb.REPLENISHMENT_STATUS_RECEIVED and bool(await moves(dealers_db, operators))

    await eventually(settled, within=20.0)
    assert await moves(dealers_db, operators) == [("", dealer.id, 900)]
    assert await moves(dealers_db, own) == []  # booked as wholesale, by dealers.replenishment.received

    async def receipt_cancelled() -> bool:
        return [r["status"] for r in fake_inventory.expected.values() if r["reference"] == rid] == ["CANCELLED"]

    await eventually(receipt_cancelled, within=5.0)
