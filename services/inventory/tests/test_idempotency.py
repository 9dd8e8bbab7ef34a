"""Replaying a mutating request with the same request_id changes nothing and returns the first answer."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime.testing.services import field_violations

pytestmark = pytest.mark.asyncio


async def _movements(inventory, admin, location_id: str) -> list:  # type: ignore[no-untyped-def]
    reply = await inventory.ListMovements(
        pb.ListMovementsRequest(location_id=location_id, page_size=500), metadata=admin
    )
    return list(reply.movements)


async def test_every_mutating_request_replays_its_first_answer(inventory, admin, setup, check_invariants) -> None:  # type: ignore[no-untyped-def]
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2)
    sku = setup.name("SKU")
    receive = pb.ReceiveStockRequest(
        request_id=setup.name("r"), location_id=wh, lines=[pb.StockLine(sku=sku, quantity=10)]
    )
    adjust = pb.AdjustStockRequest(request_id=setup.name("a"), location_id=wh, sku=sku, delta=-1, reason="damaged")
    reserve = pb.ReserveRequest(
        request_id=setup.name("res"), order_id="o-1", lines=[pb.ReserveLine(sku=sku, quantity=3)]
    )
    transfer = pb.TransferStockRequest(
        request_id=setup.name("t"), from_location_id=wh, to_location_id=shop, lines=[pb.StockLine(sku=sku, quantity=2)]
    )

    first = [
        await inventory.ReceiveStock(receive, metadata=admin),
        await inventory.AdjustStock(adjust, metadata=admin),
        await inventory.Reserve(reserve, metadata=admin),
        await inventory.TransferStock(transfer, metadata=admin),
    ]
    reservation_id = first[2].reservation.id
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=reservation_id), metadata=admin)
    fulfill = pb.FulfillReservationRequest(
        request_id=setup.name("f"),
        reservation_id=reservation_id,
        location_id=wh,
        lines=[pb.StockLine(sku=sku, quantity=1)],
    )
    first.append(await inventory.FulfillReservation(fulfill, metadata=admin))
    ledger_before = await _movements(inventory, admin, wh)
    availability_before = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)

    again = [
        await inventory.ReceiveStock(receive, metadata=admin),
        await inventory.AdjustStock(adjust, metadata=admin),
        await inventory.Reserve(reserve, metadata=admin),
        await inventory.TransferStock(transfer, metadata=admin),
        await inventory.FulfillReservation(fulfill, metadata=admin),
    ]
    for a, b in zip(first, again, strict=True):
        assert a.SerializeToString() == b.SerializeToString()
    assert await _movements(inventory, admin, wh) == ledger_before
    assert await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin) == availability_before
    await check_invariants()


async def test_concurrent_duplicates_reserve_once(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    request = pb.ReserveRequest(request_id=setup.name("dup"), lines=[pb.ReserveLine(sku=sku, quantity=2)])
    replies = await asyncio.gather(*(inventory.Reserve(request, metadata=admin) for _ in range(20)))
    assert len({r.reservation.id for r in replies}) == 1
    [item] = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items
    assert item.reserved == 2


async def test_request_id_reused_for_a_different_request_is_refused(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    request_id = setup.name("reuse")
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id=request_id, location_id=wh, lines=[pb.StockLine(sku=sku, quantity=1)]),
        metadata=admin,
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.ReceiveStock(
            pb.ReceiveStockRequest(request_id=request_id, location_id=wh, lines=[pb.StockLine(sku=sku, quantity=9)]),
            metadata=admin,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["request_id"]
    [item] = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items
    assert item.on_hand == 1


async def test_a_refused_reservation_is_evaluated_afresh_on_retry(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    request = pb.ReserveRequest(request_id=setup.name("later"), lines=[pb.ReserveLine(sku=sku, quantity=2)])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.Reserve(request, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await setup.stock(wh, **{sku: 2})
    reply = await inventory.Reserve(request, metadata=admin)
    assert reply.reservation.allocations[0].quantity == 2


async def test_commit_and_release_are_idempotent_by_state(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 4})
    reservation = await setup.reserve((sku, 4))
    commit = pb.CommitReservationRequest(reservation_id=reservation.id)
    one = await inventory.CommitReservation(commit, metadata=admin)
    two = await inventory.CommitReservation(commit, metadata=admin)
    assert one == two
    release = pb.ReleaseReservationRequest(reservation_id=reservation.id, reason="cancelled")
    r1 = await inventory.ReleaseReservation(release, metadata=admin)
    r2 = await inventory.ReleaseReservation(release, metadata=admin)
    assert r1 == r2 and r1.reservation.status == pb.RESERVATION_STATUS_RELEASED
    [item] = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items
    assert (item.reserved, item.available) == (0, 4)
