"""Reservations, fulfillment, expiry, transfers, adjustments and the events they publish."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.inventory.v1 import events_pb2
from onepool.inventory.v1 import inventory_pb2 as pb

pytestmark = pytest.mark.asyncio


async def _level(inventory, admin, sku: str, location_id: str) -> pb.LocationAvailability:  # type: ignore[no-untyped-def]
    [item] = (
        await inventory.GetAvailability(
            pb.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=admin
        )
    ).items
    return item.by_location[0] if item.by_location else pb.LocationAvailability()


async def _status(inventory, admin, reservation_id: str) -> int:  # type: ignore[no-untyped-def]
    reply = await inventory.GetReservation(pb.GetReservationRequest(reservation_id=reservation_id), metadata=admin)
    return reply.reservation.status


async def test_commit_then_fulfill_takes_goods_out_of_on_hand_and_reserved(
    inventory, admin, setup, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    reservation = await setup.reserve((sku, 4))
    await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=reservation.id), metadata=admin)
    partial = await inventory.FulfillReservation(
        pb.FulfillReservationRequest(
            reservation_id=reservation.id,
            location_id=wh,
            request_id=setup.name("f"),
            lines=[pb.StockLine(sku=sku, quantity=1)],
        ),
        metadata=admin,
    )
    assert partial.reservation.status == pb.RESERVATION_STATUS_COMMITTED
    rest = await inventory.FulfillReservation(
        pb.FulfillReservationRequest(reservation_id=reservation.id, location_id=wh), metadata=admin
    )
    assert rest.reservation.status == pb.RESERVATION_STATUS_FULFILLED
    assert rest.reservation.allocations[0].fulfilled_quantity == 4
    retried = await inventory.FulfillReservation(
        pb.FulfillReservationRequest(reservation_id=reservation.id, location_id=wh), metadata=admin
    )
    assert retried == rest  # a retry after everything left changes nothing
    level = await _level(inventory, admin, sku, wh)
    assert (level.on_hand, level.reserved, level.available) == (6, 0, 6)
    moves = (await inventory.ListMovements(pb.ListMovementsRequest(location_id=wh, sku=sku), metadata=admin)).movements
    assert [(m.kind, m.delta, m.on_hand_after) for m in moves] == [
        (pb.MOVEMENT_KIND_RECEIPT, 10, 10),
        (pb.MOVEMENT_KIND_SHIPMENT, -1, 9),
        (pb.MOVEMENT_KIND_SHIPMENT, -3, 6),
    ]
    await check_invariants()


async def test_wrong_state_transitions_are_failed_precondition_and_change_nothing(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    reservation = await setup.reserve((sku, 2))
    # Fulfilling before payment.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.FulfillReservation(
            pb.FulfillReservationRequest(reservation_id=reservation.id, location_id=wh), metadata=admin
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await inventory.ReleaseReservation(pb.ReleaseReservationRequest(reservation_id=reservation.id), metadata=admin)
    # Committing a released reservation.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=reservation.id), metadata=admin)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "RELEASED" in caught.value.details()
    level = await _level(inventory, admin, sku, wh)
    assert (level.on_hand, level.reserved) == (5, 0)


async def test_unknown_ids_are_not_found(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    for call, request in [
        (inventory.GetReservation, pb.GetReservationRequest(reservation_id="nope")),
        (inventory.CommitReservation, pb.CommitReservationRequest(reservation_id="nope")),
        (inventory.ReleaseReservation, pb.ReleaseReservationRequest(reservation_id="nope")),
        (inventory.ReceiveTransfer, pb.ReceiveTransferRequest(transfer_id="nope")),
        (
            inventory.AdjustStock,
            pb.AdjustStockRequest(request_id=setup.name("x"), location_id="NOPE", sku="A", delta=1, reason="count"),
        ),
        (
            inventory.Reserve,
            pb.ReserveRequest(
                request_id=setup.name("x"), channel_id="no-such-channel", lines=[pb.ReserveLine(sku="A", quantity=1)]
            ),
        ),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=admin)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, request


async def test_adjustment_cannot_take_on_hand_below_what_is_reserved(inventory, admin, setup, check_invariants) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 3})
    await setup.reserve((sku, 2))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.AdjustStock(
            pb.AdjustStockRequest(request_id=setup.name("a"), location_id=wh, sku=sku, delta=-2, reason="damaged"),
            metadata=admin,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    reply = await inventory.AdjustStock(
        pb.AdjustStockRequest(request_id=setup.name("a"), location_id=wh, sku=sku, delta=-1, reason="damaged"),
        metadata=admin,
    )
    assert (reply.level.on_hand, reply.level.reserved, reply.level.available) == (2, 2, 0)
    await check_invariants()


async def test_safety_stock_is_held_back_from_reservations(inventory, admin, setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 5})
    await inventory.SetSafetyStock(pb.SetSafetyStockRequest(location_id=wh, sku=sku, quantity=2), metadata=admin)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((sku, 4))
    assert "available 3" in caught.value.details()
    assert (await setup.reserve((sku, 3))).allocations[0].quantity == 3


async def test_unpaid_reservation_expires_and_is_announced(
    inventory, admin, setup, inventory_host, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location()
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 3})
    order_id = setup.name("order")
    sub = await js.subscribe("inventory.reservation.expired", stream="INVENTORY", ordered_consumer=True)
    reservation = await setup.reserve((sku, 3), ttl_seconds=1, order_id=order_id)
    for _ in range(100):
        if await _status(inventory, admin, reservation.id) == pb.RESERVATION_STATUS_EXPIRED:
            break
        await asyncio.sleep(0.1)
    assert await _status(inventory, admin, reservation.id) == pb.RESERVATION_STATUS_EXPIRED
    level = await _level(inventory, admin, sku, wh)
    assert (level.reserved, level.available) == (0, 3)
    while True:
        msg = await sub.next_msg(timeout=5)
        event = events_pb2.ReservationExpired.FromString(msg.data)
        if event.reservation.id == reservation.id:
            break
    assert event.reservation.order_id == order_id
    assert msg.headers["Nats-Msg-Id"] == event.meta.event_id
    await sub.unsubscribe()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.CommitReservation(pb.CommitReservationRequest(reservation_id=reservation.id), metadata=admin)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await check_invariants()


async def test_units_in_transit_are_in_neither_location_until_received(
    inventory, admin, setup, check_invariants
) -> None:  # type: ignore[no-untyped-def]
    wh, shop = await setup.location("WH"), await setup.location("SHOP", type_=2)
    sku = setup.name("SKU")
    await setup.stock(wh, **{sku: 10})
    transfer = (
        await inventory.TransferStock(
            pb.TransferStockRequest(
                request_id=setup.name("t"),
                from_location_id=wh,
                to_location_id=shop,
                lines=[pb.StockLine(sku=sku, quantity=4)],
                reference="replenishment-1",
            ),
            metadata=admin,
        )
    ).transfer
    assert transfer.status == pb.TRANSFER_STATUS_IN_TRANSIT
    [item] = (await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)).items
    assert (item.on_hand, item.available) == (6, 6)
    received = await inventory.ReceiveTransfer(pb.ReceiveTransferRequest(transfer_id=transfer.id), metadata=admin)
    again = await inventory.ReceiveTransfer(pb.ReceiveTransferRequest(transfer_id=transfer.id), metadata=admin)
    assert received.transfer.status == again.transfer.status == pb.TRANSFER_STATUS_RECEIVED
    assert (await _level(inventory, admin, sku, shop)).available == 4
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await inventory.TransferStock(
            pb.TransferStockRequest(
                request_id=setup.name("t"),
                from_location_id=wh,
                to_location_id=shop,
                lines=[pb.StockLine(sku=sku, quantity=7)],
            ),
            metadata=admin,
        )
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    await check_invariants()


async def test_every_stock_change_is_published_with_its_numbers(inventory, admin, setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    wh = await setup.location()
    sku = setup.name("SKU")
    sub = await js.subscribe("inventory.stock.changed", stream="INVENTORY", ordered_consumer=True)
    await setup.stock(wh, **{sku: 7})
    await setup.reserve((sku, 2))
    seen = []
    while len(seen) < 2:
        event = events_pb2.StockChanged.FromString((await sub.next_msg(timeout=5)).data)
        if event.level.sku == sku:
            seen.append((event.level.on_hand, event.level.reserved, event.level.available))
            assert event.location_type == pb.LOCATION_TYPE_WAREHOUSE
    await sub.unsubscribe()
    assert seen == [(7, 0, 7), (7, 2, 5)]


async def test_stock_events_name_the_dealer_that_holds_the_stock(setup, inventory_host) -> None:  # type: ignore[no-untyped-def]
    js = inventory_host.infra.js
    dealer = setup.name("D")
    shop = await setup.location("D-SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=dealer)
    sku = setup.name("SKU")
    sub = await js.subscribe("inventory.stock.changed", stream="INVENTORY", ordered_consumer=True)
    await setup.stock(shop, **{sku: 4})
    while True:
        event = events_pb2.StockChanged.FromString((await sub.next_msg(timeout=5)).data)
        if event.level.sku == sku:
            break
    await sub.unsubscribe()
    assert (event.location_owner_dealer_id, event.location_type) == (dealer, pb.LOCATION_TYPE_DEALER_STORE)
