"""Two replicas' batches of settlement entries touch the same two dealers, in opposite order. The dealers'
settlement view adds each batch per dealer in one order, so neither holds one dealer's row while waiting for
the other's: both commit, and the sums are exact (before, PostgreSQL aborted one as a deadlock)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
from onepool.common.v1 import common_pb2
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_dealers.entrypoints import consumers
from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork
from onepool_runtime import db
from onepool_runtime.migrations import upgrade

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "dealers" / "migrations"
pytestmark = pytest.mark.asyncio


def _posted(dealer_id: str, amount: int) -> settlement_events.EntryPosted:
    money = common_pb2.Money(currency="CNY", amount_minor=amount)
    return settlement_events.EntryPosted(
        rule="sale", currency="CNY", lines=[spb.JournalLine(party=f"dealer:{dealer_id}", amount=money)]
    )


async def test_batches_over_the_same_dealers_in_opposite_order_both_commit(database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await upgrade(MIGRATIONS, database_url, "dealers")
    engine = db.create_engine(database_url, "dealers")
    sessions = db.session_factory(engine)
    x, y = (f"D-{uuid.uuid4().hex[:8]}" for _ in range(2))
    both_added_one = asyncio.Barrier(2)
    add = handlers.add_settlement

    async def add_then_wait(uow, dealer_id, currency, delta):  # type: ignore[no-untyped-def]
        await add(uow, dealer_id, currency, delta)
        # Give the other batch the moment to take its first row; it may be waiting on ours instead.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both_added_one.wait(), 1.0)

    monkeypatch.setattr(handlers, "add_settlement", add_then_wait)

    async def batch(events: list[settlement_events.EntryPosted]) -> None:
        async with DealersUnitOfWork(sessions) as uow:
            await consumers.on_entries_posted(events, uow)
            await uow.commit()

    try:
        await asyncio.wait_for(
            asyncio.gather(batch([_posted(x, 100), _posted(y, 10)]), batch([_posted(y, 20), _posted(x, 200)])), 30
        )
        async with DealersUnitOfWork(sessions) as uow:
            assert await uow.repo.settlement_net(x, "CNY") == 300
            assert await uow.repo.settlement_net(y, "CNY") == 30
    finally:
        await engine.dispose()
