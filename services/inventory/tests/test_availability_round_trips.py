"""GetAvailability is one statement on a connection of the engine's read pool (adapters/availability.py), with
or without a channel, whatever the levels, transfers and locations involved: counted with asyncpg's query
logger on the connection the read uses (its one-time type introspection on a new connection left out)."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime import readpool

pytestmark = pytest.mark.asyncio

ASYNCPG_INTROSPECTION = ("typeinfo_tree", "'jit'")


async def test_get_availability_is_one_statement_with_or_without_a_channel(inventory, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    sku, here, there = (f"{p}-{uuid.uuid4().hex[:6]}" for p in ("AV", "WH", "WH"))
    for loc in (here, there):
        location = pb.Location(id=loc, name=loc, type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)
        await inventory.UpsertLocation(pb.UpsertLocationRequest(location=location), metadata=admin)
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id=f"r-{sku}", location_id=here, lines=[pb.StockLine(sku=sku, quantity=9)]),
        metadata=admin,
    )
    reads: list[list[str]] = []  # per read of the pool: its statements (the calls run one after another)
    original = readpool.ReadPool._acquire
    logged: dict[Any, Any] = {}

    def log(record: Any) -> None:
        if not any(mark in record.query for mark in ASYNCPG_INTROSPECTION):
            reads[-1].append(" ".join(record.query.split()[:2]))

    async def counted(pool: readpool.ReadPool) -> Any:
        reads.append([])
        conn = await original(pool)
        if conn not in logged:
            conn.add_query_logger(log)
            logged[conn] = log
        return conn

    monkeypatch.setattr(readpool.ReadPool, "_acquire", counted)

    reply = await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku]), metadata=admin)
    assert [(i.sku, i.on_hand, i.available) for i in reply.items] == [(sku, 9, 9)]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await inventory.GetAvailability(pb.GetAvailabilityRequest(skus=[sku], channel_id="no-such"), metadata=admin)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    for conn in logged:
        conn.remove_query_logger(log)
    assert [len(statements) for statements in reads] == [1, 1], reads
