"""The dealers service over gRPC, with fake peers: registration saga, credit under concurrency, shipping
saga, idempotency, validation and scoping."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_runtime.testing.services import error_info, field_violations, metadata
from sqlalchemy import text

from .conftest import cny

pytestmark = pytest.mark.asyncio


async def _fails(call, request, md, code: grpc.StatusCode) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def _outbox(dealers_db, subject: str) -> int:  # type: ignore[no-untyped-def]
    async with dealers_db.connect() as conn:
        return int(
            (await conn.execute(text("SELECT count(*) FROM outbox WHERE subject = :s"), {"s": subject})).scalar()
        )


# --- registration saga --------------------------------------------------------------------------------------


async def test_registering_creates_the_dealer_channel_once_even_when_replayed(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_channels
) -> None:
    request = pb.RegisterDealerRequest(
        request_id=setup.name("reg"), name="East Dealer", tier=pb.DEALER_TIER_GOLD, credit_limit=cny(50_000)
    )
    first = (await dealers.RegisterDealer(request, metadata=admin)).dealer
    assert first.channel_id == f"CH-{first.id}" and first.status == pb.DEALER_STATUS_ACTIVE
    calls = fake_channels.create_calls
    again = (await dealers.RegisterDealer(request, metadata=admin)).dealer
    assert again == first
    assert fake_channels.create_calls == calls  # nothing left to do: channels not called again

    request.name = "Someone else"
    error = await _fails(dealers.RegisterDealer, request, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == ["request_id"]


async def test_a_dealer_whose_channel_could_not_be_created_is_finished_later(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_channels, sagas, dealers_db
) -> None:
    request = pb.RegisterDealerRequest(
        request_id=setup.name("reg"), name="Late", tier=pb.DEALER_TIER_SILVER, credit_limit=cny(1000)
    )
    registered_before = await _outbox(dealers_db, "dealers.dealer.registered")
    fake_channels.down = True
    try:
        await _fails(dealers.RegisterDealer, request, admin, grpc.StatusCode.UNAVAILABLE)
        listed = await dealers.ListDealers(pb.ListDealersRequest(page_size=500), metadata=admin)
        [pending] = [d for d in listed.dealers if d.name == "Late" and not d.channel_id]
        await sagas.recover_once()  # still down: nothing changes, nothing breaks
    finally:
        fake_channels.down = False
    await sagas.recover_once()
    done = (await dealers.GetDealer(pb.GetDealerRequest(dealer_id=pending.id), metadata=admin)).dealer
    assert done.channel_id == f"CH-{pending.id}"
    # The caller's retry with the same request_id gets the finished dealer.
    assert (await dealers.RegisterDealer(request, metadata=admin)).dealer == done
    assert await _outbox(dealers_db, "dealers.dealer.registered") == registered_before + 1


async def test_locations_and_suspension_reach_the_dealer_channel(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_channels, fake_inventory
) -> None:
    dealer = await setup.dealer()
    store = await setup.store(dealer.id)
    assert fake_inventory.locations[store].owner_dealer_id == dealer.id
    assert fake_channels.channels[dealer.channel_id]["locations"] == [store]
    again = await setup.dealers.AddDealerLocation(  # repeating is harmless
        pb.AddDealerLocationRequest(
            dealer_id=dealer.id, location=inv.Location(id=store, name="Shop", type=inv.LOCATION_TYPE_DEALER_STORE)
        ),
        metadata=admin,
    )
    assert again.location.owner_dealer_id == dealer.id
    got = (await dealers.GetDealer(pb.GetDealerRequest(dealer_id=dealer.id), metadata=admin)).dealer
    assert list(got.location_ids) == [store]

    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id=dealer.id, status=pb.DEALER_STATUS_SUSPENDED))
    update.update_mask.paths.append("status")
    suspended = (await dealers.UpdateDealer(update, metadata=admin)).dealer
    assert suspended.status == pb.DEALER_STATUS_SUSPENDED and suspended.name == "Dealer"
    assert fake_channels.channels[dealer.channel_id]["paused"] is True

    other = await setup.dealer()
    error = await _fails(  # another dealer's location cannot be taken over
        dealers.AddDealerLocation,
        pb.AddDealerLocationRequest(
            dealer_id=other.id, location=inv.Location(id=store, name="Mine", type=inv.LOCATION_TYPE_DEALER_STORE)
        ),
        admin,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "OWNER_IMMUTABLE"


async def test_a_rename_reaches_the_dealer_channel(dealers, admin, setup, fake_channels) -> None:  # type: ignore[no-untyped-def]
    dealer = await setup.dealer()
    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id=dealer.id, name="Dealer Renamed"))
    update.update_mask.paths.append("name")
    renamed = (await dealers.UpdateDealer(update, metadata=admin)).dealer
    assert renamed.name == "Dealer Renamed"
    assert fake_channels.channels[dealer.channel_id].get("name") == "Dealer Renamed"


# --- replenishments -----------------------------------------------------------------------------------------


async def test_concurrent_placements_never_spend_the_same_credit_twice(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-C": 100})
    # STANDARD pays 90% of 1000 = 900 per unit; 3 units = 2700; 10 000 fits three of them, not four.
    requests = [setup.place_request(dealer.id, warehouse, store, **{"SKU-C": 3}) for _ in range(8)]
    results = await asyncio.gather(
        *(dealers.PlaceReplenishment(r, metadata=admin) for r in requests), return_exceptions=True
    )
    placed = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(placed) == 3 and len(refused) == 5
    assert all(r.code() == grpc.StatusCode.FAILED_PRECONDITION for r in refused)
    assert {error_info(r).reason for r in refused} == {"CREDIT_LIMIT"}
    assert {error_info(r).metadata["available"] for r in refused} == {"1900"}
    overview = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=admin)
    assert (overview.open_replenishments.amount_minor, overview.credit_available.amount_minor) == (8100, 1900)


async def test_replaying_a_placement_returns_the_same_replenishment(dealers, admin, setup, dealers_db) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(**{"SKU-R": 10})
    request = setup.place_request(dealer.id, warehouse, store, **{"SKU-R": 2})
    placed_before = await _outbox(dealers_db, "dealers.replenishment.placed")
    first, again = await asyncio.gather(
        dealers.PlaceReplenishment(request, metadata=admin), dealers.PlaceReplenishment(request, metadata=admin)
    )
    assert first == again
    assert await _outbox(dealers_db, "dealers.replenishment.placed") == placed_before + 1
    listed = await dealers.ListReplenishments(pb.ListReplenishmentsRequest(dealer_id=dealer.id), metadata=admin)
    assert [r.id for r in listed.replenishments] == [first.replenishment.id]


async def test_replenishments_are_listed_newest_first_page_by_page(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    """The dealer portal shows the first page: the newest replenishments, where the ones to act on are."""
    dealer, store, warehouse = await setup.ready(**{"SKU-N": 10})
    placed = []
    for _ in range(3):
        request = setup.place_request(dealer.id, warehouse, store, **{"SKU-N": 1})
        placed.append((await dealers.PlaceReplenishment(request, metadata=admin)).replenishment.id)
    seen, token = [], ""
    while True:
        page = await dealers.ListReplenishments(
            pb.ListReplenishmentsRequest(dealer_id=dealer.id, page_size=2, page_token=token), metadata=admin
        )
        seen += [r.id for r in page.replenishments]
        token = page.next_page_token
        if not token:
            break
    assert seen == placed[::-1]


async def test_unpriced_skus_and_foreign_locations_are_refused(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(**{"SKU-P": 10})
    error = await _fails(
        dealers.PlaceReplenishment,
        setup.place_request(dealer.id, warehouse, store, **{"SKU-P": 1, "SKU-UNPRICED": 1}),
        admin,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert (error_info(error).reason, error_info(error).metadata["sku"]) == ("PRICE_MISSING", "SKU-UNPRICED")
    _, other_store, _ = await setup.ready()
    error = await _fails(
        dealers.PlaceReplenishment,
        setup.place_request(dealer.id, warehouse, other_store, **{"SKU-P": 1}),
        admin,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "NOT_DEALER_LOCATION"
    error = await _fails(  # from a dealer location instead of a brand warehouse
        dealers.PlaceReplenishment,
        setup.place_request(dealer.id, other_store, store, **{"SKU-P": 1}),
        admin,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "NOT_BRAND_WAREHOUSE"


async def test_ship_receive_and_illegal_moves(dealers, admin, setup, fake_inventory, dealers_db) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-S": 5})
    placed = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-S": 5}), metadata=admin
        )
    ).replenishment
    rid = placed.id
    await _fails(
        dealers.ReceiveReplenishment, pb.ReceiveReplenishmentRequest(id=rid), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert shipped.status == pb.REPLENISHMENT_STATUS_SHIPPED and shipped.transfer_id
    assert fake_inventory.stock[("SKU-S", warehouse)] == 0
    assert (
        await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    ).replenishment == shipped
    error = await _fails(
        dealers.RejectReplenishment, pb.RejectReplenishmentRequest(id=rid), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "ILLEGAL_TRANSITION"
    received_before = await _outbox(dealers_db, "dealers.replenishment.received")
    received = (
        await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    ).replenishment
    assert received.status == pb.REPLENISHMENT_STATUS_RECEIVED
    assert fake_inventory.stock[("SKU-S", store)] == 5
    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)  # a repeat: no-op
    assert await _outbox(dealers_db, "dealers.replenishment.received") == received_before + 1
    overview = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=admin)
    assert overview.balance.amount_minor == 4500 and overview.open_replenishments.amount_minor == 0
    assert overview.credit_available.amount_minor == 100_000 - 4500
    await _fails(
        dealers.ShipReplenishment, pb.ShipReplenishmentRequest(id=rid), admin, grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_a_refused_shipment_stays_placed_and_an_unanswered_one_is_retried(  # type: ignore[no-untyped-def]
    dealers, admin, setup, fake_inventory, sagas
) -> None:
    dealer, store, warehouse = await setup.ready(limit=100_000, **{"SKU-F": 1})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-F": 3}), metadata=admin
        )
    ).replenishment.id
    error = await _fails(
        dealers.ShipReplenishment, pb.ShipReplenishmentRequest(id=rid), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "INSUFFICIENT_STOCK"
    got = (await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert got.status == pb.REPLENISHMENT_STATUS_PLACED and "insufficient" in got.status_reason

    fake_inventory.stock[("SKU-F", warehouse)] = 3
    fake_inventory.down = True
    try:
        await _fails(dealers.ShipReplenishment, pb.ShipReplenishmentRequest(id=rid), admin, grpc.StatusCode.UNAVAILABLE)
        # The transfer may have happened: the replenishment cannot be rejected until that is known.
        error = await _fails(
            dealers.RejectReplenishment,
            pb.RejectReplenishmentRequest(id=rid),
            admin,
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        assert error_info(error).reason == "SHIPMENT_IN_PROGRESS"
    finally:
        fake_inventory.down = False
    await sagas.recover_once()
    got = (await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert got.status == pb.REPLENISHMENT_STATUS_SHIPPED and got.status_reason == ""


async def test_rejecting_a_placed_replenishment_gives_the_credit_back(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(limit=1000, **{"SKU-J": 5})
    request = setup.place_request(dealer.id, warehouse, store, **{"SKU-J": 1})
    rid = (await dealers.PlaceReplenishment(request, metadata=admin)).replenishment.id
    mine = metadata("dealer", dealer_id=dealer.id)
    rejected = (
        await dealers.RejectReplenishment(pb.RejectReplenishmentRequest(id=rid, reason="too many"), metadata=mine)
    ).replenishment
    assert (rejected.status, rejected.status_reason) == (pb.REPLENISHMENT_STATUS_REJECTED, "too many")
    again = setup.place_request(dealer.id, warehouse, store, **{"SKU-J": 1})
    assert (await dealers.PlaceReplenishment(again, metadata=mine)).replenishment.total.amount_minor == 900


async def test_a_suspended_dealer_cannot_place(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    dealer, store, warehouse = await setup.ready(**{"SKU-X": 5})
    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id=dealer.id, status=pb.DEALER_STATUS_SUSPENDED))
    update.update_mask.paths.append("status")
    await dealers.UpdateDealer(update, metadata=admin)
    error = await _fails(
        dealers.PlaceReplenishment,
        setup.place_request(dealer.id, warehouse, store, **{"SKU-X": 1}),
        admin,
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error_info(error).reason == "DEALER_SUSPENDED"


async def test_tier_prices_are_returned_with_the_list_price(dealers, admin) -> None:  # type: ignore[no-untyped-def]
    reply = await dealers.SetWholesalePrice(
        pb.SetWholesalePriceRequest(sku="SKU-T", list_price=cny(1999)), metadata=admin
    )
    assert {(p.tier, p.factor_bps, p.unit_price.amount_minor) for p in reply.tier_prices} == {
        (pb.DEALER_TIER_STANDARD, 9000, 1799),
        (pb.DEALER_TIER_SILVER, 8500, 1699),
        (pb.DEALER_TIER_GOLD, 8000, 1599),
    }


async def test_dealers_page_through_everything_once_in_name_order(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    region = setup.name("R")
    made = []
    for name in ("Zhang's", "Li's", "Wang's", "Li's", "An's", "Zhou's", "Chen's"):  # two share a name: the id decides
        reply = await dealers.RegisterDealer(
            pb.RegisterDealerRequest(
                request_id=setup.name("reg"), name=name, tier=1, credit_limit=cny(1), region=region
            ),
            metadata=admin,
        )
        made.append((reply.dealer.name, reply.dealer.id))
    seen, token = [], ""
    while True:
        page = await dealers.ListDealers(
            pb.ListDealersRequest(region=region, page_size=2, page_token=token), metadata=admin
        )
        seen += [(d.name, d.id) for d in page.dealers]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(made)


# --- validation and scoping ---------------------------------------------------------------------------------


async def test_a_dealer_registered_without_a_tier_is_standard(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    request = pb.RegisterDealerRequest(request_id=setup.name("reg"), name="No tier said", credit_limit=cny(100))
    dealer = (await dealers.RegisterDealer(request, metadata=admin)).dealer
    assert dealer.tier == pb.DEALER_TIER_STANDARD


async def test_a_wholesale_price_of_zero_is_refused(dealers, admin) -> None:  # type: ignore[no-untyped-def]
    """A zero list price would make the SKU free to replenish at every tier, and cost no credit."""
    error = await _fails(
        dealers.SetWholesalePrice,
        pb.SetWholesalePriceRequest(sku="SKU-FREE", list_price=cny(0)),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"list_price"}


async def test_bad_input_names_every_offending_field(dealers, admin) -> None:  # type: ignore[no-untyped-def]
    error = await _fails(
        dealers.RegisterDealer,
        pb.RegisterDealerRequest(name=" ", tier=99, credit_limit=pb.RegisterDealerRequest().credit_limit),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"request_id", "name", "tier", "credit_limit.currency"}
    error = await _fails(
        dealers.PlaceReplenishment,
        pb.PlaceReplenishmentRequest(
            request_id="r",
            dealer_id="bad id!",
            from_location_id="WH",
            to_location_id="WH",
            lines=[pb.ReplenishmentLine(sku="A", quantity=0), pb.ReplenishmentLine(sku="A", quantity=1)],
        ),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"dealer_id", "to_location_id", "lines[0].quantity", "lines[1].sku"}
    error = await _fails(
        dealers.AddDealerLocation,
        pb.AddDealerLocationRequest(
            dealer_id="D", location=inv.Location(id="L", name="x", type=inv.LOCATION_TYPE_WAREHOUSE)
        ),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert field_violations(error) == ["location.type"]
    update = pb.UpdateDealerRequest(dealer=pb.Dealer(id="D"))
    update.update_mask.paths.append("channel_id")
    error = await _fails(dealers.UpdateDealer, update, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == ["update_mask.paths[0]"]
    error = await _fails(
        dealers.SetWholesalePrice,
        pb.SetWholesalePriceRequest(sku="", list_price=cny(-1)),
        admin,
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert set(field_violations(error)) == {"sku", "list_price.amount_minor"}
    await _fails(dealers.GetDealer, pb.GetDealerRequest(dealer_id="nobody"), admin, grpc.StatusCode.NOT_FOUND)
    backwards = pb.GetDealerOverviewRequest(dealer_id="D")
    backwards.period_start.seconds, backwards.period_end.seconds = 2000, 1000
    error = await _fails(dealers.GetDealerOverview, backwards, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == ["period_end"]
    backwards.period_start.seconds = 10**15  # beyond year 9999
    error = await _fails(dealers.GetDealerOverview, backwards, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == ["period_start"]


async def test_a_dealer_sees_and_changes_only_its_own_dealer(dealers, admin, setup) -> None:  # type: ignore[no-untyped-def]
    mine, my_store, warehouse = await setup.ready(**{"SKU-A": 5})
    theirs, their_store, _ = await setup.ready()
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(theirs.id, warehouse, their_store, **{"SKU-A": 1}), metadata=admin
        )
    ).replenishment.id
    md = metadata("dealer", dealer_id=mine.id)
    denied = grpc.StatusCode.PERMISSION_DENIED
    await _fails(dealers.GetDealer, pb.GetDealerRequest(dealer_id=theirs.id), md, denied)
    await _fails(dealers.GetDealerOverview, pb.GetDealerOverviewRequest(dealer_id=theirs.id), md, denied)
    await _fails(
        dealers.PlaceReplenishment, setup.place_request(theirs.id, warehouse, their_store, **{"SKU-A": 1}), md, denied
    )
    # Into their store for itself: not its location, answered as for any id that is not (nothing to probe with).
    for not_mine in (their_store, "NOWHERE-1"):
        into = setup.place_request(mine.id, warehouse, not_mine, **{"SKU-A": 1})
        error = await _fails(dealers.PlaceReplenishment, into, md, grpc.StatusCode.FAILED_PRECONDITION)
        assert error_info(error).reason == "NOT_DEALER_LOCATION"
    await _fails(dealers.GetReplenishment, pb.GetReplenishmentRequest(id=rid), md, denied)
    await _fails(dealers.ReceiveReplenishment, pb.ReceiveReplenishmentRequest(id=rid), md, denied)
    await _fails(dealers.RejectReplenishment, pb.RejectReplenishmentRequest(id=rid), md, denied)
    await _fails(dealers.ListReplenishments, pb.ListReplenishmentsRequest(dealer_id=theirs.id), md, denied)
    for brand_only in (
        (dealers.ShipReplenishment, pb.ShipReplenishmentRequest(id=rid)),
        (dealers.SetWholesalePrice, pb.SetWholesalePriceRequest(sku="SKU-A", list_price=cny(1))),
        (dealers.UpdateDealer, pb.UpdateDealerRequest(dealer=pb.Dealer(id=mine.id))),
        (dealers.AddDealerLocation, pb.AddDealerLocationRequest(dealer_id=mine.id)),
    ):
        await _fails(*brand_only, md, denied)
    # Its own business is open to it, and lists show only its own.
    listed = await dealers.ListDealers(pb.ListDealersRequest(), metadata=md)
    assert [d.id for d in listed.dealers] == [mine.id]
    assert (await dealers.ListReplenishments(pb.ListReplenishmentsRequest(), metadata=md)).replenishments == []
    placed = await dealers.PlaceReplenishment(
        setup.place_request(mine.id, warehouse, my_store, **{"SKU-A": 1}), metadata=md
    )
    assert placed.replenishment.dealer_id == mine.id
