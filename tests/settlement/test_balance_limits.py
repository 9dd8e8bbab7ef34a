"""Every amount is bounded alone, never a party's running total: settlement keeps the total from turning into
an INTERNAL error. An event's amount above MAX_AMOUNT_MINOR is dead-lettered, not booked; a payment or payout
that would take a balance beyond +-2**62 is FAILED_PRECONDITION BALANCE_LIMIT; a balance that has left int64
anyway is FAILED_PRECONDITION BALANCE_OUT_OF_RANGE where it would be reported or kept (GetBalance,
GenerateStatement, ClosePeriod), and ClosePeriod works again once postings bring it back.

Its own module: it closes periods, and seeds over-large balances straight into the journal (no caller can)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.consumer import DLQ_STREAM, ERROR_HEADER, ORIGINAL_MSG_ID_HEADER
from onepool_runtime.db import plain_url
from onepool_runtime.testing.services import error_info

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio

BOUND = 2**62


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def refused(call: Any, request: Any, md: Any) -> str:
    """The ErrorInfo reason of a FAILED_PRECONDITION answer (never INTERNAL)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION, (caught.value.code(), caught.value.details())
    info = error_info(caught.value)
    assert info is not None
    return str(info.reason)


async def seed(stack: Any, lines: list[tuple[str, str, int]]) -> None:
    """A balanced entry written straight into the journal: (party, account, amount) lines."""
    assert sum(amount for _, _, amount in lines) == 0
    entry = f"seed-{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(plain_url(stack.database_url), server_settings={"search_path": "settlement"})
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject,"
                " memo) VALUES ($1, $1, 'payment', 'CNY', '', '', '', 'seeded by the test')",
                entry,
            )
            # one statement: the journal checks that an entry balances per statement
            await conn.execute(
                "INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id)"
                " SELECT $1, party, account, 'CNY', amount, '' FROM unnest($2::text[], $3::text[], $4::bigint[])"
                " AS u(party, account, amount)",
                entry,
                [party for party, _, _ in lines],
                [account for _, account, _ in lines],
                [amount for _, _, amount in lines],
            )
    finally:
        await conn.close()


async def dead_letter_error(bus: Bus, event_id: str) -> str:
    """The reason the dead letter of the event with this id carries."""
    sub = await bus.js.pull_subscribe("dlq.>", stream=DLQ_STREAM)
    try:
        for _ in range(20):
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except TimeoutError:
                continue
            for msg in msgs:
                if (msg.headers or {}).get(ORIGINAL_MSG_ID_HEADER) == event_id:
                    return str(msg.headers[ERROR_HEADER])  # type: ignore[index]
    finally:
        await sub.unsubscribe()
    raise AssertionError(f"no dead letter of {event_id}")


async def test_an_event_amount_above_the_kernel_bound_is_dead_lettered_and_books_nothing(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Three replenishments of 2**62 each once summed past int64: GetBalance of the dealer and of the brand,
    statements and ClosePeriod were INTERNAL for good."""
    dealer = bus.uid("DH")
    huge = [await bus.replenishment_received(bus.uid("RP"), dealer, 2**62) for _ in range(3)]
    await bus.replenishment_received(bus.uid("RP"), dealer, 1_000)

    async def lines() -> list[pb.JournalLine]:
        request = pb.ListEntriesRequest(party=f"dealer:{dealer}")
        return list((await settlement.ListEntries(request, metadata=admin)).entries)

    booked = await bus.eventually(lines, lambda ls: len(ls) >= 1)
    assert [ln.amount.amount_minor for ln in booked] == [-1_000]
    assert "above the largest amount" in await dead_letter_error(bus, huge[0])
    balance = await settlement.GetBalance(pb.GetBalanceRequest(party=f"dealer:{dealer}"), metadata=admin)
    assert balance.balance.amount_minor == -1_000
    await settlement.GetBalance(pb.GetBalanceRequest(party="brand"), metadata=admin)
    await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(datetime.now(UTC))), metadata=admin)


async def test_a_payment_taking_a_balance_beyond_the_bound_is_refused(
    stack: Any, bus: Bus, settlement: Any, admin: Any
) -> None:
    """Each RecordPayment is bounded (MAX_AMOUNT_MINOR // 2), but 9 224 of them took clearing past int64."""
    rich, poor = f"dealer:{bus.uid('RICH')}", f"dealer:{bus.uid('POOR')}"
    await seed(stack, [(rich, "payment", BOUND - 100), (poor, "payment", -(BOUND - 100))])

    def payment(i: int, payer: str, payee: str, amount: int) -> pb.RecordPaymentRequest:
        return pb.RecordPaymentRequest(
            request_id=f"{payer}-{i}".replace(":", "-"), from_party=payer, to_party=payee, amount=cny(amount)
        )

    assert await refused(settlement.RecordPayment, payment(1, rich, "brand", 101), admin) == "BALANCE_LIMIT"
    assert await refused(settlement.RecordPayment, payment(2, "brand", poor, 101), admin) == "BALANCE_LIMIT"
    await settlement.RecordPayment(payment(3, rich, "brand", 100), metadata=admin)  # exactly at the bound
    # a payment bringing a balance back towards zero is always taken
    await settlement.RecordPayment(payment(4, poor, rich, 10**14), metadata=admin)
    balance = await settlement.GetBalance(pb.GetBalanceRequest(party=rich), metadata=admin)
    assert balance.balance.amount_minor == BOUND - 10**14


async def test_a_balance_beyond_int64_is_refused_where_reported_and_closing_works_once_it_is_back(
    stack: Any, bus: Bus, settlement: Any, admin: Any
) -> None:
    over, under = f"dealer:{bus.uid('OVER')}", f"dealer:{bus.uid('UNDER')}"
    big = [("wholesale", 2**62), ("payment", 2**62), ("ownership", 2**62)]
    await seed(stack, [(over, account, amount) for account, amount in big] + [(under, a, -n) for a, n in big])
    now = datetime.now(UTC)
    assert await refused(settlement.GetBalance, pb.GetBalanceRequest(party=over), admin) == "BALANCE_OUT_OF_RANGE"
    assert await refused(settlement.GetBalance, pb.GetBalanceRequest(party=under), admin) == "BALANCE_OUT_OF_RANGE"
    statement = pb.GenerateStatementRequest(
        party=over, period_start=ts(now - timedelta(days=1)), period_end=ts(now + timedelta(days=1))
    )
    assert await refused(settlement.GenerateStatement, statement, admin) == "BALANCE_OUT_OF_RANGE"
    payout = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=over, period_end=ts(datetime.now(UTC)))
    assert await refused(settlement.CreatePayout, payout, admin) == "BALANCE_LIMIT"
    close = pb.ClosePeriodRequest(period_end=ts(datetime.now(UTC)))
    assert await refused(settlement.ClosePeriod, close, admin) == "BALANCE_OUT_OF_RANGE"

    await seed(stack, [(over, account, -amount) for account, amount in big] + [(under, a, n) for a, n in big])
    end = datetime.now(UTC)
    closed = await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=admin)
    assert closed.period.period_end == ts(end)
    balance = await settlement.GetBalance(pb.GetBalanceRequest(party=over), metadata=admin)
    assert balance.balance.amount_minor == 0
