"""A shipment's expected receipt asked for after its date has passed (inventory unreachable for days, or a stuck
shipment repeated late): inventory refuses a receipt expected in the past, so the saga re-dates it to the next
whole day still ahead, under the same request id, and every repeat after that is a replay, never a second
receipt. Time passes here by moving the stored timestamps back (the shipment's, and the fake inventory's copy
of what it took), as inventory would see it days later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool_runtime import errors
from sqlalchemy import text

pytestmark = pytest.mark.asyncio
SKEW = timedelta(minutes=5)


@pytest.fixture
def like_inventory(fake_inventory, monkeypatch):  # type: ignore[no-untyped-def]
    """The fake refuses a new receipt expected in the past, as inventory does; a stored request id is answered
    first (a replay, or a refusal of a different request), as inventory's idempotency does."""
    original = fake_inventory.expect_receipt

    async def expect_receipt(**kw: Any) -> str:
        stored = any(r["request_id"] == kw["request_id"] for r in fake_inventory.expected.values())
        if not stored and not fake_inventory.expectations_failing and kw["expected_at"] < datetime.now(UTC) - SKEW:
            raise errors.InvalidArgument("expected_at", "must not be in the past")
        return await original(**kw)

    monkeypatch.setattr(fake_inventory, "expect_receipt", expect_receipt)
    return fake_inventory


async def _days_pass(dealers_db, fake_inventory, rid: str, days: int, *, forget_receipt: bool = False) -> None:  # type: ignore[no-untyped-def]
    """`days` later: the shipment shipped that much earlier, and so did what inventory holds of it."""
    moved = "receipt_id = ''" if forget_receipt else "receipt_id = receipt_id"
    async with dealers_db.begin() as conn:
        await conn.execute(
            text(
                f"UPDATE replenishments SET shipped_at = shipped_at - make_interval(days => :d), {moved} WHERE id = :i"
            ),
            {"d": days, "i": rid},
        )
    for receipt in fake_inventory.expected.values():
        if receipt["reference"] == rid:
            receipt["expected_at"] -= timedelta(days=days)


def _receipts(fake_inventory, rid: str) -> list[tuple[str, datetime]]:  # type: ignore[no-untyped-def]
    return [(i, r["expected_at"]) for i, r in fake_inventory.expected.items() if r["reference"] == rid]


async def _recorded(dealers_db, rid: str) -> str:  # type: ignore[no-untyped-def]
    async with dealers_db.connect() as conn:
        return (await conn.execute(text("SELECT receipt_id FROM replenishments WHERE id = :i"), {"i": rid})).scalar()


async def _shipped(dealers, admin, setup, sku: str) -> str:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(limit=100_000, **{sku: 2})
    placed = await dealers.PlaceReplenishment(
        setup.place_request(dealer.id, warehouse, store, **{sku: 2}), metadata=admin
    )
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=placed.replenishment.id), metadata=admin)
    return placed.replenishment.id


async def test_a_shipment_repeated_four_days_later_still_makes_its_receipt(  # type: ignore[no-untyped-def]
    dealers, admin, setup, like_inventory, dealers_db
) -> None:
    like_inventory.expectations_failing = 1  # inventory unreachable when it shipped
    rid = await _shipped(dealers, admin, setup, "SKU-LATE")
    assert _receipts(like_inventory, rid) == []
    await _days_pass(dealers_db, like_inventory, rid, 4)

    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    [(receipt_id, expected_at)] = _receipts(like_inventory, rid)
    assert await _recorded(dealers_db, rid) == receipt_id
    assert datetime.now(UTC) + timedelta(hours=1) <= expected_at <= datetime.now(UTC) + timedelta(days=1, hours=1)


async def test_a_late_repeat_whose_first_request_was_taken_gets_that_receipt(  # type: ignore[no-untyped-def]
    dealers, admin, setup, like_inventory, dealers_db
) -> None:
    """The first request was taken but its answer lost: its replay answers, the date as it was first asked."""
    rid = await _shipped(dealers, admin, setup, "SKU-LOST")
    [(first, first_at)] = _receipts(like_inventory, rid)
    await _days_pass(dealers_db, like_inventory, rid, 4, forget_receipt=True)

    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    assert _receipts(like_inventory, rid) == [(first, first_at - timedelta(days=4))]
    assert await _recorded(dealers_db, rid) == first


async def test_a_re_dated_receipt_whose_answer_was_lost_is_found_again_days_later(  # type: ignore[no-untyped-def]
    dealers, admin, setup, like_inventory, dealers_db
) -> None:
    """Re-dated on a late repeat, its answer lost, and repeated again two days on: the date it would pick now
    differs from the one taken, so the earlier days are asked back until inventory replays the one it holds."""
    like_inventory.expectations_failing = 1
    rid = await _shipped(dealers, admin, setup, "SKU-AGAIN")
    await _days_pass(dealers_db, like_inventory, rid, 4)
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    [(redated, _)] = _receipts(like_inventory, rid)
    await _days_pass(dealers_db, like_inventory, rid, 2, forget_receipt=True)

    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    assert [i for i, _ in _receipts(like_inventory, rid)] == [redated]
    assert await _recorded(dealers_db, rid) == redated
