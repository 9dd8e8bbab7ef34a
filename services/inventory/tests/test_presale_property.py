"""A Hypothesis state machine over expected receipts and presale orders (issue 17), against the real service and
PostgreSQL: expect, receive (partial, late, short, and plain goods), reschedule, cancel receipts; presale orders,
cancels, pay and ship. After every step:

- no unit is allocated twice: reserved = the open allocations' units on hand, awaiting = their waiting units,
  expected = what the open receipts still bring, on hand = the sum of the ledger (conftest check_invariants);
- no waiting allocation is skipped by a later one: along each waiting line (reservation time order) only a
  prefix was ever filled, and no goods stay available while anyone waits;
- every waiting allocation is promised the receipt its place in the line reaches (or none);
- expected units are never sold beyond the cap: the units waiting under presale never exceed presale_units,
  and each order is accepted exactly when the model says it fits (on hand, else within the allowance and the
  room the receipts leave).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from sqlalchemy import text

from .test_channel_view import publish_channel
from .test_presale import publish_listing

pytestmark = pytest.mark.asyncio

START = datetime(2030, 1, 1, tzinfo=UTC)


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def build_machine(loop: asyncio.AbstractEventLoop, inventory: Any, admin: Any, host: Any, check: Any) -> type:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)

    async def call(method: str, request: Any) -> Any:
        return await getattr(inventory, method)(request, metadata=admin)

    def rpc(method: str, request: Any) -> tuple[Any, grpc.aio.AioRpcError | None]:
        try:
            return run(call(method, request)), None
        except grpc.aio.AioRpcError as exc:
            assert exc.code() != grpc.StatusCode.INTERNAL, exc.details()
            return None, exc

    class PresaleMachine(RuleBasedStateMachine):
        @initialize(presale=st.integers(3, 15), stock=st.integers(0, 4), coming=st.integers(4, 12))
        def lay_out(self, presale: int, stock: int, coming: int) -> None:
            tag = uuid.uuid4().hex[:8]
            self.sku, self.wh, self.channel = f"P-{tag}", f"W-{tag}", f"C-{tag}"
            self.presale = presale
            rpc(
                "UpsertLocation",
                pb.UpsertLocationRequest(location=pb.Location(id=self.wh, name="W", type=1, ships=True)),
            )
            rpc("SetSafetyStock", pb.SetSafetyStockRequest(location_id=self.wh, sku=self.sku))
            if stock:
                self._receive(stock)
            run(publish_channel(host.infra.js, channels_pb2.Channel(id=self.channel, version=1)))
            run(publish_listing(host.infra.js, self.channel, self.sku, presale=presale))
            for _ in range(200):
                _, err = rpc("GetAvailability", pb.GetAvailabilityRequest(skus=[self.sku], channel_id=self.channel))
                if err is None and self.item().presale_units == presale:
                    break
                run(asyncio.sleep(0.05))
            assert self.item().presale_units == presale
            self.receipts: list[str] = []  # ids of OPEN receipts
            self.orders: dict[str, str] = {}  # id -> ACTIVE | FULFILLED | RELEASED
            self.expect(coming, 10)  # a purchase order to presell from the start

        def item(self) -> pb.Availability:
            reply, err = rpc("GetAvailability", pb.GetAvailabilityRequest(skus=[self.sku], channel_id=self.channel))
            assert err is None
            return reply.items[0]

        def _receive(self, quantity: int, **kwargs: Any) -> pb.ReceiveStockResponse:
            reply, err = rpc(
                "ReceiveStock",
                pb.ReceiveStockRequest(
                    request_id=uuid.uuid4().hex,
                    location_id=self.wh,
                    lines=[pb.StockLine(sku=self.sku, quantity=quantity)],
                    **kwargs,
                ),
            )
            assert err is None, err
            return reply

        @rule(quantity=st.integers(1, 8), days=st.integers(1, 20))
        def expect(self, quantity: int, days: int) -> None:
            reply, err = rpc(
                "ExpectReceipt",
                pb.ExpectReceiptRequest(
                    request_id=uuid.uuid4().hex,
                    location_id=self.wh,
                    lines=[pb.StockLine(sku=self.sku, quantity=quantity)],
                    expected_at=ts(START + timedelta(days=days)),
                ),
            )
            assert err is None, err
            self.receipts.append(reply.receipt.id)

        @precondition(lambda self: self.receipts)
        @rule(data=st.data(), mode=st.sampled_from(["partial", "late", "short", "over"]), days=st.integers(1, 30))
        def receive_on_receipt(self, data: Any, mode: str, days: int) -> None:
            receipt_id = data.draw(st.sampled_from(self.receipts))
            got, err = rpc("GetExpectedReceipt", pb.GetExpectedReceiptRequest(receipt_id=receipt_id))
            assert err is None
            remaining = got.receipt.lines[0].remaining
            quantity = {"over": remaining + 2, "short": max(1, remaining // 2)}.get(
                mode, data.draw(st.integers(1, remaining))
            )
            extra: dict[str, Any] = {}
            if mode == "late":
                extra["rest_expected_at"] = ts(START + timedelta(days=days + 20))
            if mode == "short":
                extra["close_receipt"] = True
            before = self.item()
            reply = self._receive(quantity, receipt_id=receipt_id, **extra)
            # Waiting orders are filled in this transaction, never beyond what arrived.
            filled = sum(f.quantity for f in reply.filled)
            assert filled == min(quantity, before.awaiting), (filled, quantity, before.awaiting)
            if reply.receipt.status != pb.EXPECTED_RECEIPT_STATUS_OPEN:
                self.receipts.remove(receipt_id)

        @rule(quantity=st.integers(1, 2))
        def receive_plain(self, quantity: int) -> None:
            before = self.item()
            reply = self._receive(quantity)
            assert sum(f.quantity for f in reply.filled) == min(quantity, before.awaiting)

        @precondition(lambda self: self.receipts)
        @rule(data=st.data(), days=st.integers(1, 40))
        def reschedule(self, data: Any, days: int) -> None:
            receipt_id = data.draw(st.sampled_from(self.receipts))
            _, err = rpc(
                "RescheduleExpectedReceipt",
                pb.RescheduleExpectedReceiptRequest(
                    receipt_id=receipt_id, expected_at=ts(START + timedelta(days=days))
                ),
            )
            assert err is None, err

        @precondition(lambda self: self.receipts)
        @rule(data=st.data())
        def cancel_receipt(self, data: Any) -> None:
            receipt_id = data.draw(st.sampled_from(self.receipts))
            reply, err = rpc("CancelExpectedReceipt", pb.CancelExpectedReceiptRequest(receipt_id=receipt_id))
            assert err is None and reply.receipt.status == pb.EXPECTED_RECEIPT_STATUS_CANCELLED
            self.receipts.remove(receipt_id)

        @rule(quantities=st.lists(st.integers(1, 3), min_size=1, max_size=4))
        def orders_come_in(self, quantities: list[int]) -> None:
            for quantity in quantities:
                self.order(quantity)

        def order(self, quantity: int) -> None:
            before = self.item()
            on_hand_fits = before.available >= quantity
            # Otherwise what is on the shelf is taken and the rest waits, within the allowance and the room.
            waits = quantity - min(quantity, before.available)
            presale_fits = waits <= self.presale - before.presale_counted and before.expected - before.awaiting >= waits
            reply, err = rpc(
                "Reserve",
                pb.ReserveRequest(
                    request_id=uuid.uuid4().hex,
                    order_id=uuid.uuid4().hex,
                    channel_id=self.channel,
                    lines=[pb.ReserveLine(sku=self.sku, quantity=quantity)],
                    accept_awaiting_stock=True,
                    ttl_seconds=3600,
                ),
            )
            assert (err is None) == (on_hand_fits or presale_fits), (err, before, quantity)
            if err is not None:
                assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
                return
            (a,) = reply.reservation.allocations
            if on_hand_fits:
                assert a.source == pb.ALLOCATION_SOURCE_ON_HAND and a.awaiting_quantity == 0
            else:
                assert a.source == pb.ALLOCATION_SOURCE_PRESALE and a.awaiting_quantity == waits
            self.orders[reply.reservation.id] = "ACTIVE"

        def _open(self) -> list[str]:
            # In the order they were placed (ids are random: sorting them would differ between replays).
            return [r for r, status in self.orders.items() if status == "ACTIVE"]

        @precondition(lambda self: any(s == "ACTIVE" for s in self.orders.values()))
        @rule(data=st.data())
        def cancel_order(self, data: Any) -> None:
            rid = data.draw(st.sampled_from(self._open()))
            before = self.item()
            reply, err = rpc("ReleaseReservation", pb.ReleaseReservationRequest(reservation_id=rid, reason="balance"))
            assert err is None, err
            (a,) = reply.reservation.allocations
            # A waiting order gives its presale allowance back at once (and units it held on hand may fill others).
            assert self.item().presale_counted <= before.presale_counted - (
                a.awaiting_quantity if a.source == pb.ALLOCATION_SOURCE_PRESALE else 0
            )
            self.orders[rid] = "RELEASED"

        @precondition(lambda self: any(s == "ACTIVE" for s in self.orders.values()))
        @rule(data=st.data())
        def pay_and_ship(self, data: Any) -> None:
            rid = data.draw(st.sampled_from(self._open()))
            _, err = rpc("CommitReservation", pb.CommitReservationRequest(reservation_id=rid))
            assert err is None, err
            _, err = rpc("FulfillReservation", pb.FulfillReservationRequest(reservation_id=rid, location_id=self.wh))
            got, _ = rpc("GetReservation", pb.GetReservationRequest(reservation_id=rid))
            (a,) = got.reservation.allocations
            # What was on the shelf left; what still waits stays (and alone refuses the fulfillment).
            assert a.quantity - a.fulfilled_quantity == a.awaiting_quantity
            if err is not None:
                assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and a.awaiting_quantity > 0
            if got.reservation.status == pb.RESERVATION_STATUS_FULFILLED:
                self.orders[rid] = "FULFILLED"
            else:
                self.orders[rid] = "ACTIVE"  # committed, waiting or part shipped: may still be cancelled

        @invariant()
        def nothing_twice_nobody_skipped_never_beyond_the_cap(self) -> None:
            if not hasattr(self, "orders"):
                return
            run(check())
            line, slots = run(self._line_and_slots())
            item = self.item()
            assert item.presale_counted <= self.presale
            assert item.presale_counted == sum(r.awaiting for r in line if r.source == "PRESALE")
            if item.awaiting:
                assert item.available == 0, item  # no goods left on the shelf while someone waits
            waiting_seen = False
            position = 0
            for r in line:
                if waiting_seen:
                    # Nothing filled behind a waiter: what it has on hand it took from the shelf when it came.
                    assert r.filled_at is None, r
                if r.awaiting:
                    waiting_seen = True
                    position += r.awaiting
                    promised = _reached(position, slots)
                    assert (r.receipt_id, r.promised_at) == promised, (r, promised, slots)

        async def _line_and_slots(self) -> tuple[list[Any], list[tuple[str, datetime, int]]]:
            async with host.infra.engine.connect() as conn:
                line = (
                    await conn.execute(
                        text(
                            "SELECT a.quantity, a.fulfilled, a.awaiting, a.source, a.receipt_id, a.promised_at, "
                            "a.filled_at FROM allocations a JOIN reservations r ON r.id = a.reservation_id "
                            "WHERE a.sku = :sku AND a.source <> 'ON_HAND' AND r.status IN ('ACTIVE', 'COMMITTED') "
                            "ORDER BY r.created_at, r.id"
                        ),
                        {"sku": self.sku},
                    )
                ).all()
                slots = (
                    await conn.execute(
                        text(
                            "SELECT e.id, e.expected_at, l.quantity - l.received - l.shortfall AS remaining "
                            "FROM expected_receipt_lines l JOIN expected_receipts e ON e.id = l.receipt_id "
                            "WHERE l.sku = :sku AND e.status = 'OPEN' ORDER BY e.expected_at, e.id"
                        ),
                        {"sku": self.sku},
                    )
                ).all()
            return list(line), [(s.id, s.expected_at, s.remaining) for s in slots if s.remaining > 0]

    return PresaleMachine


def _reached(position: int, slots: list[tuple[str, datetime, int]]) -> tuple[str, datetime | None]:
    """The receipt on which the `position`-th waiting unit arrives (the model of the promise)."""
    reached = 0
    for receipt_id, expected_at, remaining in slots:
        reached += remaining
        if reached >= position:
            return receipt_id, expected_at
    return "", None


async def test_random_receipts_and_presale_orders_keep_every_promise(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """`make test`: a few runs (the long twin below runs 100 longer ones)."""
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=8,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # far beyond the suite's 300 s default on a loaded machine
async def test_long_random_receipts_and_presale_orders_keep_every_promise(
    inventory, admin, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    """`make test-long`: the same machine, more and longer runs."""
    machine = build_machine(asyncio.get_running_loop(), inventory, admin, inventory_host, check_invariants)
    machine.TestCase.settings = settings(
        max_examples=100,
        stateful_step_count=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    await asyncio.to_thread(machine.TestCase().runTest)
