"""A payout that names no currency is in the brand's default one (CNY here); the same request retried naming
that currency is the same request, within the idempotency keys' retention as after it.

Before, the retry naming "CNY" was INVALID_ARGUMENT "already used for a different request" while the stored
answer was kept (its fingerprint was the request as sent, currency empty), and answered with the payout once
the key was purged (the payout's own check compares the currency it pays in) (audit F38)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine
from onepool_runtime.idempotency import purge
from onepool_runtime.testing.services import field_violations

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def engine(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield engine
    await engine.dispose()


def now() -> Timestamp:
    out = Timestamp()
    out.FromDatetime(datetime.now(UTC))
    return out


async def test_a_payout_retried_naming_the_default_currency_is_the_same_request(
    bus: Bus, settlement: Any, admin: Any, engine: Any
) -> None:
    dealer = bus.uid("D")
    party = f"dealer:{dealer}"
    paid_in = pb.RecordPaymentRequest(
        request_id=bus.uid("pay"), from_party=party, to_party="brand", amount=cny(700), reference="BANK-1"
    )
    await settlement.RecordPayment(paid_in, metadata=admin)  # the brand now owes the dealer 700
    request = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=party, period_end=now())
    first = (await settlement.CreatePayout(request, metadata=admin)).payout
    assert (first.amount.amount_minor, first.amount.currency) == (700, "CNY")

    named = pb.CreatePayoutRequest()
    named.CopyFrom(request)
    named.currency = "CNY"
    other = pb.CreatePayoutRequest()
    other.CopyFrom(request)
    other.currency = "USD"
    for stored in (True, False):  # the stored answer kept, then purged (end of its retention)
        if not stored:
            await asyncio.sleep(0.01)
            await purge(engine, 0.0)
        for same in (named, request):
            assert (await settlement.CreatePayout(same, metadata=admin)).payout == first, (stored, same.currency)
        with pytest.raises(grpc.aio.AioRpcError) as reused:
            await settlement.CreatePayout(other, metadata=admin)
        assert reused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(reused.value) == ["request_id"]
    balance = await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=admin)
    assert balance.balance.amount_minor == 0
