"""A dealer's ownership of a location is judged at the write, not by a read before it: an owner changed after
such a read (an operator's act on the locations table) left the dealer acting on a location no longer its own.
Every dealer-scoped write is tried with the owner moved at the last moment before its transaction; each is
refused and nothing of the location changes. And the owner read holds until the write commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from onepool.channels.v1 import channels_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.service_layer import handlers
from onepool_runtime import servicer
from onepool_runtime.protobuf import ts
from onepool_runtime.testing.services import metadata
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from .test_channel_view import availability, publish_channel

pytestmark = pytest.mark.asyncio
SOON = ts(datetime.now(UTC) + timedelta(days=2))


class World:
    """A dealer's shop holding stock, with a receipt, a transfer and a dedicated allocation there."""

    dealer: str
    shop: str
    sku: str
    channel_id: str
    receipt_id: str
    transfer_id: str
    allocation_id: str


@pytest.fixture
async def world(inventory, admin, setup, inventory_host) -> World:  # type: ignore[no-untyped-def]
    w = World()
    w.dealer, w.sku, w.channel_id = setup.name("D"), setup.name("SKU"), setup.name("ch")
    w.shop = await setup.location("SHOP", type_=pb.LOCATION_TYPE_DEALER_STORE, owner=w.dealer)
    wh = await setup.location("WH")
    await setup.stock(w.shop, **{w.sku: 10})
    await setup.stock(wh, **{w.sku: 10})
    receipt = await inventory.ExpectReceipt(
        pb.ExpectReceiptRequest(
            request_id=setup.name("e"),
            location_id=w.shop,
            lines=[pb.StockLine(sku=w.sku, quantity=2)],
            expected_at=SOON,
        ),
        metadata=admin,
    )
    w.receipt_id = receipt.receipt.id
    transfer = await inventory.TransferStock(
        pb.TransferStockRequest(
            request_id=setup.name("t"),
            from_location_id=wh,
            to_location_id=w.shop,
            lines=[pb.StockLine(sku=w.sku, quantity=1)],
        ),
        metadata=admin,
    )
    w.transfer_id = transfer.transfer.id
    channel = channels_pb2.Channel(id=w.channel_id, version=1, owner_dealer_id=w.dealer)
    await publish_channel(inventory_host.infra.js, channel)
    await availability(inventory, admin, w.sku, w.channel_id)
    allocation = await inventory.CreateChannelAllocation(
        pb.CreateChannelAllocationRequest(
            request_id=setup.name("a"), channel_id=w.channel_id, location_id=w.shop, sku=w.sku, quantity=2
        ),
        metadata=metadata("dealer", dealer_id=w.dealer),
    )
    w.allocation_id = allocation.allocation.id
    return w


def _writes(inventory: Any, setup: Any, w: World) -> dict[str, Callable[[Any], Awaitable[Any]]]:
    line = pb.StockLine(sku=w.sku, quantity=1)
    return {
        "ReceiveStock": lambda md: inventory.ReceiveStock(
            pb.ReceiveStockRequest(request_id=setup.name("r"), location_id=w.shop, lines=[line]), metadata=md
        ),
        "ReceiveStock on a receipt": lambda md: inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id=setup.name("r"), location_id=w.shop, lines=[line], receipt_id=w.receipt_id
            ),
            metadata=md,
        ),
        "AdjustStock": lambda md: inventory.AdjustStock(
            pb.AdjustStockRequest(request_id=setup.name("a"), location_id=w.shop, sku=w.sku, delta=-1, reason="count"),
            metadata=md,
        ),
        "ExpectReceipt": lambda md: inventory.ExpectReceipt(
            pb.ExpectReceiptRequest(request_id=setup.name("e"), location_id=w.shop, lines=[line], expected_at=SOON),
            metadata=md,
        ),
        "CancelExpectedReceipt": lambda md: inventory.CancelExpectedReceipt(
            pb.CancelExpectedReceiptRequest(receipt_id=w.receipt_id, reason="no"), metadata=md
        ),
        "RescheduleExpectedReceipt": lambda md: inventory.RescheduleExpectedReceipt(
            pb.RescheduleExpectedReceiptRequest(
                receipt_id=w.receipt_id, expected_at=ts(datetime.now(UTC) + timedelta(days=5))
            ),
            metadata=md,
        ),
        "ReceiveTransfer": lambda md: inventory.ReceiveTransfer(
            pb.ReceiveTransferRequest(transfer_id=w.transfer_id), metadata=md
        ),
        "CreateChannelAllocation": lambda md: inventory.CreateChannelAllocation(
            pb.CreateChannelAllocationRequest(
                request_id=setup.name("a"), channel_id=w.channel_id, location_id=w.shop, sku=w.sku, quantity=1
            ),
            metadata=md,
        ),
        "ReleaseChannelAllocation": lambda md: inventory.ReleaseChannelAllocation(
            pb.ReleaseChannelAllocationRequest(allocation_id=w.allocation_id), metadata=md
        ),
    }


WRITES = [
    "ReceiveStock",
    "ReceiveStock on a receipt",
    "AdjustStock",
    "ExpectReceipt",
    "CancelExpectedReceipt",
    "RescheduleExpectedReceipt",
    "ReceiveTransfer",
    "CreateChannelAllocation",
    "ReleaseChannelAllocation",
]


async def _state(inventory_db: Any, shop: str) -> list[Any]:
    queries = [
        "SELECT * FROM stock_levels WHERE location_id = :l ORDER BY sku",
        "SELECT count(*) FROM movements WHERE location_id = :l",
        "SELECT id, status, expected_at FROM expected_receipts WHERE location_id = :l ORDER BY id",
        "SELECT id, status FROM transfers WHERE to_location_id = :l ORDER BY id",
        "SELECT id, status, remaining FROM channel_allocations WHERE location_id = :l ORDER BY id",
    ]
    async with inventory_db.connect() as conn:
        return [(await conn.execute(text(q), {"l": shop})).all() for q in queries]


async def _give_away(conn: Any, shop: str, owner: str) -> None:
    """The operator's act: dealer locations change owner only in the table (UpsertLocation refuses it)."""
    await conn.execute(text("UPDATE locations SET owner_dealer_id = :o WHERE id = :l"), {"o": owner, "l": shop})


@pytest.mark.parametrize("write", WRITES)
async def test_a_location_given_away_before_the_write_refuses_the_dealer(  # type: ignore[no-untyped-def]
    write, inventory, setup, world, inventory_db, monkeypatch
) -> None:
    w = world
    before = await _state(inventory_db, w.shop)
    original = servicer.UseCases.write

    async def moved_first(self, produce, **kwargs):  # type: ignore[no-untyped-def]
        # Whatever was read before this point, the location is someone else's by the time the write runs.
        async with inventory_db.begin() as conn:
            await _give_away(conn, w.shop, setup.name("E"))
        return await original(self, produce, **kwargs)

    monkeypatch.setattr(servicer.UseCases, "write", moved_first)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _writes(inventory, setup, w)[write](metadata("dealer", dealer_id=w.dealer))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, caught.value.details()
    assert await _state(inventory_db, w.shop) == before


async def test_the_owner_read_holds_until_the_write_commits(  # type: ignore[no-untyped-def]
    inventory, setup, world, inventory_db, monkeypatch
) -> None:
    """An owner change cannot slip in between the check and the write's commit: it waits for the write."""
    w = world
    original, tried = handlers.adjust_stock, []

    async def give_away_meanwhile(uow, cmd):  # type: ignore[no-untyped-def]
        async with inventory_db.connect() as conn:
            try:
                async with conn.begin():
                    await conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    await _give_away(conn, w.shop, setup.name("E"))
                    tried.append("changed")
            except DBAPIError as exc:
                tried.append("lock timeout" if "lock timeout" in str(exc) else str(exc))
        return await original(uow, cmd)

    monkeypatch.setattr(handlers, "adjust_stock", give_away_meanwhile)
    reply = await _writes(inventory, setup, w)["AdjustStock"](metadata("dealer", dealer_id=w.dealer))
    assert reply.level.on_hand == 9
    assert tried == ["lock timeout"]
