"""Why a waiting reservation's promise moved is the reason its ReservationPromiseMoved gives.

Units waiting with no date (a backorder, or presale beyond what the receipts bring) that are given one were
reported as REORDERED, which says goods went to older reservations first and the units count on a later
receipt now: the opposite of what happened. They are PROMISED now, whatever gave them the date (a new expected
receipt, or a reservation ahead of them leaving the line); moves of a date that existed keep their reasons."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb

from .test_channel_view import availability
from .test_presale import DAY, Presale, publish_listing, ts, when

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


async def test_one_transaction_moving_two_lines_for_two_reasons_names_each_reasons_lines_before_the_fill(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """Every event carries the reservation as the whole transaction left it, so each reason's moves name the
    lines it moved, and they come before the fill (whose reader would otherwise tell of every new date)."""
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=10)
    first = setup.name("TEA")
    await publish_listing(js, shop.channel, first, presale=10, backorder=True)
    for _ in range(200):
        if (await availability(inventory, admin, first, shop.channel)).allow_backorder:
            break
        await asyncio.sleep(0.05)
    soon = datetime.now(UTC).replace(microsecond=0) + DAY
    later, rest = soon + DAY, soon + 3 * DAY

    async def expect(lines: dict[str, int], at: datetime) -> str:
        stock_lines = [pb.StockLine(sku=sku, quantity=q) for sku, q in lines.items()]
        request = pb.ExpectReceiptRequest(
            request_id=setup.name("po"), location_id=shop.wh, lines=stock_lines, expected_at=ts(at), reference="PO"
        )
        return str((await inventory.ExpectReceipt(request, metadata=admin)).receipt.id)

    async def reserve(lines: dict[str, int]) -> pb.Reservation:
        request = pb.ReserveRequest(
            request_id=setup.name("res"),
            order_id=setup.name("o"),
            channel_id=shop.channel,
            lines=[pb.ReserveLine(sku=sku, quantity=q) for sku, q in lines.items()],
            accept_awaiting_stock=True,
            ttl_seconds=3600,
        )
        return (await inventory.Reserve(request, metadata=admin)).reservation

    receipt = await expect({shop.sku: 5, first: 1}, soon)
    await expect({first: 2}, later)
    await reserve({first: 3})  # ahead of ours: all three units of `first` on their way
    ours = await reserve({shop.sku: 2, first: 2})  # `first` beyond them: a backorder, no date
    assert {a.sku: a.HasField("promised_at") for a in ours.allocations} == {shop.sku: True, first: False}

    sub = await js.subscribe("inventory.reservation.*", stream="INVENTORY", ordered_consumer=True)
    try:
        # `first` arrives on the receipt beyond what it expects (filling the order ahead and one of our units),
        # the rest of the receipt later: our `first` units move up onto the second receipt, shop.sku is late.
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id=setup.name("rcv"),
                location_id=shop.wh,
                lines=[pb.StockLine(sku=first, quantity=4)],
                receipt_id=receipt,
                rest_expected_at=ts(rest),
            ),
            metadata=admin,
        )
        seen: list[tuple[str, Any]] = []
        while len(seen) < 3:
            msg = await sub.next_msg(timeout=10)
            kind = {
                "inventory.reservation.promise_moved": events_pb2.ReservationPromiseMoved,
                "inventory.reservation.filled": events_pb2.ReservationFilled,
            }.get(msg.subject)
            if kind is not None and (event := kind.FromString(msg.data)).reservation.id == ours.id:
                seen.append((msg.subject, event))
    finally:
        await sub.unsubscribe()
    assert [s for s, _ in seen][-1] == "inventory.reservation.filled", [s for s, _ in seen]
    moved = {pb.PromiseMoveReason.Name(e.reason): [(m.sku, when(m.promised_at)) for m in e.moves] for _, e in seen[:2]}
    assert moved == {"PROMISE_MOVE_REASON_LATE": [(shop.sku, rest)], "PROMISE_MOVE_REASON_PROMISED": [(first, later)]}
    await check_invariants()


async def test_a_receipt_rescheduled_earlier_tells_its_waiting_units_sooner_not_reordered(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """REORDERED says the units now count on a later receipt; a receipt brought forward moved them earlier."""
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=10)
    planned = datetime.now(UTC) + 3 * DAY
    receipt = await shop.expect(10, planned)
    order = await shop.order(3)
    sub = await js.subscribe("inventory.reservation.promise_moved", stream="INVENTORY", ordered_consumer=True)
    try:
        sooner = planned - 2 * DAY
        await inventory.RescheduleExpectedReceipt(
            pb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(sooner)), metadata=admin
        )
        (event,) = await moved_events(sub, {order.id}, 1)
    finally:
        await sub.unsubscribe()
    assert event.reason == pb.PROMISE_MOVE_REASON_SOONER, pb.PromiseMoveReason.Name(event.reason)
    assert [(when(m.previous_promised_at), when(m.promised_at)) for m in event.moves] == [(planned, sooner)]
    await check_invariants()
