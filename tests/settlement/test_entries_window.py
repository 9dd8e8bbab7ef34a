"""ListEntries over a posting window (`from`/`to`) reads the window's range of the listing's index, not the whole
journal around it, and still lists every line of the window (repository.window_bounds, migration 0011).

Before, a window filtered posting times along the (xact_id, id) index: at 10M lines the first page of the last
30 days read the 9M lines before them (2.7 s), and the last page of an old month every line after it (1.6 s).
Each entry now records its posting statement's snapshot xmin and its transaction's start; the window's bounds
in xact order follow from the entries posted around its ends, exactly, also for transactions that took their
id before a window's start and post in it, or post just before its end and commit after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine, session_factory
from onepool_settlement.domain import rules
from onepool_settlement.service_layer import handlers
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from sqlalchemy import text

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def sessions(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield session_factory(engine)
    await engine.dispose()


# One payment a minute from a day ahead on (dated ahead: no closed period refuses them), by transactions that
# look committed (ids below every running one's, rising with time), recording what postings record.
_PAYMENTS = """
WITH x AS (SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin, now() + interval '1 day' AS t0),
e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo,
                               created_at, snapshot_xmin, xact_started_at)
  SELECT 'win-' || $1 || '-' || n, 'payment:win-' || $1 || '-' || n, 'payment', 'CNY', '', '', '', '',
         x.t0 + n * interval '1 minute', x.xmin - 1 - ($2 - n), x.t0 + n * interval '1 minute'
    FROM generate_series(1, $2) AS n, x
  RETURNING id, created_at, snapshot_xmin
)
INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id, created_at, xact_id)
SELECT e.id, p.party, 'payment', 'CNY', p.amount, '', e.created_at, e.snapshot_xmin
  FROM e, LATERAL (VALUES ('dealer:WIN-' || $1, 100), ('brand', -100)) AS p(party, amount)
"""

_FETCHED = "SELECT idx_tup_fetch FROM pg_stat_xact_user_tables WHERE relid = 'settlement.journal_lines'::regclass"


async def test_a_windows_pages_read_the_window_not_the_journal_around_it(sessions: Any) -> None:
    """600 payments of a dealer a minute apart, a window of 100 of them in the middle: its first page and the
    page after its last line each read about the window's lines (before: the first read the 300 lines before
    the window too, the last the 200 after it). In a transaction rolled back."""
    tag = Bus.uid("W")
    party = f"dealer:WIN-{tag}"
    uow = SettlementUnitOfWork(sessions)
    async with uow:
        driver = await uow.driver()
        while await driver.fetchval("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint") < 700:
            async with sessions() as burner:  # a fresh database: real transaction ids are all positive
                await burner.execute(text("SELECT pg_current_xact_id()"))
                await burner.commit()
        await driver.execute(_PAYMENTS, tag, 600)
        t0 = (await uow.session.execute(text("SELECT now() + interval '1 day'"))).scalar_one()
        start, end = t0 + timedelta(minutes=300), t0 + timedelta(minutes=400)

        async def page(after: tuple[int, int]) -> tuple[list[Any], int]:
            before = (await uow.session.execute(text(_FETCHED))).scalar_one()
            lines = await uow.repo.page_lines(
                party=party, currency="CNY", order_id="", start=start, end=end, after=after, limit=101
            )
            return lines, (await uow.session.execute(text(_FETCHED))).scalar_one() - before

        lines, first_read = await page((0, 0))
        assert [line.created_at for line in lines] == [start + timedelta(minutes=k) for k in range(100)]
        last = lines[-1]
        rest, last_read = await page((last.xact_id, last.id))
        assert rest == []
    assert first_read < 120 and last_read < 20, (first_read, last_read)


def _at(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


async def _window(settlement: Any, admin: Any, party: str, **bounds: datetime) -> list[int]:
    request = pb.ListEntriesRequest(party=party, page_size=500, **{k: _at(v) for k, v in bounds.items()})
    reply = await settlement.ListEntries(request, metadata=admin)
    return [line.amount.amount_minor for line in reply.entries]


async def _paid(settlement: Any, admin: Any, payee: str, amount: int) -> None:
    request = pb.RecordPaymentRequest(
        request_id=Bus.uid("pay"), from_party=f"dealer:{Bus.uid('P')}", to_party=payee, amount=cny(amount)
    )
    await settlement.RecordPayment(request, metadata=admin)


async def _post_to(uow: SettlementUnitOfWork, payee: str, amount: int) -> None:
    await handlers.post(
        uow, rules.payment(f"payment:{Bus.uid('held')}", f"dealer:{Bus.uid('P')}", payee, "CNY", amount)
    )


async def _clock(sessions: Any) -> datetime:
    async with sessions() as session:
        now: datetime = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
        return now


async def test_a_transaction_older_than_the_windows_start_that_posts_in_it_is_listed(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """A transaction took its id before the window's start (its inbox row) and posts after it: its id is below
    the ids of postings before the start, not below the snapshot xmin they recorded (it was running then)."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    older = SettlementUnitOfWork(sessions)
    async with older:
        await older.session.execute(text("SELECT pg_current_xact_id()"))
        await _paid(settlement, admin, payee, 100)
        start = await _clock(sessions)
        await _paid(settlement, admin, payee, 101)
        await _post_to(older, payee, 111)
        await older.commit()
    assert sorted(await _window(settlement, admin, payee, **{"from": start})) == [-111, -101]


async def test_a_line_posted_before_the_windows_end_and_committed_after_it_is_listed(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """The window's upper bound is the id of a transaction that began after its end, not of the first entry
    posted after it: here that entry's transaction took its id before another that posted in the window."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    early, late = SettlementUnitOfWork(sessions), SettlementUnitOfWork(sessions)
    async with early, late:
        await early.session.execute(text("SELECT pg_current_xact_id()"))
        await _post_to(late, payee, 222)
        end = await _clock(sessions)
        await _post_to(early, payee, 111)
        await early.commit()
        await late.commit()
    await _paid(settlement, admin, payee, 333)
    assert await _window(settlement, admin, payee, to=end) == [-222]
    assert sorted(await _window(settlement, admin, payee, **{"from": end})) == [-333, -111]
