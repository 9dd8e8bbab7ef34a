"""A balance reads the party's lines since its latest checkpoint, not since the last closed period
(adapters/balances.py, service_layer/checkpoints.py, migration 0012).

Before, a balance was the snapshot at the last closed period plus every line since: periods close when an
operator closes them, so the brand's balance, read by every RecordPayment, CreatePayout and GetBalance, summed
up to a month of its lines (about 1 s at 50k orders a day). The exactness of balances read through checkpoints
over random histories is checked by tests/settlement/test_ledger_properties.py (its "checkpoint" operation)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine, session_factory
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from sqlalchemy import text

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio

EVERY_LINES = 6


@pytest.fixture(scope="module")
async def settlement(stack: Any) -> Any:
    await stack.start("settlement", balance_checkpoint_lines=EVERY_LINES, balance_checkpoint_interval_seconds=0.1)
    return stack.stub("settlement")


@pytest.fixture
async def sessions(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield session_factory(engine)
    await engine.dispose()


# 2,000 payments of a dealer to the brand, a minute apart from a day ahead on (no closed period refuses them).
_PAYMENTS = """
WITH x AS (SELECT now() + interval '1 day' AS t0),
e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo, created_at)
  SELECT 'cp-' || $1 || '-' || n, 'payment:cp-' || $1 || '-' || n, 'payment', 'CNY', '', '', '', '',
         x.t0 + n * interval '1 minute'
    FROM generate_series(1, $2) AS n, x
  RETURNING id, created_at
)
INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id, created_at)
SELECT e.id, p.party, 'payment', 'CNY', p.amount, '', e.created_at
  FROM e, LATERAL (VALUES ('dealer:CP-' || $1, 100), ('brand', -100)) AS p(party, amount)
"""

_FETCHED = (
    "SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables"
    " WHERE relid = 'settlement.journal_lines'::regclass"
)


async def test_a_balance_reads_the_lines_since_its_checkpoint_not_since_the_last_close(sessions: Any) -> None:
    """2,000 lines of a dealer, a checkpoint before its last 10: its balance (and the brand's) reads about 10
    lines and is still the sum of all 2,000. In a transaction rolled back."""
    tag = Bus.uid("CP")
    party = f"dealer:CP-{tag}"
    async with SettlementUnitOfWork(sessions) as uow:
        await (await uow.driver()).execute(_PAYMENTS, tag, 2_000)
        t0 = (await uow.session.execute(text("SELECT now() + interval '1 day'"))).scalar_one()
        written = await uow.repo.write_checkpoints(t0 + timedelta(minutes=1_990, seconds=30))
        assert written >= 2  # the dealer and the brand (and whoever else posted since the last checkpoint)

        before = (await uow.session.execute(text(_FETCHED))).scalar_one()
        balance = await uow.repo.balance(party, "CNY")
        read = (await uow.session.execute(text(_FETCHED))).scalar_one() - before
        assert balance == 2_000 * 100
        assert read <= 20, read  # before: 2,000

        earlier = await uow.repo.balance_before(party, "CNY", t0 + timedelta(minutes=1_000, seconds=30))
        assert earlier == 1_000 * 100  # an instant before the checkpoint: summed from further back, still exact


async def test_the_checkpoint_waits_for_postings_in_flight_only_briefly(sessions: Any) -> None:
    """A quiet instant needs every posting in flight to have committed; one holding the period lock past the
    wait defers the checkpoint instead of stopping every posting behind it (before: no checkpoint at all)."""
    async with SettlementUnitOfWork(sessions) as posting:
        await posting.repo.closed_through()  # holds the period lock shared, as a posting does
        async with SettlementUnitOfWork(sessions) as checkpoint:
            assert await checkpoint.repo.quiet_instant(100) is None
    async with SettlementUnitOfWork(sessions) as checkpoint:
        assert await checkpoint.repo.quiet_instant(100) is not None


async def test_the_service_checkpoints_balances_as_lines_accumulate(sessions: Any, settlement: Any, admin: Any) -> None:
    """Payments to a dealer: the service's loop writes its checkpoints (every EVERY_LINES lines), and its
    balance through them is what it was paid."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    for n in range(1, 7):
        request = pb.RecordPaymentRequest(
            request_id=Bus.uid("pay"), from_party=f"dealer:{Bus.uid('P')}", to_party=payee, amount=cny(n * 100)
        )
        await settlement.RecordPayment(request, metadata=admin)

    async def checkpoints() -> list[int]:
        async with sessions() as session:
            rows = await session.execute(
                text("SELECT balance FROM balance_checkpoints WHERE party = :p ORDER BY at"), {"p": payee}
            )
            return [int(r.balance) for r in rows]

    written = await Bus.eventually(checkpoints, lambda rows: bool(rows))
    assert set(written) <= {-sum(k * 100 for k in range(1, m + 1)) for m in range(1, 7)}  # received: owed less
    reply = await settlement.GetBalance(pb.GetBalanceRequest(party=payee), metadata=admin)
    assert reply.balance.amount_minor == -2_100


async def test_a_line_dated_before_the_latest_checkpoint_is_refused(sessions: Any) -> None:
    """Only a clock gone backwards could date one there; kept, it would be left out of every balance read through
    the checkpoint and of every period snapshot after it (before: accepted). In a transaction rolled back."""
    tag = Bus.uid("CB")
    async with SettlementUnitOfWork(sessions) as uow:
        driver = await uow.driver()
        await driver.execute(
            "INSERT INTO balance_checkpoints (party, currency, at, balance)"
            " VALUES ($1, 'CNY', now() + interval '1 hour', 0)",
            f"dealer:CB-{tag}",
        )
        with pytest.raises(asyncpg.CheckViolationError, match="before a balance checkpoint"):
            await driver.execute(_PAYMENTS.replace("interval '1 day'", "interval '1 minute'"), tag, 1)
