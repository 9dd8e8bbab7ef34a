"""Sourcing through the real Reserve API: where the units are reserved."""

from __future__ import annotations

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb

pytestmark = pytest.mark.asyncio


def placed(reservation) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, int]] = {}
    for a in reservation.allocations:
        out.setdefault(a.location_id, {})[a.sku] = a.quantity
    return out


async def test_single_location_is_preferred_over_a_split(setup) -> None:  # type: ignore[no-untyped-def]
    near, far = await setup.location("NEAR", region="SH", priority=9), await setup.location("FAR", region="BJ")
    a, b = setup.name("A"), setup.name("B")
    await setup.stock(near, **{a: 5})
    await setup.stock(far, **{a: 5, b: 5})
    reservation = await setup.reserve((a, 2), (b, 1), hint=pb.SourcingHint(region="SH", allow_split=True))
    assert placed(reservation) == {far: {a: 2, b: 1}}


async def test_customer_region_is_preferred(setup) -> None:  # type: ignore[no-untyped-def]
    bj, sh = await setup.location("BJ", region="CN-BJ", priority=50), await setup.location("SH", region="CN-SH")
    a = setup.name("A")
    await setup.stock(bj, **{a: 5})
    await setup.stock(sh, **{a: 5})
    assert placed(await setup.reserve((a, 1), hint=pb.SourcingHint(region="CN-SH"))) == {sh: {a: 1}}
    assert placed(await setup.reserve((a, 1), hint=pb.SourcingHint(region="CN-GZ"))) == {bj: {a: 1}}


async def test_pickup_reserves_at_the_store_only(setup) -> None:  # type: ignore[no-untyped-def]
    wh = await setup.location("WH")
    store = await setup.location("STORE", type_=pb.LOCATION_TYPE_STORE, ships=False, pickup=True)
    a = setup.name("A")
    await setup.stock(wh, **{a: 100})
    await setup.stock(store, **{a: 1})
    hint = pb.SourcingHint(mode=pb.SOURCING_MODE_PICKUP, pickup_location_id=store)
    assert placed(await setup.reserve((a, 1), hint=hint)) == {store: {a: 1}}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((a, 1), hint=hint)  # the warehouse's 100 do not help a pickup here
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_split_when_allowed_and_refused_when_not(setup) -> None:  # type: ignore[no-untyped-def]
    w1, w2 = await setup.location("W1", priority=2), await setup.location("W2", priority=1)
    a = setup.name("A")
    await setup.stock(w1, **{a: 3})
    await setup.stock(w2, **{a: 3})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await setup.reserve((a, 5), hint=pb.SourcingHint(allow_split=False))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "allow_split" in caught.value.details()
    assert placed(await setup.reserve((a, 5), hint=pb.SourcingHint(allow_split=True))) == {w1: {a: 3}, w2: {a: 2}}


async def test_endless_aisle_a_shop_sells_what_only_a_warehouse_holds(setup) -> None:  # type: ignore[no-untyped-def]
    await setup.location("SHOP", type_=pb.LOCATION_TYPE_STORE, ships=False, pickup=True)
    wh = await setup.location("WH", region="CN-SH")
    a = setup.name("A")
    await setup.stock(wh, **{a: 2})
    assert placed(await setup.reserve((a, 1), hint=pb.SourcingHint(region="CN-SH"))) == {wh: {a: 1}}
