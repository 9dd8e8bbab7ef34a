"""The instants settlement is given bound what they would: a Timestamp finer than a microsecond (the ledger's
resolution) is rounded up, never down (an end one nanosecond after a line became the line's own time and left
it out), while microseconds are kept as sent. A statement file is
named for the business date its period ends on in the brand's business time zone (Asia/Shanghai by default),
not the UTC date. Through gRPC on real PostgreSQL and NATS.

Its own module: it closes a period, which closes it for every test sharing the service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb

from tests.settlement.conftest import cny

pytestmark = pytest.mark.asyncio

SHANGHAI = timezone(timedelta(hours=8))


def ts(value: datetime, *, extra_nanos: int = 0) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    out.nanos += extra_nanos
    return out


async def test_a_statement_file_is_named_for_the_business_date_its_period_ends_on(settlement: Any, admin: Any) -> None:
    """November in Shanghai: 2026-11-01T00:00+08:00 .. 2026-12-01T00:00+08:00 (= 2026-11-30T16:00Z)."""
    party = f"dealer:D-{uuid.uuid4().hex[:8]}"
    start, end = datetime(2026, 11, 1, tzinfo=SHANGHAI), datetime(2026, 12, 1, tzinfo=SHANGHAI)
    request = pb.GenerateStatementRequest(party=party, period_start=ts(start), period_end=ts(end))
    st = (await settlement.GenerateStatement(request, metadata=admin)).statement
    export = await settlement.ExportStatement(
        pb.ExportStatementRequest(statement_id=st.id, format=pb.STATEMENT_FORMAT_CSV), metadata=admin
    )
    assert export.filename == f"statement-{party.replace(':', '-')}-CNY-2026-12-01-{st.id}.csv"


async def test_an_instant_finer_than_a_microsecond_bounds_exactly_what_it_would(settlement: Any, admin: Any) -> None:
    """A line at t: a bound at t + 1 ns ends after it and starts after it (before: truncated to t, an end there
    left the line out and a start there took it in)."""
    party = f"dealer:D-{uuid.uuid4().hex[:8]}"
    paid = pb.RecordPaymentRequest(
        request_id=f"pay-{uuid.uuid4().hex[:8]}", from_party="brand", to_party=party, amount=cny(1_234)
    )
    await settlement.RecordPayment(paid, metadata=admin)
    (line,) = (await settlement.ListEntries(pb.ListEntriesRequest(party=party), metadata=admin)).entries
    t = line.created_at
    assert t.nanos % 1000 == 0
    just_after = Timestamp(seconds=t.seconds, nanos=t.nanos + 1)
    hour_before = ts(t.ToDatetime(UTC) - timedelta(hours=1))

    until = pb.ListEntriesRequest(party=party, **{"from": hour_before, "to": just_after})
    assert [e.id for e in (await settlement.ListEntries(until, metadata=admin)).entries] == [line.id]
    since = pb.ListEntriesRequest(party=party, **{"from": just_after})
    assert not (await settlement.ListEntries(since, metadata=admin)).entries
    request = pb.GenerateStatementRequest(party=party, period_start=hour_before, period_end=just_after)
    statement = (await settlement.GenerateStatement(request, metadata=admin)).statement
    assert statement.line_count == 1 and statement.closing.amount_minor == line.amount.amount_minor
    assert statement.period_end == Timestamp(seconds=t.seconds, nanos=t.nanos + 1000)  # answered rounded up

    # Half a second past the hour is kept to the microsecond, in the answer and in what was closed.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    half = end + timedelta(microseconds=500_000)
    close = pb.ClosePeriodRequest(request_id=f"close-{uuid.uuid4().hex[:8]}", period_end=ts(half))
    period = (await settlement.ClosePeriod(close, metadata=admin)).period
    assert period.period_end == ts(half) and period.period_end.nanos == 500_000_000
    (listed,) = (await settlement.ListPeriods(pb.ListPeriodsRequest(), metadata=admin)).periods
    assert listed.period_end == ts(half)
