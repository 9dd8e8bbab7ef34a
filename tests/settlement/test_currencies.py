"""A brand selling in more than one currency (audit Y): a USD marketplace selling from a CNY dealer's shop.

Its USD sale's lines are USD, the goods the brand took over from the dealer's shop for it CNY (valued at the
dealer's CNY wholesale price). Reconcile checks each order in the currency it was sold in; GetBalance shows a
party's balance in every currency it has lines in; a payout naming no currency is refused, naming them, when
the brand owes the party in another currency; a channel's payments are in the currency it sells in
(docs/settlement.md "More than one currency")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.testing.services import error_info

from tests.settlement.conftest import Bus, cny
from tests.settlement.test_money_moves import refused, ts

pytestmark = pytest.mark.asyncio


def usd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="USD", amount_minor=amount)


def in_usd(order: facts_pb2.OrderFacts) -> facts_pb2.OrderFacts:
    """The order's facts with every amount in USD (the Bus builds CNY ones)."""
    for money in (order.total, order.paid, order.refunded):
        money.currency = "USD"
    for line in order.lines:
        line.unit_price.currency = line.line_total.currency = "USD"
    return order


async def lines_of(bus: Bus, settlement: Any, md: Any, order_id: str, rules: set[str]) -> list[pb.JournalLine]:
    async def probe() -> list[pb.JournalLine]:
        return list((await settlement.ListEntries(pb.ListEntriesRequest(order_id=order_id), metadata=md)).entries)

    return await bus.eventually(probe, lambda lines: rules <= {ln.rule for ln in lines})


async def usd_sale_from_a_cny_dealers_shop(bus: Bus, settlement: Any, admin: Any) -> tuple[str, str, str]:
    """A USD marketplace (10% fee) sells 2 x 2 000 USD of the brand's; the CNY dealer's shop ships it and the
    brand takes the dealer's goods over at 4 000 CNY each. Returns (channel, dealer, order)."""
    channel, dealer, order_id = bus.uid("AMZ"), bus.uid("D"), bus.uid("O")
    terms = bus.channel(channel, 1_000)
    terms.currency = "USD"
    await bus.channel_created(terms)
    shipped = bus.fulfillment("F1", "DSC-1", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    order = in_usd(bus.order(order_id, channel, [("TEA", 2, 2_000)], fulfillments=[shipped]))
    await bus.order_shipped(order, "F1")
    await bus.ownership_moved(
        f"fulfillment:{order_id}:F1",
        dealers_pb2.OWNERSHIP_MOVE_REASON_FULFILLMENT,
        giver=dealer,
        taker="",
        lines=[("TEA", 2, 4_000)],
        order_id=order_id,
    )
    lines = await lines_of(bus, settlement, admin, order_id, {"sale", "fulfilment_fee", "ownership"})
    assert sorted((ln.rule, ln.party, ln.amount.currency, ln.amount.amount_minor) for ln in lines) == sorted(
        [
            ("sale", "clearing", "USD", -4_000),
            ("sale", f"channel:{channel}", "USD", 400),
            ("sale", "brand", "USD", 3_600),
            ("fulfilment_fee", "brand", "USD", -200),
            ("fulfilment_fee", f"dealer:{dealer}", "USD", 200),
            ("ownership", "brand", "CNY", -8_000),
            ("ownership", f"dealer:{dealer}", "CNY", 8_000),
        ]
    )
    return channel, dealer, order_id


async def test_reconcile_checks_each_order_in_the_currency_it_was_sold_in(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Reconcile in CNY took the USD order for a CNY one (its ownership lines are CNY) and reported its sale
    missing. Each order is now checked in its sale's currency; an order whose sale really is missing (goods
    moved for it, no sale booked) is still found, in the currency of its lines."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    _, dealer, order_id = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)
    unsold = bus.uid("O")
    await bus.ownership_moved(
        f"fulfillment:{unsold}:F1",
        dealers_pb2.OWNERSHIP_MOVE_REASON_FULFILLMENT,
        giver=dealer,
        taker="",
        lines=[("TEA", 1, 4_000)],
        order_id=unsold,
    )
    await lines_of(bus, settlement, admin, unsold, {"ownership"})
    end = datetime.now(UTC) + timedelta(seconds=1)

    async def found(currency: str) -> list[tuple[str, str]]:
        request = pb.ReconcileRequest(period_start=ts(start), period_end=ts(end), currency=currency)
        report = await settlement.Reconcile(request, metadata=admin)
        return [(d.order_id, d.kind) for d in report.discrepancies if d.order_id in (order_id, unsold)]

    assert await found("CNY") == [(unsold, "missing_settlement")]
    assert await found("USD") == []
    assert await found("") == [(unsold, "missing_settlement")]  # every currency: the USD order has none


async def test_get_balance_shows_every_currency_of_the_party(bus: Bus, settlement: Any, admin: Any) -> None:
    """GetBalance without a currency said the USD marketplace's balance was 0 (CNY), nothing more. It still
    answers in the default currency, and lists the party's balance in every currency it has lines in."""
    channel, dealer, _ = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)

    got = await settlement.GetBalance(pb.GetBalanceRequest(party=f"channel:{channel}"), metadata=admin)
    assert got.balance == cny(0)
    assert list(got.balances) == [usd(400)]
    got = await settlement.GetBalance(pb.GetBalanceRequest(party=f"dealer:{dealer}", currency="USD"), metadata=admin)
    assert got.balance == usd(200)
    assert list(got.balances) == [cny(8_000), usd(200)]
    nobody = await settlement.GetBalance(pb.GetBalanceRequest(party=f"dealer:{bus.uid('D')}"), metadata=admin)
    assert (nobody.balance, list(nobody.balances)) == (cny(0), [])


async def test_a_payout_naming_no_currency_is_refused_when_the_party_is_owed_in_another(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """CreatePayout without a currency paid in CNY: NOTHING_TO_PAY to the marketplace owed 400 USD. It is now
    CURRENCY_REQUIRED naming what the party is owed in, and changes nothing; named, the currency is paid."""
    channel, dealer, _ = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)
    now = ts(datetime.now(UTC))

    def payout(party: str, currency: str = "") -> pb.CreatePayoutRequest:
        return pb.CreatePayoutRequest(request_id=bus.uid("po"), party=party, period_end=now, currency=currency)

    error = await refused(
        settlement.CreatePayout, payout(f"channel:{channel}"), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    info = error_info(error)
    assert info is not None and info.reason == "CURRENCY_REQUIRED", error.details()
    assert (info.metadata["currencies"], info.metadata["default_currency"]) == ("USD", "CNY")
    assert "400 USD" in (error.details() or "")
    # Owed in CNY and in USD: which one is the operator's to say.
    error = await refused(
        settlement.CreatePayout, payout(f"dealer:{dealer}"), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    info = error_info(error)
    assert info is not None and info.reason == "CURRENCY_REQUIRED"
    assert info.metadata["currencies"] == "CNY,USD"

    paid = (await settlement.CreatePayout(payout(f"channel:{channel}", "USD"), metadata=admin)).payout
    assert paid.amount == usd(400)
    paid = (await settlement.CreatePayout(payout(f"dealer:{dealer}", "CNY"), metadata=admin)).payout
    assert paid.amount == cny(8_000)
    # Owed in USD only now: still named, never a silent CNY payout.
    error = await refused(
        settlement.CreatePayout, payout(f"dealer:{dealer}"), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "CURRENCY_REQUIRED"  # type: ignore[union-attr]
    paid = (await settlement.CreatePayout(payout(f"dealer:{dealer}", "USD"), metadata=admin)).payout
    assert paid.amount == usd(200)
    # Owed nothing anywhere: the default currency's answer, as before.
    error = await refused(
        settlement.CreatePayout, payout(f"dealer:{dealer}"), admin, grpc.StatusCode.FAILED_PRECONDITION
    )
    assert error_info(error).reason == "NOTHING_TO_PAY"  # type: ignore[union-attr]


async def test_a_channel_pays_and_is_paid_only_in_the_currency_it_sells_in(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """A USD marketplace "remitting" CNY moved CNY out of clearing that none of its sales put there. Payments
    from or to a channel in another currency are CURRENCY_MISMATCH and post nothing; in its currency they
    post as before."""
    channel, _, _ = await usd_sale_from_a_cny_dealers_shop(bus, settlement, admin)
    party = f"channel:{channel}"

    def pay(from_party: str, to_party: str, amount: Any, fee: Any = None) -> pb.RecordPaymentRequest:
        return pb.RecordPaymentRequest(
            request_id=bus.uid("pay"), from_party=from_party, to_party=to_party, amount=amount, fee_retained=fee
        )

    for request in (pay(party, "brand", cny(3_600), cny(400)), pay("brand", party, cny(100))):
        error = await refused(settlement.RecordPayment, request, admin, grpc.StatusCode.FAILED_PRECONDITION)
        info = error_info(error)
        assert info is not None and info.reason == "CURRENCY_MISMATCH", error.details()
        assert (info.metadata["party"], info.metadata["channel_currency"]) == (party, "USD")
    listed = await settlement.ListEntries(pb.ListEntriesRequest(party=party), metadata=admin)
    assert {ln.rule for ln in listed.entries} == {"sale"}

    payment = (await settlement.RecordPayment(pay(party, "brand", usd(3_600), usd(400)), metadata=admin)).payment
    assert payment.amount == usd(3_600)
    assert {ln.amount.currency for ln in payment.lines} == {"USD"}
    got = await settlement.GetBalance(pb.GetBalanceRequest(party=party, currency="USD"), metadata=admin)
    assert got.balance == usd(0)
