"""Why a waiting reservation's promise moved is the reason its ReservationPromiseMoved gives.

Units waiting with no date (a backorder, or presale beyond what the receipts bring) that are given one were
reported as REORDERED, which says goods went to older reservations first and the units count on a later
receipt now: the opposite of what happened. They are PROMISED now, whatever gave them the date (a new expected
receipt, or a reservation ahead of them leaving the line); moves of a date that existed keep their reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb

from .test_presale import DAY, Presale, ts, when

pytestmark = pytest.mark.asyncio


async def moved_events(sub: Any, reservation_ids: set[str], want: int) -> list[events_pb2.ReservationPromiseMoved]:
    """The next `want` promise_moved events about these reservations."""
    found = []
    while len(found) < want:
        event = events_pb2.ReservationPromiseMoved.FromString((await sub.next_msg(timeout=10)).data)
        if event.reservation.id in reservation_ids:
            found.append(event)
    return found


async def test_a_new_expected_receipt_gives_a_waiting_backorder_its_first_date_as_promised(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(backorder=True)
    await inventory.SetSafetyStock(pb.SetSafetyStockRequest(location_id=shop.wh, sku=shop.sku), metadata=admin)
    order = await shop.order(3)
    assert not order.allocations[0].HasField("promised_at")
    sub = await js.subscribe("inventory.reservation.promise_moved", stream="INVENTORY", ordered_consumer=True)
    try:
        at = datetime.now(UTC) + DAY
        receipt = await shop.expect(10, at)
        (event,) = await moved_events(sub, {order.id}, 1)
    finally:
        await sub.unsubscribe()
    assert event.reason == pb.PROMISE_MOVE_REASON_PROMISED, pb.PromiseMoveReason.Name(event.reason)
    (move,) = event.moves
    assert not move.HasField("previous_promised_at") and move.previous_receipt_id == ""
    assert (when(move.promised_at), move.receipt_id, move.quantity) == (at, receipt.id, 3)
    await check_invariants()


async def test_a_waiting_line_moving_up_into_a_receipt_is_promised_and_a_later_receipt_is_still_late(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(backorder=True)
    soon = datetime.now(UTC) + DAY
    receipt = await shop.expect(2, soon)
    first, second = await shop.order(2), await shop.order(2)  # the first counts on the receipt, the second on none
    assert not second.allocations[0].HasField("promised_at")
    sub = await js.subscribe("inventory.reservation.promise_moved", stream="INVENTORY", ordered_consumer=True)
    try:
        # The first leaves the line: the second moves up into the receipt.
        await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=first.id), metadata=admin)
        (promised,) = await moved_events(sub, {second.id}, 1)
        later = soon + DAY
        await inventory.RescheduleExpectedReceipt(
            pb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(later)), metadata=admin
        )
        (late,) = await moved_events(sub, {second.id}, 1)
    finally:
        await sub.unsubscribe()
    assert promised.reason == pb.PROMISE_MOVE_REASON_PROMISED, pb.PromiseMoveReason.Name(promised.reason)
    assert [(m.HasField("previous_promised_at"), when(m.promised_at)) for m in promised.moves] == [(False, soon)]
    assert late.reason == pb.PROMISE_MOVE_REASON_LATE
    assert [(when(m.previous_promised_at), when(m.promised_at)) for m in late.moves] == [(soon, later)]
    await check_invariants()
