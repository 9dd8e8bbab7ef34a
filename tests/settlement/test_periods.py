"""Closing the books: a late return posts into the first open period and names the sale and the closed
period it corrects (worked example 5); a closed period's statement never changes and exports as CSV; the
database refuses a line dated into a closed period; ClosePeriod is the brand's act and is idempotent.

Its own module: closing a period closes it for every test sharing the service."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import plain_url
from onepool_runtime.testing.services import error_info, field_violations, metadata

from tests.settlement.conftest import Bus

pytestmark = pytest.mark.asyncio


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def refused(call: Any, request: Any, md: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def statement(settlement: Any, md: Any, party: str, start: datetime, end: datetime) -> pb.Statement:
    request = pb.GenerateStatementRequest(party=party, period_start=ts(start), period_end=ts(end))
    return (await settlement.GenerateStatement(request, metadata=md)).statement


def stable(st: pb.Statement) -> tuple[Any, ...]:
    """What must not change between two generations of a final statement (not its id or generation time)."""
    return (
        st.opening,
        st.closing,
        st.final,
        [(ln.entry.id, ln.entry.amount.amount_minor, ln.running_balance.amount_minor) for ln in st.lines],
    )


async def test_a_late_return_posts_into_the_open_period_and_names_what_it_corrects(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Worked example 5. Period 1: a marketplace (5%) sale of 10 000. Period 1 closes. A return of 4 000
    arrives: it posts in period 2 (brand -3 800, marketplace -200, clearing +4 000), naming the sale and
    period 1's end; period 1's statement is unchanged, period 2 opens at period 1's closing."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    market, order_id = bus.uid("JD"), bus.uid("O")
    party = f"channel:{market}"
    await bus.channel_created(bus.channel(market, 500))
    order = bus.order(order_id, market, [("TEA", 2, 5_000)])
    await bus.order_paid(order)

    async def lines() -> list[pb.JournalLine]:
        return list((await settlement.ListEntries(pb.ListEntriesRequest(order_id=order_id), metadata=admin)).entries)

    sale = await bus.eventually(lines, lambda ls: len(ls) == 3)
    sale_entry = sale[0].entry_id
    end = datetime.now(UTC)
    period = (await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=admin)).period
    assert period.period_end == ts(end)
    before = await statement(settlement, admin, party, start, end)
    assert (before.final, before.closing.amount_minor, before.line_count) == (True, 500, 1)

    await bus.order_returned(order, bus.uid("R"), 4_000)
    posted = await bus.eventually(lines, lambda ls: len(ls) == 6)
    late = [ln for ln in posted if ln.rule == "return"]
    assert {ln.party: ln.amount.amount_minor for ln in late} == {"clearing": 4_000, "brand": -3_800, party: -200}
    for ln in late:
        assert ln.corrects_entry_id == sale_entry
        assert ln.corrects_period_end == ts(end)
        assert ln.created_at.ToDatetime(UTC) >= end
        assert "late" in ln.memo

    # Period 1's statement, generated again, is the same; period 2 opens where period 1 closed.
    after = await statement(settlement, admin, party, start, end)
    assert stable(after) == stable(before)
    now = datetime.now(UTC) + timedelta(seconds=1)
    second = await statement(settlement, admin, party, end, now)
    assert (second.final, second.opening.amount_minor, second.closing.amount_minor) == (False, 500, 300)
    assert await balance(settlement, admin, party) == 300

    # The accountant's file: the header, each line with its references, the closing.
    export = await settlement.ExportStatement(
        pb.ExportStatementRequest(statement_id=second.id, format=pb.STATEMENT_FORMAT_CSV), metadata=admin
    )
    assert export.content_type.startswith("text/csv") and export.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert ["opening_balance_minor", "500"] in rows and ["closing_balance_minor", "300"] in rows
    header = rows.index(
        [
            "line_id",
            "posted_at",
            "occurred_at",
            "entry_id",
            "rule",
            "account",
            "order_id",
            "reference",
            "source_subject",
            "source_event_id",
            "corrects_entry_id",
            "corrects_period_end",
            "memo",
            "currency",
            "amount_minor",
            "running_balance_minor",
        ]
    )
    body = rows[header + 1]
    assert (body[4], body[6], body[8], body[10], body[14], body[15]) == (
        "return",
        order_id,
        "orders.order.returned",
        sale_entry,
        "-200",
        "300",
    )

    # The marketplace may export its own statement, another channel may not.
    own = metadata("channel", channel_id=market)
    request = pb.ExportStatementRequest(statement_id=second.id, format=pb.STATEMENT_FORMAT_CSV)
    assert (await settlement.ExportStatement(request, metadata=own)).content == export.content
    other = metadata("channel", channel_id=bus.uid("X"))
    await refused(settlement.ExportStatement, request, other, grpc.StatusCode.PERMISSION_DENIED)
    bad = pb.ExportStatementRequest(statement_id=second.id)
    assert field_violations(
        await refused(settlement.ExportStatement, bad, admin, grpc.StatusCode.INVALID_ARGUMENT)
    ) == ["format"]


async def balance(settlement: Any, md: Any, party: str) -> int:
    return int((await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=md)).balance.amount_minor)


async def test_closing_is_idempotent_never_reopens_and_never_closes_the_future(settlement: Any, admin: Any) -> None:
    end = datetime.now(UTC)
    first = (await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=admin)).period
    again = (await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=admin)).period
    assert again == first
    earlier = pb.ClosePeriodRequest(period_end=ts(end - timedelta(minutes=1)))
    error = await refused(settlement.ClosePeriod, earlier, admin, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "PERIOD_ALREADY_CLOSED"
    future = pb.ClosePeriodRequest(period_end=ts(datetime.now(UTC) + timedelta(hours=1)))
    error = await refused(settlement.ClosePeriod, future, admin, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "PERIOD_NOT_OVER"
    missing = await refused(settlement.ClosePeriod, pb.ClosePeriodRequest(), admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(missing) == ["period_end"]
    dealer = metadata("dealer", dealer_id="D1")
    await refused(
        settlement.ClosePeriod, pb.ClosePeriodRequest(period_end=ts(end)), dealer, grpc.StatusCode.PERMISSION_DENIED
    )
    periods, token = [], ""
    while True:  # a period a page: the tokens lead through all of them, oldest first
        page = await settlement.ListPeriods(pb.ListPeriodsRequest(page_size=1, page_token=token), metadata=admin)
        periods += page.periods
        if not (token := page.next_page_token):
            break
    assert periods[-1] == first
    assert [p.period_end.ToDatetime() for p in periods] == sorted(p.period_end.ToDatetime() for p in periods)
    assert all(p.period_start == q.period_end for q, p in itertools.pairwise(periods))
    everything = await settlement.ListPeriods(pb.ListPeriodsRequest(page_size=500), metadata=admin)
    assert list(everything.periods) == periods and everything.next_page_token == ""


async def test_a_retried_close_of_an_older_end_returns_that_period(settlement: Any, admin: Any) -> None:
    """Close T1, then T2, then a retry of ClosePeriod(T1) without request_id (its answer was lost): it gets
    the period closed at T1, as closed; an earlier end that was never closed stays PERIOD_ALREADY_CLOSED."""
    t1 = datetime.now(UTC)
    first = (await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(t1)), metadata=admin)).period
    t2 = datetime.now(UTC)
    await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(t2)), metadata=admin)
    retry = (await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(t1)), metadata=admin)).period
    assert retry == first
    between = pb.ClosePeriodRequest(period_end=ts(t1 + (t2 - t1) / 2))
    error = await refused(settlement.ClosePeriod, between, admin, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "PERIOD_ALREADY_CLOSED"


async def test_the_database_refuses_a_line_dated_into_a_closed_period(stack: Any, settlement: Any, admin: Any) -> None:
    """The code posts at clock_timestamp() under the period lock; the trigger holds even against a bug."""
    end = datetime.now(UTC)
    await settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=admin)
    conn = await asyncpg.connect(plain_url(stack.database_url), server_settings={"search_path": "settlement"})
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="closed period"):
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id,"
                    " source_subject, memo) VALUES ('backdated', 'backdated', 'payment', 'CNY', '', '', '', '')"
                )
                for party, amount in (("brand", 1), ("dealer:D9", -1)):
                    await conn.execute(
                        "INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id,"
                        " created_at) VALUES ('backdated', $1, 'payment', 'CNY', $2, '', $3)",
                        party,
                        amount,
                        end - timedelta(seconds=1),
                    )
    finally:
        await conn.close()
