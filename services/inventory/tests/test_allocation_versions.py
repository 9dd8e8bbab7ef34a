"""Every allocation's waiting state has a version (inventory.v1.Allocation.version): one more with each change
of awaiting_quantity, promised_at or receipt_id, written under its stock row's lock and published as written.

Two transactions changing different SKUs of one reservation at once (a receipt of B rescheduled, one of A
received) each publish the whole reservation, the other SKU as they read it: by updated_at the fill, stamped
later, looked newer than the promise move and carried A's old date. The versions tell each allocation's newest
state apart whatever the stamps (orders keeps, per allocation, the highest: Order.follow_stock).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.domain import commands
from onepool_inventory.domain.model import MovementKind
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_kernel.lines import StockLine

from .test_channel_view import availability
from .test_presale import DAY, Presale, publish_listing, ts, when

pytestmark = pytest.mark.asyncio

_KINDS = {
    "inventory.reservation.promise_moved": events_pb2.ReservationPromiseMoved,
    "inventory.reservation.filled": events_pb2.ReservationFilled,
}


async def reservation_news(sub: Any, reservation_id: str, want: int) -> list[tuple[str, Any]]:
    """The next `want` filled / promise_moved events about this reservation, as (subject, event)."""
    seen: list[tuple[str, Any]] = []
    while len(seen) < want:
        msg = await sub.next_msg(timeout=10)
        kind = _KINDS.get(msg.subject)
        if kind is not None and (event := kind.FromString(msg.data)).reservation.id == reservation_id:
            seen.append((msg.subject.rsplit(".", 1)[1], event))
    return seen


def versions(reservation: pb.Reservation) -> dict[str, tuple[int, int]]:
    """Per SKU: (version, units waiting)."""
    return {a.sku: (a.version, a.awaiting_quantity) for a in reservation.allocations}


async def test_each_change_of_an_allocations_waiting_state_moves_its_version_on_and_the_events_carry_it(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=10)
    receipt = await shop.expect(10, datetime.now(UTC) + DAY)
    first, second = await shop.order(2), await shop.order(2)
    assert [versions(o) for o in (first, second)] == [{shop.sku: (1, 2)}] * 2
    sub = await js.subscribe("inventory.reservation.*", stream="INVENTORY", ordered_consumer=True)
    try:
        later = datetime.now(UTC) + 3 * DAY
        await inventory.RescheduleExpectedReceipt(
            pb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(later)), metadata=admin
        )
        [(kind, late)] = await reservation_news(sub, first.id, 1)
        assert (kind, versions(late.reservation), when(late.reservation.promised_at)) == (
            "promise_moved",
            {shop.sku: (2, 2)},
            later,
        )
        # One unit arrives: the first order is half filled; the second's allocation does not change.
        await shop.receive(receipt.id, 1)
        [(kind, half)] = await reservation_news(sub, first.id, 1)
        assert (kind, versions(half.reservation)) == ("filled", {shop.sku: (3, 1)})
        assert versions(await shop.get(second.id)) == {shop.sku: (2, 2)}
        await shop.receive(receipt.id, 1)
        [(kind, full)] = await reservation_news(sub, first.id, 1)
        assert (kind, versions(full.reservation)) == ("filled", {shop.sku: (4, 0)})
    finally:
        await sub.unsubscribe()
    # Shipping changes what was fulfilled, not what waits: the version stays.
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=first.id), metadata=admin)
    shipped = await inventory.FulfillReservation(
        pb.FulfillReservationRequest(request_id=setup.name("ful"), reservation_id=first.id, location_id=shop.wh),
        metadata=admin,
    )
    assert versions(shipped.reservation) == {shop.sku: (4, 0)}
    assert versions(await shop.get(first.id)) == {shop.sku: (4, 0)}
    await check_invariants()


async def test_a_promise_move_and_a_fill_of_another_sku_at_once_each_publish_the_version_they_wrote(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=10)
    a, b = shop.sku, setup.name("TEA")
    await publish_listing(js, shop.channel, b, presale=10)
    for _ in range(200):
        if (await availability(inventory, admin, b, shop.channel)).presale_units == 10:
            break
        await asyncio.sleep(0.05)
    soon = datetime.now(UTC).replace(microsecond=0) + DAY

    async def expect(sku: str, at: datetime) -> str:
        request = pb.ExpectReceiptRequest(
            request_id=setup.name("po"),
            location_id=shop.wh,
            lines=[pb.StockLine(sku=sku, quantity=2)],
            expected_at=ts(at),
            reference="PO",
        )
        return str((await inventory.ExpectReceipt(request, metadata=admin)).receipt.id)

    r1, r2 = await expect(a, soon), await expect(b, soon + DAY)
    reserved = (
        await inventory.Reserve(
            pb.ReserveRequest(
                request_id=setup.name("res"),
                order_id=setup.name("o"),
                channel_id=shop.channel,
                lines=[pb.ReserveLine(sku=a, quantity=2), pb.ReserveLine(sku=b, quantity=2)],
                accept_awaiting_stock=True,
                ttl_seconds=3600,
            ),
            metadata=admin,
        )
    ).reservation
    assert versions(reserved) == {a: (1, 2), b: (1, 2)}

    units = inventory_host.infra.units(InventoryUnitOfWork)
    both_read = asyncio.Barrier(2)
    late = soon + 6 * DAY

    async def run(work: Any, delay: float) -> None:
        async with units() as uow:
            read = uow.reservations.waiting_line

            async def waiting_line(keys):  # type: ignore[no-untyped-def]
                line = await read(keys)
                await both_read.wait()  # both have read the reservation before either writes
                await asyncio.sleep(delay)
                return line

            uow.reservations.waiting_line = waiting_line  # type: ignore[method-assign]
            await work(uow)
            await uow.commit()

    async def reschedule(uow: InventoryUnitOfWork) -> None:
        await handlers.reschedule_expected_receipt(uow, r1, late)

    async def receive(uow: InventoryUnitOfWork) -> None:
        await handlers.receive_stock(
            uow, commands.ReceiveStock(shop.wh, (StockLine(b, 2),), "delivery", MovementKind.RECEIPT, receipt_id=r2)
        )

    sub = await js.subscribe("inventory.reservation.*", stream="INVENTORY", ordered_consumer=True)
    try:
        await asyncio.gather(run(reschedule, 0.0), run(receive, 0.3))
        news = dict(await reservation_news(sub, reserved.id, 2))
    finally:
        await sub.unsubscribe()

    def shown(reservation: pb.Reservation) -> dict[str, tuple[int, int, datetime | None]]:
        return {
            x.sku: (x.version, x.awaiting_quantity, when(x.promised_at) if x.awaiting_quantity else None)
            for x in reservation.allocations
        }

    # Each shows the other SKU as it read it, at the version it read: only the versions say which is newer.
    assert shown(news["promise_moved"].reservation) == {a: (2, 2, late), b: (1, 2, soon + DAY)}
    assert shown(news["filled"].reservation) == {a: (1, 2, soon), b: (2, 0, None)}
    assert shown(await shop.get(reserved.id)) == {a: (2, 2, late), b: (2, 0, None)}
    await check_invariants()
