"""Presale of a replenishment (docs/presale.md): once shipped it is an expected receipt at the dealer's location,
and once received, by whatever path, that receipt is cancelled, retried until inventory confirms it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_dealers.domain.model import StockLine
from onepool_runtime.migrations import downgrade_sync, upgrade
from sqlalchemy import text

from .conftest import eventually

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


async def test_a_shipped_replenishment_is_expected_stock_at_the_dealers_location_until_received(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory
) -> None:
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-X": 4})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-X": 4}), metadata=admin
        )
    ).replenishment.id
    assert await fake_inventory.expected_receipt_of(store, rid) == ""  # nothing is on its way before it ships

    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)  # a repeat
    receipts = [r for r in fake_inventory.expected.values() if r["reference"] == rid]
    assert [(r["location_id"], r["lines"], r["status"]) for r in receipts] == [(store, [("SKU-X", 4)], "OPEN")]

    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    assert [r["status"] for r in fake_inventory.expected.values() if r["reference"] == rid] == ["CANCELLED"]


async def test_an_expectation_that_failed_is_made_by_a_repeat_of_the_shipment(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory
) -> None:
    # The transfer went out but inventory did not take the expectation: the shipment stands (the goods are on
    # their way), and the caller's repeat of ShipReplenishment asks again, with the same content (the expected
    # time follows from when it shipped, not from when it is asked), so a repeat is a replay, not a new request.
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-Y": 2})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-Y": 2}), metadata=admin
        )
    ).replenishment.id
    fake_inventory.expectations_failing = 1
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert shipped.status == pb.REPLENISHMENT_STATUS_SHIPPED and shipped.HasField("shipped_at")
    assert await fake_inventory.expected_receipt_of(store, rid) == ""

    for _ in range(2):
        again = await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
        assert again.replenishment.shipped_at == shipped.shipped_at
    receipts = [r for r in fake_inventory.expected.values() if r["reference"] == rid]
    assert [(r["location_id"], r["lines"], r["status"]) for r in receipts] == [(store, [("SKU-Y", 2)], "OPEN")]


def _receipt_status(fake_inventory, rid: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["status"] for r in fake_inventory.expected.values() if r["reference"] == rid]


async def test_a_receipt_whose_cancel_failed_is_cancelled_by_a_repeat_or_by_the_recovery_loop(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, sagas
) -> None:
    """Inventory blips exactly at the cancel: the goods are received all the same, and the receipt (which would
    let the dealer's channel presell units already there) is cancelled later, not forgotten."""
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-C": 4})
    first, second = [
        (
            await dealers.PlaceReplenishment(
                setup.place_request(dealer.id, warehouse, store, **{"SKU-C": 2}), metadata=admin
            )
        ).replenishment.id
        for _ in range(2)
    ]
    for rid in (first, second):
        await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
        fake_inventory.cancels_failing = 1
        got = await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
        assert got.replenishment.status == pb.REPLENISHMENT_STATUS_RECEIVED
        assert _receipt_status(fake_inventory, rid) == ["OPEN"]

    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=first), metadata=admin)  # a repeat
    assert _receipt_status(fake_inventory, first) == ["CANCELLED"]
    await sagas.recover_once()
    assert _receipt_status(fake_inventory, second) == ["CANCELLED"]


async def _shipped_and_received_in_inventory(dealers, admin, setup, publish, sku: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A shipped replenishment whose transfer the dealer receives in inventory itself (inventory's event);
    (its id, its store) once dealers has followed the event to RECEIVED."""
    dealer, store, warehouse = await setup.ready(limit=100_000, **{sku: 3})
    rid = (
        await dealers.PlaceReplenishment(setup.place_request(dealer.id, warehouse, store, **{sku: 3}), metadata=admin)
    ).replenishment.id
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment
    transfer = inv.Transfer(
        id=shipped.transfer_id,
        from_location_id=warehouse,
        to_location_id=store,
        reference=rid,
        lines=[inv.StockLine(sku=sku, quantity=3)],
    )
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=transfer))

    async def received() -> bool:
        got = await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)
        return got.replenishment.status == pb.REPLENISHMENT_STATUS_RECEIVED

    await eventually(received)
    return rid, store


async def test_a_replenishment_received_in_inventory_has_its_receipt_cancelled_at_once(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, publish
) -> None:
    """The dealer receives the transfer in inventory itself: dealers follows inventory's event to RECEIVED, and
    the receipt its shipment made is cancelled right after (the loop is never run here)."""
    rid, _ = await _shipped_and_received_in_inventory(dealers, admin, setup, publish, "SKU-I")

    async def cancelled() -> bool:
        return _receipt_status(fake_inventory, rid) == ["CANCELLED"]

    await eventually(cancelled, within=5.0)


async def test_a_receipt_the_event_path_could_not_cancel_is_cancelled_by_the_recovery_loop(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, sagas, publish
) -> None:
    fake_inventory.cancels_failing = 1  # inventory blips at the cancel that follows the event
    rid, _ = await _shipped_and_received_in_inventory(dealers, admin, setup, publish, "SKU-J")

    async def tried() -> bool:
        return fake_inventory.cancels_failing == 0

    await eventually(tried, within=5.0)
    assert _receipt_status(fake_inventory, rid) == ["OPEN"]
    await sagas.recover_once()
    assert _receipt_status(fake_inventory, rid) == ["CANCELLED"]


async def test_replenishments_due_a_cancel_at_one_location_read_its_receipts_once(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, sagas, dealers_db
) -> None:
    """Migration 0008 marks every replenishment ever received, most with no receipt left open: the recovery loop
    reads each location's open receipts once for all of them, not once per replenishment, and still cancels the
    one left open."""
    await sagas.recover_once()  # anything other tests left due, gone: this pass sees only this test's
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-B": 8})
    rids = []
    for i in range(4):
        rid = (
            await dealers.PlaceReplenishment(
                setup.place_request(dealer.id, warehouse, store, **{"SKU-B": 2}), metadata=admin
            )
        ).replenishment.id
        await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
        fake_inventory.cancels_failing = 1 if i == 3 else 0  # the last one's receipt stays open
        await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
        rids.append(rid)
    async with dealers_db.begin() as conn:  # what the migration's backfill did to this dealer's (before 0010)
        await conn.execute(
            text(
                "UPDATE replenishments SET receipt_cancel_due = true, receipt_id = ''"
                " WHERE dealer_id = :d AND status = 'RECEIVED'"
            ),
            {"d": dealer.id},
        )
    fake_inventory.receipt_reads = 0
    await sagas.recover_once()
    assert fake_inventory.receipt_reads == 1
    assert [_receipt_status(fake_inventory, rid) for rid in rids] == [["CANCELLED"]] * 4
    async with dealers_db.connect() as conn:
        due = await conn.execute(
            text("SELECT count(*) FROM replenishments WHERE dealer_id = :d AND receipt_cancel_due"), {"d": dealer.id}
        )
        assert due.scalar() == 0


async def _operators_receipt(fake_inventory, store: str, rid: str, **lines: int) -> str:  # type: ignore[no-untyped-def]
    """An operator's advance shipping notice at the dealer's store citing the replenishment."""
    return await fake_inventory.expect_receipt(  # type: ignore[no-any-return]
        request_id=f"asn-{uuid.uuid4().hex[:8]}",
        location_id=store,
        lines=[StockLine(sku, q) for sku, q in lines.items()],
        expected_at=datetime.now(UTC) + timedelta(days=1),
        reference=rid,
    )


def _shipments_receipt(fake_inventory, rid: str) -> str:  # type: ignore[no-untyped-def]
    """The receipt the replenishment's own ExpectReceipt made (its request id is derived from the id)."""
    (found,) = [i for i, r in fake_inventory.expected.items() if r["request_id"] == f"replenishment:{rid}:expected"]
    return str(found)


async def _receipt_id_column(dealers_db, rid: str) -> str:  # type: ignore[no-untyped-def]
    async with dealers_db.connect() as conn:
        found = await conn.execute(text("SELECT receipt_id FROM replenishments WHERE id = :i"), {"i": rid})
        return str(found.scalar())


async def test_the_receipt_cancelled_is_the_one_the_shipment_made_not_another_citing_the_replenishment(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, dealers_db
) -> None:
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-O": 3})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-O": 3}), metadata=admin
        )
    ).replenishment.id
    operators = await _operators_receipt(fake_inventory, store, rid, **{"SKU-O": 3})  # listed first, same goods
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    own = _shipments_receipt(fake_inventory, rid)

    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    assert (fake_inventory.expected[operators]["status"], fake_inventory.expected[own]["status"]) == (
        "OPEN",
        "CANCELLED",
    )
    assert await _receipt_id_column(dealers_db, rid) == own


async def test_a_replenishment_shipped_before_receipt_ids_were_kept_cancels_the_receipt_expecting_its_goods(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, dealers_db
) -> None:
    """Shipped before migration 0010 (no receipt id): the fallback is an open receipt citing the replenishment
    that expects exactly its goods; an operator's citing it for other goods is left open."""
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-P": 3, "SKU-Q": 1})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-P": 3, "SKU-Q": 1}), metadata=admin
        )
    ).replenishment.id
    operators = await _operators_receipt(fake_inventory, store, rid, **{"SKU-P": 3})  # listed first
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    own = _shipments_receipt(fake_inventory, rid)
    async with dealers_db.begin() as conn:
        await conn.execute(text("UPDATE replenishments SET receipt_id = '' WHERE id = :i"), {"i": rid})

    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    assert (fake_inventory.expected[operators]["status"], fake_inventory.expected[own]["status"]) == (
        "OPEN",
        "CANCELLED",
    )
    async with dealers_db.connect() as conn:
        due = await conn.execute(text("SELECT receipt_cancel_due FROM replenishments WHERE id = :i"), {"i": rid})
        assert due.scalar() is False


async def test_a_repeat_of_a_shipment_whose_receipt_is_recorded_does_not_ask_inventory_again(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory
) -> None:
    """Inventory keeps a request id 30 days: a replay later than that would make a second receipt."""
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-R": 1})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-R": 1}), metadata=admin
        )
    ).replenishment.id
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    # As if inventory had forgotten the request (its receipt gone too): a replay would make another.
    del fake_inventory.expected[_shipments_receipt(fake_inventory, rid)]
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    assert _receipt_status(fake_inventory, rid) == []


async def test_migration_0010_keeps_existing_replenishments_and_goes_down_and_up_again(database_url) -> None:  # type: ignore[no-untyped-def]
    """Rows from before 0010 read an empty receipt id (no table rewrite: a constant default)."""
    schema = f"dealers_0010_{uuid.uuid4().hex[:6]}"
    await upgrade(MIGRATIONS, database_url, schema, "0009")
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        await conn.execute(
            "INSERT INTO dealers"
            " (id, request_id, request_fingerprint, name, tier, currency, region, status, channel_id)"
            " VALUES ('D1', 'r1', 'f', 'D', 'STANDARD', 'CNY', '', 'ACTIVE', '')"
        )
        await conn.execute(
            "INSERT INTO replenishments"
            " (id, dealer_id, from_location_id, to_location_id, status, currency, transfer_id, status_reason)"
            " VALUES ('R1', 'D1', 'WH', 'DS', 'RECEIVED', 'CNY', 'T1', '')"
        )
        await upgrade(MIGRATIONS, database_url, schema)
        assert await conn.fetchval("SELECT receipt_id FROM replenishments WHERE id = 'R1'") == ""
        await conn.execute("UPDATE replenishments SET receipt_id = 'X1' WHERE id = 'R1'")
        await asyncio.to_thread(downgrade_sync, MIGRATIONS, database_url, schema, "0009")
        columns = "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2"
        assert "receipt_id" not in {r["column_name"] for r in await conn.fetch(columns, schema, "replenishments")}
        await upgrade(MIGRATIONS, database_url, schema)
        assert await conn.fetchval("SELECT receipt_id FROM replenishments WHERE id = 'R1'") == ""
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
