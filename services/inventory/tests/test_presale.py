"""Presale and backorder through gRPC on real PostgreSQL and NATS (issue 17, inventory side): expected receipts,
reservations waiting for them (AWAITING_STOCK) within a listing's presale_units, filled first come first served
in the receipt's transaction, promises moved by late, short and cancelled receipts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import error_info, field_violations

from .test_channel_rules import until
from .test_channel_view import availability, publish_channel

pytestmark = pytest.mark.asyncio

DAY = timedelta(days=1)


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def when(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


async def publish_listing(
    js, channel_id: str, sku: str, *, presale: int = 0, backorder: bool = False, cap: int = 0, version: int = 1
) -> None:  # type: ignore[no-untyped-def]
    event_id = str(uuid.uuid4())
    listing = channels_pb2.Listing(
        channel_id=channel_id,
        sku=sku,
        active=True,
        sales_cap_units=cap,
        presale_units=presale,
        allow_backorder=backorder,
        version=version,
    )
    event = channel_events.ListingUpserted(meta=common_pb2.EventMeta(event_id=event_id), listing=listing)
    await js.publish("channels.listing.upserted", event.SerializeToString(), headers={"Nats-Msg-Id": event_id})


class Presale:
    """A channel selling one SKU from one warehouse, with helpers for its receipts and orders."""

    def __init__(self, inventory, admin, setup, js) -> None:  # type: ignore[no-untyped-def]
        self.inventory, self.admin, self.setup, self.js = inventory, admin, setup, js

    async def start(self, *, presale: int = 0, backorder: bool = False, cap: int = 0) -> Presale:
        self.wh = await self.setup.location("WH")
        self.sku = self.setup.name("TEA")
        self.channel = self.setup.name("ch")
        await publish_channel(self.js, channels_pb2.Channel(id=self.channel, version=1))
        await publish_listing(self.js, self.channel, self.sku, presale=presale, backorder=backorder, cap=cap)
        for _ in range(200):
            item = await availability(self.inventory, self.admin, self.sku, self.channel)
            if (item.presale_units, item.allow_backorder, item.sales_cap_units) == (presale, backorder, cap):
                return self
            await asyncio.sleep(0.05)
        raise AssertionError("inventory never learned the listing")

    async def expect(self, quantity: int, at: datetime) -> pb.ExpectedReceipt:
        reply = await self.inventory.ExpectReceipt(
            pb.ExpectReceiptRequest(
                request_id=self.setup.name("po"),
                location_id=self.wh,
                lines=[pb.StockLine(sku=self.sku, quantity=quantity)],
                expected_at=ts(at),
                reference="PO-1",
            ),
            metadata=self.admin,
        )
        return reply.receipt

    async def receive(self, receipt_id: str, quantity: int, **kwargs) -> pb.ReceiveStockResponse:  # type: ignore[no-untyped-def]
        return await self.inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id=self.setup.name("rcv"),
                location_id=self.wh,
                lines=[pb.StockLine(sku=self.sku, quantity=quantity)],
                receipt_id=receipt_id,
                **kwargs,
            ),
            metadata=self.admin,
        )

    async def order(self, quantity: int = 1) -> pb.Reservation:
        reply = await self.inventory.Reserve(
            pb.ReserveRequest(
                request_id=self.setup.name("res"),
                order_id=self.setup.name("o"),
                channel_id=self.channel,
                lines=[pb.ReserveLine(sku=self.sku, quantity=quantity)],
                accept_awaiting_stock=True,
                ttl_seconds=3600,
            ),
            metadata=self.admin,
        )
        return reply.reservation

    async def get(self, reservation_id: str) -> pb.Reservation:
        reply = await self.inventory.GetReservation(
            pb.GetReservationRequest(reservation_id=reservation_id), metadata=self.admin
        )
        return reply.reservation

    async def item(self) -> pb.Availability:
        return await availability(self.inventory, self.admin, self.sku, self.channel)


async def _collect(sub, kind, reservation_ids: set[str], want: int):  # type: ignore[no-untyped-def]
    """Events of `kind` about these reservations, until `want` of them came."""
    found = {}
    while len(found) < want:
        msg = await sub.next_msg(timeout=10)
        event = kind.FromString(msg.data)
        if event.reservation.id in reservation_ids:
            found[event.reservation.id] = event
    return found


async def test_150_concurrent_presale_orders_on_100_expected_then_60_arrive_then_the_rest(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=100)
    first, later = datetime.now(UTC) + 7 * DAY, datetime.now(UTC) + 14 * DAY
    receipt = await shop.expect(100, first)
    assert receipt.status == pb.EXPECTED_RECEIPT_STATUS_OPEN
    item = await shop.item()
    assert (item.on_hand, item.available, item.expected, item.presale_sellable) == (0, 0, 100, 100)

    async def one() -> pb.Reservation | grpc.aio.AioRpcError:
        try:
            return await shop.order()
        except grpc.aio.AioRpcError as exc:
            return exc

    results = await asyncio.gather(*(one() for _ in range(150)))
    accepted = [r for r in results if isinstance(r, pb.Reservation)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(accepted) == 100 and len(refused) == 50
    for exc in refused:
        assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
        assert error_info(exc).reason == "INSUFFICIENT_STOCK"
    for r in accepted:
        (a,) = r.allocations
        assert a.status == pb.ALLOCATION_STATUS_AWAITING_STOCK and a.source == pb.ALLOCATION_SOURCE_PRESALE
        assert (a.awaiting_quantity, a.receipt_id, when(a.promised_at)) == (1, receipt.id, first)
        assert r.awaiting_stock and when(r.promised_at) == first
    item = await shop.item()
    assert (item.on_hand, item.reserved, item.awaiting, item.expected) == (0, 0, 100, 100)
    assert (item.presale_counted, item.presale_sellable, item.sales_counted) == (100, 0, 100)
    await check_invariants()

    # 60 arrive, the rest is now expected a week later: the 60 oldest are filled in the receipt's transaction.
    oldest = sorted(accepted, key=lambda r: (when(r.created_at), r.id))
    filled_sub = await js.subscribe("inventory.reservation.filled", stream="INVENTORY", ordered_consumer=True)
    moved_sub = await js.subscribe("inventory.reservation.promise_moved", stream="INVENTORY", ordered_consumer=True)
    reply = await shop.receive(receipt.id, 60, rest_expected_at=ts(later))
    assert {f.reservation_id for f in reply.filled} == {r.id for r in oldest[:60]}
    assert all(f.quantity == 1 and f.still_awaiting == 0 for f in reply.filled)
    assert [ln.remaining for ln in reply.receipt.lines] == [40] and [ln.promised for ln in reply.receipt.lines] == [40]
    assert when(reply.receipt.expected_at) == later
    for r in oldest[:60]:
        (a,) = (await shop.get(r.id)).allocations
        assert a.status == pb.ALLOCATION_STATUS_ALLOCATED and a.awaiting_quantity == 0 and a.HasField("filled_at")
    for r in oldest[60:]:
        got = await shop.get(r.id)
        (a,) = got.allocations
        assert a.status == pb.ALLOCATION_STATUS_AWAITING_STOCK and when(a.promised_at) == later
        assert got.awaiting_stock and when(got.promised_at) == later
    filled = await _collect(filled_sub, events_pb2.ReservationFilled, {r.id for r in oldest[:60]}, 60)
    assert {e.receipt_id for e in filled.values()} == {receipt.id}
    moved = await _collect(moved_sub, events_pb2.ReservationPromiseMoved, {r.id for r in oldest[60:]}, 40)
    for event in moved.values():
        (move,) = event.moves
        assert event.reason == pb.PROMISE_MOVE_REASON_LATE
        assert (when(move.previous_promised_at), when(move.promised_at)) == (first, later)
    item = await shop.item()
    assert (item.on_hand, item.reserved, item.awaiting, item.expected, item.presale_counted) == (60, 60, 40, 40, 40)
    assert item.available == 0  # every unit that arrived went to a waiting order
    await check_invariants()

    # The filled ones ship; a waiting one cannot.
    for r in oldest[:60]:
        await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=r.id), metadata=admin)
        await inventory.FulfillReservation(
            pb.FulfillReservationRequest(reservation_id=r.id, location_id=shop.wh), metadata=admin
        )
    waiting = oldest[60]
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=waiting.id), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.FulfillReservation(
            pb.FulfillReservationRequest(reservation_id=waiting.id, location_id=shop.wh), metadata=admin
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(caught.value).reason == "AWAITING_STOCK"

    # The rest arrives: every waiting order is filled, the receipt is done.
    reply = await shop.receive(receipt.id, 40)
    assert {f.reservation_id for f in reply.filled} == {r.id for r in oldest[60:]}
    assert reply.receipt.status == pb.EXPECTED_RECEIPT_STATUS_RECEIVED
    item = await shop.item()
    assert (item.on_hand, item.reserved, item.awaiting, item.expected, item.presale_counted) == (40, 40, 0, 0, 0)
    assert item.sales_counted == 100
    moves = await inventory.ListMovements(
        pb.ListMovementsRequest(location_id=shop.wh, sku=shop.sku, page_size=500), metadata=admin
    )
    assert sum(m.delta for m in moves.movements) == 40  # 100 received, 60 shipped
    await check_invariants()
    await filled_sub.unsubscribe()
    await moved_sub.unsubscribe()


async def test_a_short_receipt_moves_promises_to_the_next_receipt_and_releasing_gives_presale_back(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=10)
    soon, later = datetime.now(UTC) + DAY, datetime.now(UTC) + 5 * DAY
    r1 = await shop.expect(4, soon)
    r2 = await shop.expect(6, later)
    orders = [await shop.order(2) for _ in range(4)]  # 8 units: 4 on r1, 4 on r2
    assert [when(o.allocations[0].promised_at) for o in orders] == [soon, soon, later, later]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await shop.order(3)  # 2 left on the receipts, 2 of the allowance
    assert error_info(caught.value).reason == "INSUFFICIENT_STOCK"

    # r1 delivers 1 and closes short: the oldest order is half filled; the second now counts on r2.
    reply = await shop.receive(r1.id, 1, close_receipt=True)
    assert reply.receipt.status == pb.EXPECTED_RECEIPT_STATUS_RECEIVED
    assert [(f.reservation_id, f.quantity, f.still_awaiting) for f in reply.filled] == [(orders[0].id, 1, 1)]
    got = [await shop.get(o.id) for o in orders]
    assert [g.allocations[0].awaiting_quantity for g in got] == [1, 2, 2, 2]
    # 7 wait, r2 brings 6: the youngest order has no promise any more.
    assert [g.allocations[0].receipt_id for g in got] == [r2.id, r2.id, r2.id, ""]
    assert not got[3].HasField("promised_at")
    item = await shop.item()
    assert (item.awaiting, item.expected, item.presale_sellable) == (7, 6, 0)

    # The second order is released: its presale units come back and the youngest moves up to r2.
    await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=orders[1].id), metadata=admin)
    youngest = await shop.get(orders[3].id)
    assert youngest.allocations[0].receipt_id == r2.id and when(youngest.promised_at) == later
    item = await shop.item()
    assert (item.awaiting, item.presale_counted, item.presale_sellable) == (5, 5, 1)

    # r2 is cancelled: nobody has a promise; a release of a half-filled order gives back its on-hand unit too.
    cancelled = await inventory.CancelExpectedReceipt(
        pb.CancelExpectedReceiptRequest(receipt_id=r2.id, reason="supplier failed"), metadata=admin
    )
    assert cancelled.receipt.status == pb.EXPECTED_RECEIPT_STATUS_CANCELLED
    again = await inventory.CancelExpectedReceipt(pb.CancelExpectedReceiptRequest(receipt_id=r2.id), metadata=admin)
    assert again.receipt.version == cancelled.receipt.version  # idempotent
    for o in (orders[0], orders[2], orders[3]):
        assert not (await shop.get(o.id)).allocations[0].HasField("promised_at")
    await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=orders[0].id), metadata=admin)
    item = await shop.item()
    # The freed unit went to the next order in line (the third), in the release's transaction.
    assert (item.on_hand, item.reserved, item.available, item.awaiting, item.expected) == (1, 1, 0, 3, 0)
    # Both the release and the fill gave presale allowance back in one transaction: 1 + 2 units still wait.
    assert item.presale_counted == 3
    third = await shop.get(orders[2].id)
    assert third.allocations[0].awaiting_quantity == 1
    await check_invariants()


async def test_receipt_refusals_change_nothing(inventory, admin, setup, inventory_host, check_invariants) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=5)
    receipt = await shop.expect(5, datetime.now(UTC) + DAY)
    other = await setup.location("WH2")

    async def refused(call, request) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=admin)
        return caught.value

    bad = await refused(
        inventory.ExpectReceipt,
        pb.ExpectReceiptRequest(request_id="x1", location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=1)]),
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "expected_at" in field_violations(bad)
    wrong_place = await refused(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(
            request_id=setup.name("r"), location_id=other, lines=[pb.StockLine(sku=shop.sku, quantity=1)],
            receipt_id=receipt.id,
        ),
    )  # fmt: skip
    assert wrong_place.code() == grpc.StatusCode.INVALID_ARGUMENT and "location_id" in field_violations(wrong_place)
    wrong_sku = await refused(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(
            request_id=setup.name("r"), location_id=shop.wh, lines=[pb.StockLine(sku="NOT-ON-IT", quantity=1)],
            receipt_id=receipt.id,
        ),
    )  # fmt: skip
    assert wrong_sku.code() == grpc.StatusCode.INVALID_ARGUMENT and "lines[0].sku" in field_violations(wrong_sku)
    unknown = await refused(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(
            request_id=setup.name("r"), location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=1)],
            receipt_id="no-such-receipt",
        ),
    )  # fmt: skip
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    both = await refused(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(
            request_id=setup.name("r"), location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=1)],
            receipt_id=receipt.id, close_receipt=True, rest_expected_at=ts(datetime.now(UTC) + DAY),
        ),
    )  # fmt: skip
    assert both.code() == grpc.StatusCode.INVALID_ARGUMENT and "rest_expected_at" in field_violations(both)
    no_channel = await refused(
        inventory.Reserve,
        pb.ReserveRequest(
            request_id=setup.name("r"), lines=[pb.ReserveLine(sku=shop.sku, quantity=1)], accept_awaiting_stock=True
        ),
    )
    assert "accept_awaiting_stock" in field_violations(no_channel)
    # Without accepting to wait, nothing beyond on hand is sold.
    plain = await refused(
        inventory.Reserve,
        pb.ReserveRequest(
            request_id=setup.name("r"), channel_id=shop.channel, lines=[pb.ReserveLine(sku=shop.sku, quantity=1)]
        ),
    )
    assert plain.code() == grpc.StatusCode.FAILED_PRECONDITION
    item = await shop.item()
    assert (item.on_hand, item.expected, item.awaiting, item.presale_sellable) == (0, 5, 0, 5)
    # Idempotent by request_id: the same ExpectReceipt twice records one receipt.
    request = pb.ExpectReceiptRequest(
        request_id=setup.name("po"), location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=2)],
        expected_at=ts(datetime.now(UTC) + DAY),
    )  # fmt: skip
    first = await inventory.ExpectReceipt(request, metadata=admin)
    second = await inventory.ExpectReceipt(request, metadata=admin)
    assert first.receipt.id == second.receipt.id
    assert (await shop.item()).expected == 7
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(
            request_id=setup.name("r"), location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=5)],
            receipt_id=receipt.id,
        ),
        metadata=admin,
    )  # fmt: skip
    closed = await refused(
        inventory.CancelExpectedReceipt, pb.CancelExpectedReceiptRequest(receipt_id=receipt.id, reason="late")
    )
    assert closed.code() == grpc.StatusCode.FAILED_PRECONDITION and error_info(closed).reason == "RECEIPT_CLOSED"
    await check_invariants()


async def test_backorder_waits_without_a_receipt_and_is_filled_by_any_goods(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(backorder=True, cap=5)
    # The warehouse carries the SKU (a backorder waits only where a stock row exists).
    await inventory.SetSafetyStock(pb.SetSafetyStockRequest(location_id=shop.wh, sku=shop.sku), metadata=admin)
    first = await shop.order(3)
    (a,) = first.allocations
    assert a.source == pb.ALLOCATION_SOURCE_BACKORDER and a.awaiting_quantity == 3 and not a.HasField("promised_at")
    with pytest.raises(grpc.aio.AioRpcError):
        await shop.order(3)  # the sales cap still holds: 3 + 3 > 5
    # A purchase order gives the backorder a promise; plain stock (no receipt) fills it.
    receipt = await shop.expect(10, datetime.now(UTC) + DAY)
    got = await shop.get(first.id)
    assert got.allocations[0].receipt_id == receipt.id
    await setup.stock(shop.wh, **{shop.sku: 2})
    got = await shop.get(first.id)
    assert got.allocations[0].awaiting_quantity == 1
    item = await shop.item()
    assert (item.on_hand, item.reserved, item.available, item.awaiting) == (2, 2, 0, 1)
    await check_invariants()


async def test_a_count_correction_or_lower_safety_stock_answers_with_the_level_after_filling_the_waiting_line(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(backorder=True)
    await inventory.SetSafetyStock(
        pb.SetSafetyStockRequest(location_id=shop.wh, sku=shop.sku, quantity=2), metadata=admin
    )
    await shop.order(3)

    async def stored() -> tuple[int, int, int, int]:
        request = pb.ListStockLevelsRequest(location_id=shop.wh, sku=shop.sku)
        (level,) = (await inventory.ListStockLevels(request, metadata=admin)).levels
        return level.on_hand, level.reserved, level.available, level.awaiting

    # 3 found; 2 of them are safety stock, the third fills the waiting order in the same transaction.
    found = pb.AdjustStockRequest(
        request_id=setup.name("adj"), location_id=shop.wh, sku=shop.sku, delta=3, reason="count"
    )
    adjusted = (await inventory.AdjustStock(found, metadata=admin)).level
    assert (
        (adjusted.on_hand, adjusted.reserved, adjusted.available, adjusted.awaiting) == (3, 1, 0, 2) == await stored()
    )
    # A retry gets the stored answer: the level as committed.
    assert (await inventory.AdjustStock(found, metadata=admin)).level == adjusted
    lowered = await inventory.SetSafetyStock(
        pb.SetSafetyStockRequest(location_id=shop.wh, sku=shop.sku, quantity=0), metadata=admin
    )
    level = lowered.level
    assert (level.on_hand, level.reserved, level.available, level.awaiting) == (3, 3, 0, 0) == await stored()
    await check_invariants()


async def test_a_reservation_is_updated_when_its_promise_moves_and_when_goods_fill_it(
    inventory, admin, setup, inventory_host
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=10)
    receipt = await shop.expect(10, datetime.now(UTC) + DAY)
    order = await shop.order(3)
    later = datetime.now(UTC) + 2 * DAY
    await inventory.RescheduleExpectedReceipt(
        pb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(later)), metadata=admin
    )
    moved = await shop.get(order.id)
    assert when(moved.promised_at) == later
    assert when(moved.updated_at) > when(order.updated_at)
    await shop.receive(receipt.id, 3)
    filled = await shop.get(order.id)
    assert filled.allocations[0].awaiting_quantity == 0
    assert when(filled.updated_at) == when(filled.allocations[0].filled_at) > when(moved.updated_at)


class ReceiptFeed:
    """The expected receipt events, as channels reads them: per receipt, the newest version's units still
    expected and promised to nobody (ExpectedReceiptLine.unpromised, as inventory states it)."""

    def __init__(self, sub) -> None:  # type: ignore[no-untyped-def]
        self.sub = sub
        self.newest: dict[str, pb.ExpectedReceipt] = {}

    async def unpromised(self, receipt_id: str, version: int) -> int:
        """The units channels would sell as presale from the receipt once they heard of `version`."""
        while self.newest.get(receipt_id, pb.ExpectedReceipt()).version < version:
            msg = await self.sub.next_msg(timeout=10)
            kind = {
                "inventory.expected_receipt.recorded": events_pb2.ExpectedReceiptRecorded,
                "inventory.expected_receipt.changed": events_pb2.ExpectedReceiptChanged,
                "inventory.expected_receipt.cancelled": events_pb2.ExpectedReceiptCancelled,
            }[msg.subject]
            receipt = kind.FromString(msg.data).receipt
            if receipt.version > self.newest.get(receipt.id, pb.ExpectedReceipt()).version:
                self.newest[receipt.id] = receipt
        (line,) = self.newest[receipt_id].lines
        return line.unpromised


async def test_the_units_a_receipt_promises_are_published_when_reservations_wait_leave_and_are_filled(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    shop = await Presale(inventory, admin, setup, js).start(presale=100)
    sub = await js.subscribe("inventory.expected_receipt.>", stream="INVENTORY", ordered_consumer=True)
    feed = ReceiptFeed(sub)
    try:
        receipt = await shop.expect(100, datetime.now(UTC) + DAY)
        assert await feed.unpromised(receipt.id, 1) == 100
        order = await shop.order(60)  # waits on the receipt (a Reserve batch)
        assert await feed.unpromised(receipt.id, 2) == 40
        await setup.stock(shop.wh, **{shop.sku: 10})  # plain goods fill 10 of them: 50 still wait on it
        assert await feed.unpromised(receipt.id, 3) == 50
        await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=order.id), metadata=admin)
        assert await feed.unpromised(receipt.id, 4) == 100
        got = await inventory.GetExpectedReceipt(pb.GetExpectedReceiptRequest(receipt_id=receipt.id), metadata=admin)
        assert got.receipt.version == 4 and got.receipt.lines[0].promised == 0
        cancel = pb.CancelExpectedReceiptRequest(receipt_id=receipt.id, reason="supplier failed")
        await inventory.CancelExpectedReceipt(cancel, metadata=admin)
        assert await feed.unpromised(receipt.id, 5) == 0  # a closed receipt brings nothing more to sell
    finally:
        await sub.unsubscribe()
    await check_invariants()


async def test_an_order_that_may_not_split_waits_where_its_other_lines_are_or_is_refused(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh1, wh2 = await setup.location("WH1"), await setup.location("WH2")
    tea, cup, pot = setup.name("TEA"), setup.name("CUP"), setup.name("POT")
    channel = setup.name("ch")
    await publish_channel(js, channels_pb2.Channel(id=channel, version=1))
    for sku in (tea, cup, pot):
        await publish_listing(js, channel, sku, presale=10)
    for sku in (tea, cup, pot):
        await until(lambda sku=sku: availability(inventory, admin, sku, channel), lambda i: i.presale_units == 10)
    await setup.stock(wh1, **{tea: 5})

    async def expect(location_id: str, sku: str, days: int) -> None:
        await inventory.ExpectReceipt(
            pb.ExpectReceiptRequest(
                request_id=setup.name("po"), location_id=location_id, lines=[pb.StockLine(sku=sku, quantity=5)],
                expected_at=ts(datetime.now(UTC) + days * DAY),
            ),
            metadata=admin,
        )  # fmt: skip

    async def order(*skus: str, split: bool = False) -> set[str]:
        request = pb.ReserveRequest(
            request_id=setup.name("r"), order_id=setup.name("o"), channel_id=channel, accept_awaiting_stock=True,
            lines=[pb.ReserveLine(sku=sku, quantity=1) for sku in skus], hint=pb.SourcingHint(allow_split=split),
        )  # fmt: skip
        reply = await inventory.Reserve(request, metadata=admin)
        return {a.location_id for a in reply.reservation.allocations}

    # Cups come only to WH2: one parcel cannot hold the tea on hand at WH1 and a cup waiting at WH2.
    await expect(wh2, cup, 1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await order(tea, cup)
    assert error_info(caught.value).reason == "SPLIT_REQUIRED"
    assert await order(tea, cup, split=True) == {wh1, wh2}
    # Cups come to WH1 later too: the cup waits for that receipt, with the tea.
    await expect(wh1, cup, 3)
    assert await order(tea, cup) == {wh1}
    # Nothing on hand: pots come only to WH1, so the cup waits there too rather than on WH2's sooner receipt.
    await expect(wh1, pot, 2)
    assert await order(cup, pot) == {wh1}
    assert await order(cup) == {wh2}  # alone, the soonest receipt
    await check_invariants()
