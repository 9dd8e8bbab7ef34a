"""An expected receipt's date is what waiting buyers are promised, so a date already gone is refused
(INVALID_ARGUMENT naming the field) when a receipt is recorded, rescheduled or its rest is given a new date,
beyond a few minutes' clock skew; a retry answered from the idempotency store, or a late receipt "moved" to the
date it already has, is not refused once that date has passed. Through gRPC on real PostgreSQL and NATS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.service_layer import handlers
from onepool_runtime.testing.services import field_violations

from .test_presale import DAY, Presale, ts, when

pytestmark = pytest.mark.asyncio


async def refused(call, request, admin) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=admin)
    return caught.value


def tomorrow_on_our_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's clock a day ahead: what was a date to come is now a day gone."""
    monkeypatch.setattr(handlers, "now", lambda: datetime.now(UTC) + DAY)


async def test_a_receipt_expected_yesterday_is_refused_and_promises_nobody_anything(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=5)
    request = pb.ExpectReceiptRequest(
        request_id=setup.name("po"),
        location_id=shop.wh,
        lines=[pb.StockLine(sku=shop.sku, quantity=5)],
        expected_at=ts(datetime.now(UTC) - DAY),
    )
    bad = await refused(inventory.ExpectReceipt, request, admin)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["expected_at"]
    item = await shop.item()
    assert (item.expected, item.presale_sellable) == (0, 0)

    # A sender whose clock runs a minute behind ours is not refused.
    skewed = await shop.expect(5, datetime.now(UTC) - timedelta(minutes=1))
    assert skewed.status == pb.EXPECTED_RECEIPT_STATUS_OPEN
    await check_invariants()


async def test_a_retry_once_the_date_has_passed_gets_its_first_answer(
    inventory, admin, setup, inventory_host, monkeypatch, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=5)
    request = pb.ExpectReceiptRequest(
        request_id=setup.name("po"),
        location_id=shop.wh,
        lines=[pb.StockLine(sku=shop.sku, quantity=5)],
        expected_at=ts(datetime.now(UTC) + timedelta(hours=1)),
    )
    first = (await inventory.ExpectReceipt(request, metadata=admin)).receipt

    tomorrow_on_our_clock(monkeypatch)
    again = (await inventory.ExpectReceipt(request, metadata=admin)).receipt
    assert again == first
    fresh = pb.ExpectReceiptRequest()
    fresh.CopyFrom(request)
    fresh.request_id = setup.name("po")
    bad = await refused(inventory.ExpectReceipt, fresh, admin)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["expected_at"]
    await check_invariants()


async def test_a_receipt_is_not_rescheduled_into_the_past(
    inventory, admin, setup, inventory_host, monkeypatch, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=5)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    receipt = await shop.expect(5, due)
    waiting = await shop.order(2)
    assert when(waiting.promised_at) == due
    # Paid for, so it does not expire when the clock jumps a day below.
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=waiting.id), metadata=admin)

    def reschedule(at: datetime) -> pb.RescheduleExpectedReceiptRequest:
        return pb.RescheduleExpectedReceiptRequest(receipt_id=receipt.id, expected_at=ts(at))

    bad = await refused(inventory.RescheduleExpectedReceipt, reschedule(datetime.now(UTC) - DAY), admin)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["expected_at"]
    assert when((await shop.get(waiting.id)).promised_at) == due

    # A day later the receipt is late: "moving" it to the date it has is a retry, not refused; another date
    # gone is; the date it now comes is taken and moves the promise.
    tomorrow_on_our_clock(monkeypatch)
    get = pb.GetExpectedReceiptRequest(receipt_id=receipt.id)
    before = (await inventory.GetExpectedReceipt(get, metadata=admin)).receipt
    same = await inventory.RescheduleExpectedReceipt(reschedule(due), metadata=admin)
    assert same.receipt.version == before.version
    bad = await refused(inventory.RescheduleExpectedReceipt, reschedule(due + timedelta(hours=2)), admin)
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["expected_at"]
    coming = due + 3 * DAY
    moved = await inventory.RescheduleExpectedReceipt(reschedule(coming), metadata=admin)
    assert when(moved.receipt.expected_at) == coming
    assert when((await shop.get(waiting.id)).promised_at) == coming
    await check_invariants()


async def test_the_rest_of_a_delivery_is_not_expected_in_the_past(
    inventory, admin, setup, inventory_host, monkeypatch, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    shop = await Presale(inventory, admin, setup, inventory_host.infra.js).start(presale=5)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    receipt = await shop.expect(5, due)

    bad = await refused(
        inventory.ReceiveStock,
        pb.ReceiveStockRequest(
            request_id=setup.name("rcv"), location_id=shop.wh, lines=[pb.StockLine(sku=shop.sku, quantity=2)],
            receipt_id=receipt.id, rest_expected_at=ts(datetime.now(UTC) - DAY),
        ),
        admin,
    )  # fmt: skip
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["rest_expected_at"]
    item = await shop.item()
    assert (item.on_hand, item.expected) == (0, 5)  # nothing of the refused delivery stayed

    # Late: a part arrives and the rest keeps the date it has (gone), which is no new date.
    tomorrow_on_our_clock(monkeypatch)
    reply = await shop.receive(receipt.id, 2, rest_expected_at=ts(due))
    assert (when(reply.receipt.expected_at), [ln.remaining for ln in reply.receipt.lines]) == (due, [3])
    await check_invariants()
