"""Postings do not serialise on a party's row: two transactions posting sales to the same brand and clearing
accounts both proceed while neither has committed (before, the second waited on the first's balance-row
lock, so replicas only queued behind each other). A ClosePeriod waits for a posting in flight, and that
posting lands before the period's end, never in a closed period.

Its own module: it closes a period for every test sharing the service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from onepool_runtime.db import create_engine, session_factory
from onepool_settlement.domain import commands
from onepool_settlement.domain.model import JournalEntry, Posting, Rule
from onepool_settlement.service_layer import handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork

pytestmark = pytest.mark.asyncio


def sale(key: str, amount: int) -> JournalEntry:
    return JournalEntry(
        key=key,
        rule=Rule.SALE,
        currency="CNY",
        postings=(Posting("clearing", "customer_payment", -amount), Posting("brand", "sale", amount)),
        order_id=key,
    )


@pytest.fixture
async def sessions(stack: Any, settlement: Any) -> Any:
    engine = create_engine(stack.database_url, "settlement")
    yield session_factory(engine)
    await engine.dispose()


async def test_two_open_transactions_post_to_the_same_parties_without_waiting(sessions: Any) -> None:
    first, second = SettlementUnitOfWork(sessions), SettlementUnitOfWork(sessions)
    async with first, second:
        assert await handlers.post(first, sale("hot-1", 100)) is not None
        # With a lock on brand's or clearing's row this would wait for `first` to commit: it never does.
        assert await asyncio.wait_for(handlers.post(second, sale("hot-2", 200)), timeout=10) is not None
        await second.commit()
        await first.commit()
    async with SettlementUnitOfWork(sessions).reading() as uow:
        lines = await uow.repo.page_lines(
            party="", currency="CNY", order_id="", start=None, end=None, after=(0, 0), limit=100
        )
    assert {ln.order_id for ln in lines} >= {"hot-1", "hot-2"}


async def test_closing_waits_for_a_posting_in_flight_which_lands_before_the_end(sessions: Any) -> None:
    posting = SettlementUnitOfWork(sessions)
    async with posting:
        [line, _] = await handlers.post(posting, sale("in-flight", 300)) or []
        end = datetime.now(UTC)

        async def close() -> Any:
            async with SettlementUnitOfWork(sessions) as uow:
                period = await handlers.close_period(uow, commands.ClosePeriod(end))
                await uow.commit()
                return period

        closing = asyncio.create_task(close())
        await asyncio.sleep(0.5)
        assert not closing.done(), "the close did not wait for the posting in flight"
        await posting.commit()
    period = await asyncio.wait_for(closing, timeout=10)
    assert period.period_end == end
    assert line.created_at is not None and line.created_at < end
    async with SettlementUnitOfWork(sessions).reading() as uow:
        # The posting is inside the closed period's kept balances, and a new posting lands after its end.
        assert await uow.repo.kept_balance("brand", "CNY", end) == await uow.repo.balance_before("brand", "CNY", end)
    async with SettlementUnitOfWork(sessions) as uow:
        [late, _] = await handlers.post(uow, sale("after-close", 1)) or []
        await uow.commit()
    assert late.created_at is not None and late.created_at >= end
