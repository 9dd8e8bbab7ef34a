"""The channel registry and listings through gRPC: rules, idempotency, validation and who sees what."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.testing.services import field_violations, metadata

pytestmark = pytest.mark.asyncio


def create_request(world, **overrides) -> cpb.CreateChannelRequest:  # type: ignore[no-untyped-def]
    values = {
        "code": world.name("tmall"),
        "name": "Tmall flagship",
        "type": cpb.CHANNEL_TYPE_MARKETPLACE,
        "fee_rate_bps": 500,
        "allocation": cpb.AllocationPolicy(max_share_bps=3000, buffer_units=2),
        "request_id": world.name("req"),
    }
    values.update(overrides)
    return cpb.CreateChannelRequest(**values)


async def test_created_channel_is_active_at_version_one_and_can_be_read_back(world, admin) -> None:  # type: ignore[no-untyped-def]
    request = create_request(world)
    created = (await world.channels.CreateChannel(request, metadata=admin)).channel
    assert created.id and created.code == request.code and created.status == cpb.CHANNEL_STATUS_ACTIVE
    assert (created.version, created.currency, created.fee_rate_bps) == (1, "CNY", 500)
    assert created.allocation.max_share_bps == 3000 and created.allocation.buffer_units == 2
    got = (await world.channels.GetChannel(cpb.GetChannelRequest(channel_id=created.id), metadata=admin)).channel
    assert got == created


async def test_create_is_idempotent_on_request_id_and_a_duplicate_code_already_exists(world, admin) -> None:  # type: ignore[no-untyped-def]
    request = create_request(world)
    replies = await asyncio.gather(*(world.channels.CreateChannel(request, metadata=admin) for _ in range(4)))
    assert len({r.channel.id for r in replies}) == 1
    again = create_request(world, code=request.code)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.CreateChannel(again, metadata=admin)
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_invalid_channel_rules_are_refused_naming_every_field(world, admin) -> None:  # type: ignore[no-untyped-def]
    request = create_request(
        world,
        code="",
        type=cpb.CHANNEL_TYPE_DEALER,
        fee_rate_bps=10001,
        currency="yuan",
        allocation=cpb.AllocationPolicy(
            max_share_bps=20000, buffer_units=-1, location_types=[99], location_ids=["bad id"]
        ),
    )
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.CreateChannel(request, metadata=admin)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(exc.value)) == {
        "code",
        "owner_dealer_id",
        "fee_rate_bps",
        "currency",
        "allocation.max_share_bps",
        "allocation.buffer_units",
        "allocation.location_types[0]",
        "allocation.location_ids[0]",
    }
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.CreateChannel(create_request(world, owner_dealer_id="D-1"), metadata=admin)
    assert field_violations(exc.value) == ["owner_dealer_id"]  # only DEALER channels belong to a dealer


async def test_update_changes_only_masked_fields_and_bumps_the_version(world, admin) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel("web", type_=cpb.CHANNEL_TYPE_ONLINE_STORE, fee_rate_bps=100)
    reply = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, name="Web shop", fee_rate_bps=999), update_mask={"paths": ["name"]}
        ),
        metadata=admin,
    )
    assert (reply.channel.name, reply.channel.fee_rate_bps, reply.channel.version) == ("Web shop", 100, 2)
    same = await world.channels.UpdateChannel(
        cpb.UpdateChannelRequest(channel=cpb.Channel(id=channel.id, name="Web shop"), update_mask={"paths": ["name"]}),
        metadata=admin,
    )
    assert same.channel.version == 2  # nothing changed: no new version
    retried = await world.channels.UpdateChannel(  # the first update's retry, its answer lost: not ABORTED
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel.id, name="Web shop", version=1), update_mask={"paths": ["name"]}
        ),
        metadata=admin,
    )
    assert retried.channel == reply.channel

    with pytest.raises(grpc.aio.AioRpcError) as exc:  # optimistic concurrency on version
        await world.channels.UpdateChannel(
            cpb.UpdateChannelRequest(
                channel=cpb.Channel(id=channel.id, name="X", version=1), update_mask={"paths": ["name"]}
            ),
            metadata=admin,
        )
    assert exc.value.code() == grpc.StatusCode.ABORTED

    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.UpdateChannel(
            cpb.UpdateChannelRequest(
                channel=cpb.Channel(id=channel.id, fee_rate_bps=-1),
                update_mask={"paths": ["code", "colour", "fee_rate_bps", "status"]},
            ),
            metadata=admin,
        )
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(exc.value)) == {
        "update_mask.paths[0]",
        "update_mask.paths[1]",
        "channel.fee_rate_bps",
        "channel.status",
    }

    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.UpdateChannel(
            cpb.UpdateChannelRequest(
                channel=cpb.Channel(id="no-such-channel", name="X"), update_mask={"paths": ["name"]}
            ),
            metadata=admin,
        )
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


async def test_channels_list_by_type_and_owner_page_by_page_in_code_order(world, admin) -> None:  # type: ignore[no-untyped-def]
    dealer = world.name("D")
    made = [(await world.channel("dealer", type_=cpb.CHANNEL_TYPE_DEALER, owner=dealer)) for _ in range(6)]
    seen: list[tuple[str, str]] = []
    token = ""
    while True:
        page = await world.channels.ListChannels(
            cpb.ListChannelsRequest(
                type=cpb.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer, page_size=2, page_token=token
            ),
            metadata=admin,
        )
        seen += [(c.code, c.id) for c in page.channels]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted((c.code, c.id) for c in made)


@pytest.mark.parametrize("code", ["A\u0000B", "A\ud800"], ids=["nul", "lone-surrogate"])
async def test_a_forged_page_token_is_invalid_argument_not_internal(world, admin, code: str) -> None:  # type: ignore[no-untyped-def]
    from onepool_runtime.validation import encode_page_token

    token = encode_page_token({"after": [code, "abc"]})  # JSON-escaped: \u0000, \ud800
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ListChannels(cpb.ListChannelsRequest(page_token=token), metadata=admin)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert field_violations(exc.value) == ["page_token"]


async def test_a_listing_without_a_channel_sku_is_sold_under_the_brands_sku(world, admin) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel("own-code")
    sku = world.name("SKU")
    request = cpb.UpsertListingRequest(
        channel_id=channel.id, sku=sku, price=common_pb2.Money(currency="CNY", amount_minor=990), active=True
    )
    listing = (await world.channels.UpsertListing(request, metadata=admin)).listing
    assert (listing.sku, listing.channel_sku) == (sku, sku)


async def test_listings_map_channel_skus_in_the_channel_currency(world, admin) -> None:  # type: ignore[no-untyped-def]
    channel = await world.channel("jd")
    sku, other = world.name("SKU"), world.name("SKU")
    first = await world.listing(channel.id, sku, channel_sku="JD-1", price=12990)
    assert (first.sku, first.channel_sku, first.price.amount_minor, first.active) == (sku, "JD-1", 12990, True)
    moved = await world.listing(channel.id, sku, channel_sku="JD-1b", price=11990, active=False)
    assert (moved.channel_sku, moved.price.amount_minor, moved.active) == ("JD-1b", 11990, False)
    again = await world.listing(channel.id, sku, channel_sku="JD-1b", price=11990, active=False)
    assert again == moved  # a retry changes nothing: same version and time, no listing event published again

    with pytest.raises(grpc.aio.AioRpcError) as exc:  # one channel SKU names one SKU
        await world.listing(channel.id, other, channel_sku="JD-1b")
    assert exc.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel.id,
                sku=other,
                channel_sku=" padded",
                price=common_pb2.Money(currency="USD", amount_minor=-1),
            ),
            metadata=admin,
        )
    assert set(field_violations(exc.value)) == {"channel_sku", "price.amount_minor"}
    await world.listing(channel.id, other, channel_sku="JD-2", price=100)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel.id,
                sku=other,
                channel_sku="JD-2",
                price=common_pb2.Money(currency="USD", amount_minor=100),
            ),
            metadata=admin,
        )
    assert field_violations(exc.value) == ["price.currency"]

    listed = await world.channels.ListListings(
        cpb.ListListingsRequest(channel_id=channel.id, page_size=1), metadata=admin
    )
    rest = await world.channels.ListListings(
        cpb.ListListingsRequest(channel_id=channel.id, page_token=listed.next_page_token), metadata=admin
    )
    assert sorted(x.sku for x in [*listed.listings, *rest.listings]) == sorted([sku, other])


async def test_a_channel_token_sees_only_its_own_channel(world, admin) -> None:  # type: ignore[no-untyped-def]
    mine, theirs = await world.channel("mine"), await world.channel("theirs")
    sku = world.name("SKU")
    await world.stock(await world.location("WH"), **{sku: 4})
    await world.listing(mine.id, sku)
    token = metadata("channel", channel_id=mine.id)

    got = await world.channels.GetChannel(cpb.GetChannelRequest(channel_id=mine.id), metadata=token)
    assert got.channel.id == mine.id
    listed = await world.channels.ListChannels(cpb.ListChannelsRequest(), metadata=token)
    assert [c.id for c in listed.channels] == [mine.id]
    await world.eventually(
        lambda: world.channels.GetChannelStock(cpb.GetChannelStockRequest(channel_id=mine.id), metadata=token),
        lambda r: [i.sellable for i in r.items] == [4],
    )
    for call in (
        world.channels.GetChannel(cpb.GetChannelRequest(channel_id=theirs.id), metadata=token),
        world.channels.GetChannelStock(cpb.GetChannelStockRequest(channel_id=theirs.id), metadata=token),
        world.channels.ListListings(cpb.ListListingsRequest(channel_id=theirs.id), metadata=token),
        world.channels.ImportOrder(
            cpb.ImportOrderRequest(channel_id=theirs.id, format="generic", payload="{}"), metadata=token
        ),
        world.channels.CreateChannel(create_request(world), metadata=token),
        world.channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=mine.id, sku=sku, channel_sku="X", price=common_pb2.Money(currency="CNY")
            ),
            metadata=token,
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await call
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_dealer_token_sees_only_its_dealer_channel(world, admin) -> None:  # type: ignore[no-untyped-def]
    dealer = world.name("D")
    own = await world.channel(
        "dealer", type_=cpb.CHANNEL_TYPE_DEALER, owner=dealer, location_types=(ipb.LOCATION_TYPE_DEALER_STORE,)
    )
    other = await world.channel("other")
    token = metadata("dealer", dealer_id=dealer)
    got = await world.channels.GetChannel(cpb.GetChannelRequest(channel_id=own.id), metadata=token)
    assert got.channel.owner_dealer_id == dealer
    listed = await world.channels.ListChannels(cpb.ListChannelsRequest(), metadata=token)
    assert [c.id for c in listed.channels] == [own.id]
    for call in (
        world.channels.GetChannel(cpb.GetChannelRequest(channel_id=other.id), metadata=token),
        world.channels.ListChannels(cpb.ListChannelsRequest(owner_dealer_id="someone-else"), metadata=token),
        world.channels.ImportOrder(
            cpb.ImportOrderRequest(channel_id=own.id, format="generic", payload="{}"), metadata=token
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await call
        assert exc.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_calls_without_a_token_are_unauthenticated(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await world.channels.ListChannels(cpb.ListChannelsRequest())
    assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
