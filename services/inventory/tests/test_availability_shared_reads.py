"""GetAvailability reads share statements under load (adapters/availability.py, `AvailabilityReader`): a read
that finds its key's statement running joins the next statement of its channel and locations, and gets
exactly what a statement of its own would have returned; a statement is never joined once sent, so every
read sees what was committed before it was called. Against the service's own database, through the handler
GetAvailability runs (`handlers.get_availability`), and through gRPC."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.adapters import availability as adapter
from onepool_inventory.adapters.availability import AvailabilityReader
from onepool_inventory.service_layer import handlers
from onepool_runtime import readpool
from onepool_runtime.errors import NotFound

from .test_channel_rules import new_channel, publish_listing
from .test_channel_view import availability

pytestmark = pytest.mark.asyncio

Ask = tuple[tuple[str, ...], str, tuple[str, ...]]  # (skus, channel, locations)


@pytest.fixture(scope="module")
async def world(inventory, admin, inventory_host) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Levels at two warehouses, units inbound to a store holding none of that SKU, an open expected receipt,
    and a channel with a share, dedicated stock and a sales cap."""
    from .conftest import Setup

    setup = Setup(inventory, admin)
    a, b = await setup.location("SA"), await setup.location("SB")
    store = await setup.location("SS", type_=pb.LOCATION_TYPE_STORE)
    s1, s2, s3, s4 = (f"SH{n}-{uuid.uuid4().hex[:6]}" for n in range(4))
    await setup.stock(a, **{s1: 10, s2: 5})
    await setup.stock(b, **{s2: 7, s3: 3})
    await setup.stock(store, **{s3: 1})  # read with s1, the store holds a level: s1's units inbound go there
    await inventory.TransferStock(
        pb.TransferStockRequest(
            request_id=setup.name("t"),
            from_location_id=a,
            to_location_id=store,
            lines=[pb.StockLine(sku=s1, quantity=4)],
        ),
        metadata=admin,
    )
    at = Timestamp()
    at.FromDatetime(datetime.now(UTC) + timedelta(days=3))
    await inventory.ExpectReceipt(
        pb.ExpectReceiptRequest(
            request_id=setup.name("po"), location_id=b, lines=[pb.StockLine(sku=s4, quantity=6)], expected_at=at
        ),
        metadata=admin,
    )
    js = inventory_host.infra.js
    channel = await new_channel(setup, js, inventory, admin, share=5000)
    await availability(inventory, admin, s1, channel)  # inventory knows the channel
    await inventory.CreateChannelAllocation(
        pb.CreateChannelAllocationRequest(
            request_id=setup.name("al"), channel_id=channel, location_id=b, sku=s2, quantity=2
        ),
        metadata=admin,
    )
    await publish_listing(js, channel, s1, cap=3)
    for _ in range(100):
        if (await availability(inventory, admin, s1, channel)).sales_cap_units == 3:
            break
        await asyncio.sleep(0.05)
    skus = (s1, s2, s3, s4)
    # Without a channel, with one, with some locations, and with a channel inventory has never heard of.
    asks: list[Ask] = [((sku,), "", ()) for sku in skus]
    asks += [((sku,), channel, ()) for sku in skus]
    asks += [((s1, s3), "", ()), ((s2, s1, "NONE-" + s1), channel, ()), ((s1, s2), "", (store, b)), ((s2,), "", (a,))]
    asks += [((s1,), "no-such-channel", ())]
    return {"skus": skus, "asks": asks, "engine": inventory_host.infra.engine, "b": b, "s3": s3}


async def _answer(reader: AvailabilityReader, ask: Ask) -> Any:
    skus, channel_id, location_ids = ask
    try:
        return await handlers.get_availability(reader, list(skus), channel_id, list(location_ids))
    except NotFound as exc:
        return ("NOT_FOUND", exc.message)


def _count_statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    original = readpool.ReadPool.fetchrow

    async def counted(pool: readpool.ReadPool, query: str, *args: Any) -> Any:
        if query == adapter._READ:
            sent.append(len(args[0]))
        return await original(pool, query, *args)

    monkeypatch.setattr(readpool.ReadPool, "fetchrow", counted)
    return sent


async def test_reads_that_join_a_statement_get_what_a_statement_of_their_own_returns(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    asks: list[Ask] = world["asks"] * 3
    alone = [await _answer(AvailabilityReader(world["engine"]), ask) for ask in asks]
    assert any(isinstance(a, list) and any(v.inbound for i in a for v in i.by_location) for a in alone)
    assert any(isinstance(a, list) and any(i.presale.presale_sellable for i in a) for a in alone)
    assert any(isinstance(a, list) and any(i.rules.dedicated for i in a) for a in alone)
    assert any(isinstance(a, tuple) for a in alone)  # the unknown channel

    sent = _count_statements(monkeypatch)
    reader = AvailabilityReader(world["engine"], in_flight=1)
    together = await asyncio.gather(*(_answer(reader, ask) for ask in asks))
    assert together == alone
    # The first read runs at once; every other joins the one next statement of its channel and locations.
    keys = {(channel_id, location_ids) for _, channel_id, location_ids in asks[1:]}
    assert len(sent) == 1 + len(keys), sent


async def test_a_joined_read_sees_what_was_committed_before_it_was_called(world, inventory, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    reader = AvailabilityReader(world["engine"], in_flight=1)
    s3, b = world["s3"], world["b"]
    hold = asyncio.Event()
    original = readpool.ReadPool.fetchrow
    held: list[int] = []

    async def slow(pool: readpool.ReadPool, query: str, *args: Any) -> Any:
        if query == adapter._READ and not held:  # the first read waits: the reader's one slot is busy meanwhile
            held.append(1)
            await hold.wait()
        return await original(pool, query, *args)

    before = (await handlers.get_availability(AvailabilityReader(world["engine"]), [s3], "", []))[0].on_hand
    monkeypatch.setattr(readpool.ReadPool, "fetchrow", slow)
    first = asyncio.ensure_future(handlers.get_availability(reader, [s3], "", []))
    await asyncio.sleep(0.05)
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(
            request_id=f"late-{uuid.uuid4().hex[:6]}", location_id=b, lines=[pb.StockLine(sku=s3, quantity=2)]
        ),
        metadata=admin,
    )
    joined = asyncio.ensure_future(handlers.get_availability(reader, [s3], "", []))
    await asyncio.sleep(0.05)
    assert not joined.done()
    hold.set()
    await first
    assert (await joined)[0].on_hand == before + 2


async def test_a_reader_gone_or_a_failed_statement_leaves_the_others_answered(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    s1, s2 = world["skus"][:2]
    alone = AvailabilityReader(world["engine"])
    expected = {sku: (await handlers.get_availability(alone, [sku], "", []))[0] for sku in (s1, s2)}
    reader = AvailabilityReader(world["engine"], in_flight=1)
    holds = {1: asyncio.Event(), 3: asyncio.Event()}  # these statements wait (by their number)
    fails = {4}  # and this one fails as a lost connection does
    original = readpool.ReadPool.fetchrow
    sent: list[list[str]] = []

    async def scripted(pool: readpool.ReadPool, query: str, *args: Any) -> Any:
        if query != adapter._READ:
            return await original(pool, query, *args)
        sent.append(list(args[0]))
        n = len(sent)
        if n in holds:
            await holds[n].wait()
        if n in fails:
            raise ConnectionResetError("the database went away")
        return await original(pool, query, *args)

    monkeypatch.setattr(readpool.ReadPool, "fetchrow", scripted)

    def read(sku: str) -> asyncio.Future[Any]:
        return asyncio.ensure_future(handlers.get_availability(reader, [sku], "", []))

    leader = read(s1)
    await asyncio.sleep(0.02)
    gone, stays = read(s1), read(s2)
    await asyncio.sleep(0.02)
    leader.cancel()  # the read that held the slot goes away: the statement its followers joined still goes out
    gone.cancel()
    assert (await stays)[0] == expected[s2]
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert sent == [[s1], [s1, s2]]

    first = read(s1)
    await asyncio.sleep(0.02)
    joined = [read(s1), read(s2)]
    await asyncio.sleep(0.02)
    holds[3].set()
    results = await asyncio.gather(first, *joined, return_exceptions=True)
    assert results[0][0] == expected[s1]  # type: ignore[index]
    assert [type(r) for r in results[1:]] == [ConnectionResetError, ConnectionResetError]
    assert (await handlers.get_availability(reader, [s2], "", []))[0] == expected[s2]  # the slots are all back


async def test_concurrent_get_availability_calls_share_statements_and_answer_as_alone(
    world, inventory, admin, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    requests = [
        pb.GetAvailabilityRequest(skus=list(skus), channel_id=channel_id, location_ids=list(locations))
        for skus, channel_id, locations in world["asks"]
        if channel_id != "no-such-channel"
    ] * 5

    async def ask(request: pb.GetAvailabilityRequest) -> pb.GetAvailabilityResponse:
        return await inventory.GetAvailability(request, metadata=admin)

    alone = [await ask(r) for r in requests]
    sent = _count_statements(monkeypatch)
    together = await asyncio.gather(*(ask(r) for r in requests))
    assert together == alone
    assert len(sent) < len(requests), sent
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await inventory.GetAvailability(
            pb.GetAvailabilityRequest(skus=["X"], channel_id="no-such-channel"), metadata=admin
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
