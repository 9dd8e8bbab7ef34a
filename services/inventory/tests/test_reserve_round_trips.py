"""A Reserve batch costs the same few statements whatever its size (reserving.py, adapters/reserve_store.py):
a lone request and a burst of many on one SKU each take one transaction of the same statements, so the
cost of a batch is shared by everything in it. Statements are counted on the batch's own connection with
asyncpg's query logger (its one-time type introspection of a statement on a new connection left out)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime import db

pytestmark = pytest.mark.asyncio

BURST = 40
# What asyncpg itself sends the first time a connection prepares a statement with non-trivial types.
ASYNCPG_INTROSPECTION = ("typeinfo_tree", "'jit'")


async def test_a_batch_takes_the_same_statements_for_one_request_or_many(
    inventory, admin, inventory_host, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    sku, loc = f"RT-{uuid.uuid4().hex[:6]}", f"WH-{uuid.uuid4().hex[:6]}"
    await inventory.UpsertLocation(
        pb.UpsertLocationRequest(location=pb.Location(id=loc, name="rt", type=pb.LOCATION_TYPE_WAREHOUSE, ships=True)),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        pb.ReceiveStockRequest(request_id=f"r-{sku}", location_id=loc, lines=[pb.StockLine(sku=sku, quantity=1000)]),
        metadata=admin,
    )
    transactions: list[list[str]] = []
    original = db.pooled_transaction

    @contextlib.asynccontextmanager
    async def counted(engine: Any) -> AsyncIterator[Any]:
        statements: list[str] = []
        transactions.append(statements)

        def log(record: Any) -> None:
            if not any(mark in record.query for mark in ASYNCPG_INTROSPECTION):
                statements.append(" ".join(record.query.split()[:3]))

        async with original(engine) as conn:
            conn.add_query_logger(log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(log)
        statements.append("COMMIT")  # sent by the transaction's end, after the logger is gone

    monkeypatch.setattr(db, "pooled_transaction", counted)

    def reserve(i: int) -> Any:
        request = pb.ReserveRequest(request_id=f"{sku}-{i}", lines=[pb.ReserveLine(sku=sku, quantity=1)])
        return inventory.Reserve(request, metadata=admin)

    await reserve(0)  # alone: a batch of one
    coalescer = inventory_host.parts.components["reserve_coalescer"]
    before = coalescer.batches
    await asyncio.gather(*(reserve(i) for i in range(1, BURST + 1)))

    assert coalescer.batches - before < BURST  # the burst was batched
    lone, burst = transactions[0], transactions[1:]
    assert burst and all(t == lone for t in burst), (lone, burst)
    # claim, lock (the stock rows with their locations), write, answers, outbox, COMMIT (BEGIN is not logged;
    # policies only for channels, named locations only when a pinned or pickup location holds none of the SKUs)
    assert len(lone) <= 7, lone
