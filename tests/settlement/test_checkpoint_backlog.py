"""A backlog of lines is checkpointed a bounded chunk per statement, and ClosePeriod checkpoints first
(service_layer/checkpoints.py, adapters/balances.py CHECKPOINT_CAP).

Before, the first pass after an upgrade (or after the loop was down) summed every line since the last close in
one statement: 36 s at 6M lines, past the service's 30 s statement limit, so no checkpoint was ever written; and
ClosePeriod then summed its whole period per party under the period lock, postings waiting (27 s at 6M lines).

Its own module: the service's loop is off (due only after a million lines), so the test decides every pass; and
it closes a period."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine, session_factory
from onepool_settlement.service_layer.checkpoints import checkpoint_once
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork
from sqlalchemy import text

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def settlement(stack: Any) -> Any:
    await stack.start("settlement", balance_checkpoint_lines=1_000_000, balance_checkpoint_interval_seconds=3600)
    return stack.stub("settlement")


@pytest.fixture
async def sessions(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield session_factory(engine)
    await engine.dispose()


async def _pay(settlement: Any, admin: Any, payee: str, times: int) -> None:
    for n in range(1, times + 1):
        request = pb.RecordPaymentRequest(
            request_id=Bus.uid("pay"), from_party=f"dealer:{Bus.uid('P')}", to_party=payee, amount=cny(n * 100)
        )
        await settlement.RecordPayment(request, metadata=admin)


async def _checkpoints(sessions: Any, party: str) -> list[tuple[datetime, int]]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT at, balance FROM balance_checkpoints WHERE party = :p ORDER BY at"), {"p": party}
        )
        return [(r.at, int(r.balance)) for r in rows]


async def test_a_backlog_is_checkpointed_a_bounded_chunk_at_a_time(sessions: Any, settlement: Any, admin: Any) -> None:
    """Ten payments to a dealer (20 lines) and a pass of 4 lines a chunk: the dealer is checkpointed at several
    instants, each its exact balance then, the last its balance now (before: one statement, one instant)."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    await _pay(settlement, admin, payee, 10)
    written = await checkpoint_once(lambda: SettlementUnitOfWork(sessions), every_lines=4, force=True)
    assert written >= 5

    rows = await _checkpoints(sessions, payee)
    assert len(rows) >= 4, rows
    paid_so_far = [-sum(k * 100 for k in range(1, m + 1)) for m in range(1, 11)]
    assert all(balance in paid_so_far for _, balance in rows), rows
    assert rows[-1][1] == -5_500


async def test_a_close_checkpoints_first_and_keeps_the_exact_balance(
    sessions: Any, settlement: Any, admin: Any
) -> None:
    """Payments nobody checkpointed, then ClosePeriod: the close wrote the payee's checkpoint before it summed
    under the period lock, and its snapshot is the payee's balance."""
    payee = f"dealer:{Bus.uid('PAYEE')}"
    await _pay(settlement, admin, payee, 3)
    assert await _checkpoints(sessions, payee) == []

    end = Timestamp()
    end.FromDatetime(datetime.now(UTC))
    await settlement.ClosePeriod(pb.ClosePeriodRequest(request_id=Bus.uid("close"), period_end=end), metadata=admin)
    assert [balance for _, balance in await _checkpoints(sessions, payee)] == [-600]
    async with sessions() as session:
        kept = await session.execute(
            text("SELECT balance FROM period_balances WHERE party = :p AND period_end = :e"),
            {"p": payee, "e": end.ToDatetime(UTC)},
        )
        assert [int(b) for (b,) in kept] == [-600]
