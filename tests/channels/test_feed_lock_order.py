"""Two replicas' expected-stock batches apply receipts' events for the same SKUs in opposite order, in one
transaction each. Every feed transaction takes the feed lock first, so they run one after the other; without
it each held one SKU's lock and waited for the other's (PostgreSQL broke the deadlock by aborting one batch,
which then waited out its back-off before it was tried again)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from onepool_channels.service_layer import stock_feed
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_runtime import db
from onepool_runtime.migrations import upgrade
from sqlalchemy import text

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "channels" / "migrations"
pytestmark = pytest.mark.asyncio


async def _skus_in_two_buckets(engine) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        while True:
            a, b = (f"SKU-{uuid.uuid4().hex[:8]}" for _ in range(2))
            buckets = (
                await conn.execute(text("SELECT hashtext(:a) & 255, hashtext(:b) & 255"), {"a": a, "b": b})
            ).one()
            if buckets[0] != buckets[1]:
                return a, b


async def test_expected_stock_batches_in_opposite_order_both_commit(database_url: str) -> None:
    await upgrade(MIGRATIONS, database_url, "channels")
    engine = db.create_engine(database_url, "channels")
    sessions = db.session_factory(engine)
    a, b = await _skus_in_two_buckets(engine)
    first_applied = asyncio.Event()
    tag = uuid.uuid4().hex[:8]

    async def batch(name: str, first: str, second: str, *, after: asyncio.Event | None) -> None:
        async with ChannelsUnitOfWork(sessions) as uow:
            if after is not None:
                await after.wait()
            await stock_feed.expected_changed(uow, f"{name}-{tag}-1", "L", {first: 5}, 1)
            if after is None:
                first_applied.set()
                await asyncio.sleep(0.5)  # the other batch starts its first event meanwhile
            await stock_feed.expected_changed(uow, f"{name}-{tag}-2", "L", {second: 5}, 1)
            await uow.commit()

    try:
        await asyncio.wait_for(
            asyncio.gather(batch("one", a, b, after=None), batch("two", b, a, after=first_applied)), 30
        )
    finally:
        await engine.dispose()
