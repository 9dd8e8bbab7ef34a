"""Who may read which ledger, and bad input: a party token reads only its own party; bad requests are
INVALID_ARGUMENT naming the field, never INTERNAL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.testing.services import field_violations, metadata

pytestmark = pytest.mark.asyncio

NOW = datetime.now(UTC)


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code()


@pytest.fixture(scope="module")
async def dealer_statement(bus: Any, settlement: Any, admin: Any) -> str:
    """A statement of dealer D1, with a line in it."""
    await bus.replenishment_received("RP-1", "D1", 1_000)
    await bus.eventually(
        lambda: settlement.GetBalance(pb.GetBalanceRequest(party="dealer:D1"), metadata=admin),
        lambda r: r.balance.amount_minor == -1_000,
    )
    request = pb.GenerateStatementRequest(
        party="dealer:D1", period_start=ts(NOW - timedelta(days=1)), period_end=ts(NOW + timedelta(days=1))
    )
    statement = (await settlement.GenerateStatement(request, metadata=admin)).statement
    assert statement.line_count == 1
    return str(statement.id)


async def test_a_dealer_reads_its_own_balance_entries_and_statements(settlement: Any, dealer_statement: str) -> None:
    d1 = metadata("dealer", dealer_id="D1")
    response = await settlement.GetBalance(pb.GetBalanceRequest(party="dealer:D1"), metadata=d1)
    assert response.balance.amount_minor == -1_000 and response.balance.currency == "CNY"
    entries = await settlement.ListEntries(pb.ListEntriesRequest(party="dealer:D1"), metadata=d1)
    assert [e.rule for e in entries.entries] == ["wholesale"]
    got = await settlement.GetStatement(pb.GetStatementRequest(id=dealer_statement), metadata=d1)
    assert got.statement.party == "dealer:D1"


async def test_a_dealer_token_cannot_read_another_partys_ledger(settlement: Any, dealer_statement: str) -> None:
    d2 = metadata("dealer", dealer_id="D2")
    period = {"period_start": ts(NOW - timedelta(days=1)), "period_end": ts(NOW)}
    denied = [
        settlement.GetBalance(pb.GetBalanceRequest(party="dealer:D1"), metadata=d2),
        settlement.GetBalance(pb.GetBalanceRequest(party="brand"), metadata=d2),
        settlement.ListEntries(pb.ListEntriesRequest(party="dealer:D1"), metadata=d2),
        settlement.GenerateStatement(pb.GenerateStatementRequest(party="dealer:D1", **period), metadata=d2),
        settlement.GetStatement(pb.GetStatementRequest(id=dealer_statement), metadata=d2),
        settlement.Reconcile(pb.ReconcileRequest(**period), metadata=d2),
    ]
    for call in denied:
        assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED


async def test_a_scoped_token_that_names_no_party_lists_its_own_lines(settlement: Any, dealer_statement: str) -> None:
    # As ListPayouts and every other list: an empty party is "mine" for a dealer or channel token.
    own = await settlement.ListEntries(pb.ListEntriesRequest(), metadata=metadata("dealer", dealer_id="D1"))
    assert [(e.party, e.rule) for e in own.entries] == [("dealer:D1", "wholesale")]
    other = await settlement.ListEntries(pb.ListEntriesRequest(), metadata=metadata("dealer", dealer_id="D2"))
    assert list(other.entries) == []
    everything = await settlement.ListEntries(pb.ListEntriesRequest(), metadata=metadata("admin"))
    assert {e.party for e in everything.entries} > {"dealer:D1"}


async def test_a_channel_token_reads_only_its_own_channel(settlement: Any) -> None:
    tmall = metadata("channel", channel_id="TMALL")
    ok = await settlement.GetBalance(pb.GetBalanceRequest(party="channel:TMALL"), metadata=tmall)
    assert ok.balance.amount_minor == 0
    for party in ("channel:JD", "dealer:D1", "brand", "clearing"):
        call = settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=tmall)
        assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED


async def test_store_tokens_and_missing_tokens_are_refused(settlement: Any) -> None:
    store = metadata("store", location_id="SHOP-1")
    call = settlement.GetBalance(pb.GetBalanceRequest(party="brand"), metadata=store)
    assert await code_of(call) == grpc.StatusCode.PERMISSION_DENIED
    assert await code_of(settlement.GetBalance(pb.GetBalanceRequest(party="brand"))) == grpc.StatusCode.UNAUTHENTICATED


def _later(hours: int) -> Timestamp:
    return ts(NOW + timedelta(hours=hours))


CASES = [
    ("GetBalance", pb.GetBalanceRequest(), ["party"]),
    ("GetBalance", pb.GetBalanceRequest(party="vendor:x"), ["party"]),
    ("GetBalance", pb.GetBalanceRequest(party="dealer:"), ["party"]),
    ("GetBalance", pb.GetBalanceRequest(party="dealer:D1", currency="cny"), ["currency"]),
    ("ListEntries", pb.ListEntriesRequest(party="dealer D1"), ["party"]),
    ("ListEntries", pb.ListEntriesRequest(page_token="%%%not-a-token"), ["page_token"]),
    ("ListEntries", pb.ListEntriesRequest(page_token="eyJhZnRlciI6LTF9"), ["page_token"]),  # {"after":-1}
    ("ListEntries", pb.ListEntriesRequest(page_size=-1), ["page_size"]),
    ("ListEntries", pb.ListEntriesRequest(**{"from": _later(2), "to": _later(1)}), ["to"]),
    ("GenerateStatement", pb.GenerateStatementRequest(), ["party", "period_start", "period_end"]),
    (
        "GenerateStatement",
        pb.GenerateStatementRequest(party="brand", period_start=_later(2), period_end=_later(1)),
        ["period_end"],
    ),
    (
        "GenerateStatement",
        pb.GenerateStatementRequest(party="brand", period_start=Timestamp(seconds=10**12), period_end=_later(1)),
        ["period_start"],
    ),
    ("GetStatement", pb.GetStatementRequest(), ["id"]),
    ("Reconcile", pb.ReconcileRequest(), ["period_start", "period_end"]),
    ("Reconcile", pb.ReconcileRequest(period_start=_later(1), period_end=_later(1)), ["period_end"]),
]


@pytest.mark.parametrize(("rpc", "request_message", "fields"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
async def test_bad_input_is_invalid_argument_naming_the_field(
    settlement: Any, admin: Any, rpc: str, request_message: Any, fields: list[str]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(settlement, rpc)(request_message, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert set(fields) <= set(field_violations(caught.value))


async def test_an_unknown_statement_is_not_found(settlement: Any, admin: Any) -> None:
    call = settlement.GetStatement(pb.GetStatementRequest(id="no-such-statement"), metadata=admin)
    assert await code_of(call) == grpc.StatusCode.NOT_FOUND
