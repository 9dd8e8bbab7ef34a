"""Audit Y items 2 and 3: a request naming no currency no longer means CNY where that shows a party or a
period wrong. GenerateStatement is in the party's currency (CURRENCY_REQUIRED when it has several, as
CreatePayout); Reconcile checks every currency of the period. Naming a currency answers as before. A payment
from or to a dealer is not held to the currencies of its lines (docs/settlement.md "More than one currency")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from onepool.dealers.v1 import dealers_pb2
from onepool.dealers.v1 import events_pb2 as dealer_events
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.testing.services import error_info

from tests.settlement.conftest import Bus, cny
from tests.settlement.test_currencies import in_usd, lines_of, usd, usd_sale_from_a_cny_dealers_shop
from tests.settlement.test_money_moves import refused, ts

pytestmark = pytest.mark.asyncio


async def test_a_statement_naming_no_currency_is_in_the_partys(bus: Bus, settlement: Any, admin: Any) -> None:
    """The USD marketplace's statement without a currency was an empty CNY one. It is now its USD account; the
    dealer with lines in CNY and USD is asked to name one; named, CNY is as before; a party without lines
    gets the default currency's (empty) statement."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    channel, dealer, _ = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)
    end = datetime.now(UTC) + timedelta(seconds=1)

    def statement(party: str, currency: str = "") -> pb.GenerateStatementRequest:
        return pb.GenerateStatementRequest(party=party, period_start=ts(start), period_end=ts(end), currency=currency)

    got = (await settlement.GenerateStatement(statement(f"channel:{channel}"), metadata=admin)).statement
    assert (got.currency, got.opening, got.closing, got.line_count) == ("USD", usd(0), usd(400), 1)

    error = await refused(
        settlement.GenerateStatement, statement(f"dealer:{dealer}"), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    info = error_info(error)
    assert info is not None and info.reason == "CURRENCY_REQUIRED", error.details()
    assert info.metadata["currencies"] == "CNY,USD"

    got = (await settlement.GenerateStatement(statement(f"dealer:{dealer}", "CNY"), metadata=admin)).statement
    assert (got.currency, got.closing, got.line_count) == ("CNY", cny(8_000), 1)
    got = (await settlement.GenerateStatement(statement(f"dealer:{bus.uid('D')}"), metadata=admin)).statement
    assert (got.currency, got.closing, got.line_count) == ("CNY", cny(0), 0)


async def test_reconcile_naming_no_currency_checks_every_currency(bus: Bus, settlement: Any, admin: Any) -> None:
    """Reconcile without a currency checked CNY only: an order whose USD sale is missing (goods moved for it,
    valued in USD, no sale booked) went unreported. It now checks every currency of the period, naming each
    discrepancy's currency, with each currency's figures in `totals`; named, one currency as before."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    _, dealer, order_id = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)
    unsold = bus.uid("O")
    move = dealers_pb2.OwnershipMove(
        id=f"fulfillment:{unsold}:F1",
        reason=dealers_pb2.OWNERSHIP_MOVE_REASON_FULFILLMENT,
        from_dealer_id=dealer,
        lines=[dealers_pb2.OwnershipMoveLine(sku="TEA", quantity=1, unit_price=usd(600))],
        total=usd(600),
        order_id=unsold,
    )
    await bus.publish("dealers.ownership.moved", dealer_events.OwnershipMoved(move=move))
    await lines_of(bus, settlement, admin, unsold, {"ownership"})
    end = datetime.now(UTC) + timedelta(seconds=1)

    async def reconcile(currency: str) -> pb.ReconcileResponse:
        request = pb.ReconcileRequest(period_start=ts(start), period_end=ts(end), currency=currency)
        return await settlement.Reconcile(request, metadata=admin)

    def found(report: pb.ReconcileResponse) -> list[tuple[str, str, str]]:
        ours = (order_id, unsold)
        return [(d.order_id, d.kind, d.currency) for d in report.discrepancies if d.order_id in ours]

    every = await reconcile("")
    assert found(every) == [(unsold, "missing_settlement", "USD")]
    by_currency = {t.currency: t for t in every.totals}
    assert {"CNY", "USD"} <= by_currency.keys()
    assert by_currency["USD"].gross.currency == "USD" and by_currency["USD"].gross.amount_minor >= 4_000
    assert by_currency["USD"].ledger_sum == usd(0) and by_currency["CNY"].ledger_sum == cny(0)
    # Amounts of two currencies are not one figure: only the counts add up.
    assert not every.HasField("gross") and not every.HasField("ledger_sum")
    assert every.entries_checked == sum(t.entries_checked for t in every.totals)

    in_usd = await reconcile("USD")
    assert found(in_usd) == [(unsold, "missing_settlement", "USD")]
    assert [t.currency for t in in_usd.totals] == ["USD"] and in_usd.gross == in_usd.totals[0].gross
    in_cny = await reconcile("CNY")
    assert found(in_cny) == []
    assert in_cny.ledger_sum == cny(0) and [t.currency for t in in_cny.totals] == ["CNY"]


async def test_reconcile_of_a_period_with_nothing_answers_in_the_default_currency(settlement: Any, admin: Any) -> None:
    """A request without a currency for a period the ledger has nothing in answers as it did: CNY zeros."""
    start = datetime(2001, 1, 1, tzinfo=UTC)
    request = pb.ReconcileRequest(period_start=ts(start), period_end=ts(start + timedelta(days=1)))
    report = await settlement.Reconcile(request, metadata=admin)
    assert (report.gross, report.ledger_sum, report.orders_settled, list(report.discrepancies)) == (
        cny(0),
        cny(0),
        0,
        [],
    )
    assert [t.currency for t in report.totals] == ["CNY"]


async def test_a_dealer_pays_in_its_credit_currency_whatever_currencies_its_lines_are_in(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """A CNY dealer whose shop shipped a USD marketplace sale has one line so far, the USD fee: its CNY
    prepayment is posted (a check "only currencies it has lines in" refused it)."""
    channel, dealer, order_id = bus.uid("AMZ"), bus.uid("D"), bus.uid("O")
    terms = bus.channel(channel, 1_000)
    terms.currency = "USD"
    await bus.channel_created(terms)
    shipped = bus.fulfillment("F1", "DSC-1", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    await bus.order_shipped(in_usd(bus.order(order_id, channel, [("TEA", 2, 2_000)], fulfillments=[shipped])), "F1")
    await lines_of(bus, settlement, admin, order_id, {"sale", "fulfilment_fee"})
    paid = await settlement.RecordPayment(
        pb.RecordPaymentRequest(
            request_id=bus.uid("pay"), from_party=f"dealer:{dealer}", to_party="brand", amount=cny(10_000)
        ),
        metadata=admin,
    )
    assert paid.payment.entry_id and paid.payment.amount == cny(10_000)
