"""Money that moves between parties, as docs/settlement.md's worked examples (exact amounts per party):
a payout of a dealer's fulfillment fees, a marketplace remittance net of its fee, a brand-owned return
received at a dealer's shop. Also: a payout pays what was owed at its period_end less what settled the party's
claims since, never what the party paid in; payments and payouts are idempotent by request_id (also after the
stored answer is purged: a reused request_id is refused), refuse bad input with the field named, and are the
brand's acts (a dealer token may read its payouts, not make them)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine
from onepool_runtime.idempotency import purge
from onepool_runtime.testing.services import error_info, field_violations, metadata
from onepool_runtime.validation import encode_page_token
from onepool_settlement.adapters.repository import PERIOD_LOCK_KEY
from sqlalchemy import text

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def per_party(lines: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        out[line.party] += line.amount.amount_minor
    return {k: v for k, v in out.items() if v}


async def balance(settlement: Any, md: Any, party: str) -> int:
    return int((await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=md)).balance.amount_minor)


async def order_lines(bus: Bus, settlement: Any, md: Any, order_id: str, rules: set[str]) -> list[pb.JournalLine]:
    async def probe() -> list[pb.JournalLine]:
        return list((await settlement.ListEntries(pb.ListEntriesRequest(order_id=order_id), metadata=md)).entries)

    return await bus.eventually(probe, lambda lines: rules <= {ln.rule for ln in lines})


async def refused(call: Any, request: Any, md: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(request, metadata=md)
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def test_payout_of_a_dealers_fulfillment_fees(bus: Bus, settlement: Any, admin: Any) -> None:
    """Worked example 2. A brand online-store sale of 20 000 shipped from dealer D's store earns D 5% =
    1 000; the payout pays D exactly that, and then D is owed nothing."""
    store_channel, dealer, order_id = bus.uid("WEB"), bus.uid("D"), bus.uid("O")
    await bus.channel_created(bus.channel(store_channel, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    shipped = bus.fulfillment("F1", "DS-1", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    order = bus.order(order_id, store_channel, [("TEA", 2, 10_000)], fulfillments=[shipped])
    await bus.order_shipped(order, "F1")
    lines = await order_lines(bus, settlement, admin, order_id, {"sale", "fulfilment_fee"})
    assert per_party(lines) == {"clearing": -20_000, "brand": 19_000, f"dealer:{dealer}": 1_000}

    request = pb.CreatePayoutRequest(
        request_id=bus.uid("payout"), party=f"dealer:{dealer}", period_end=ts(datetime.now(UTC))
    )
    payout = (await settlement.CreatePayout(request, metadata=admin)).payout
    assert (payout.party, payout.amount.amount_minor, payout.status) == (
        f"dealer:{dealer}",
        1_000,
        pb.PAYOUT_STATUS_PAID,
    )
    assert await balance(settlement, admin, f"dealer:{dealer}") == 0
    entry = await settlement.ListEntries(pb.ListEntriesRequest(party=f"dealer:{dealer}"), metadata=admin)
    assert [(e.rule, e.amount.amount_minor, e.reference) for e in entry.entries] == [
        ("fulfilment_fee", 1_000, ""),
        ("payout", -1_000, payout.id),
    ]

    # The same request is the same payout; a new one finds nothing owed and changes nothing.
    again = (await settlement.CreatePayout(request, metadata=admin)).payout
    assert again == payout
    second = pb.CreatePayoutRequest(
        request_id=bus.uid("payout"), party=f"dealer:{dealer}", period_end=ts(datetime.now(UTC))
    )
    error = await refused(settlement.CreatePayout, second, admin, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "NOTHING_TO_PAY"
    assert await balance(settlement, admin, f"dealer:{dealer}") == 0

    # The dealer reads its payout and its list; another dealer is refused, and cannot pay itself out.
    own = metadata("dealer", dealer_id=dealer)
    got = await settlement.GetPayout(pb.GetPayoutRequest(id=payout.id), metadata=own)
    assert got.payout == payout
    listed = await settlement.ListPayouts(pb.ListPayoutsRequest(), metadata=own)
    assert [p.id for p in listed.payouts] == [payout.id]
    other = metadata("dealer", dealer_id=bus.uid("D"))
    await refused(settlement.GetPayout, pb.GetPayoutRequest(id=payout.id), other, grpc.StatusCode.PERMISSION_DENIED)
    await refused(
        settlement.ListPayouts,
        pb.ListPayoutsRequest(party=f"dealer:{dealer}"),
        other,
        grpc.StatusCode.PERMISSION_DENIED,
    )
    await refused(settlement.CreatePayout, second, own, grpc.StatusCode.PERMISSION_DENIED)


async def earn_a_fulfillment_fee(bus: Bus, settlement: Any, admin: Any, dealer: str) -> None:
    """Dealer `dealer` ships a brand online-store sale of 2 x 10 000 and is owed its 5% fee, 1 000."""
    store = bus.uid("WEB")
    await bus.channel_created(bus.channel(store, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    shipped = bus.fulfillment("F1", "DS-1", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    await bus.order_shipped(bus.order(bus.uid("O"), store, [("TEA", 2, 10_000)], fulfillments=[shipped]), "F1")
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{dealer}"), lambda b: b == 1_000)


async def pay_in(bus: Bus, settlement: Any, admin: Any, dealer: str, amount: int) -> None:
    """The brand records `amount` arriving from the dealer (its debt falls)."""
    request = pb.RecordPaymentRequest(
        request_id=bus.uid("pay"), from_party=f"dealer:{dealer}", to_party="brand", amount=cny(amount)
    )
    await settlement.RecordPayment(request, metadata=admin)


async def payout_up_to(bus: Bus, settlement: Any, admin: Any, dealer: str, period_end: datetime) -> Any:
    request = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=f"dealer:{dealer}", period_end=ts(period_end))
    return await settlement.CreatePayout(request, metadata=admin)


async def test_a_payout_never_pays_a_party_back_what_it_paid_in_after_period_end(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """A payout pays the balance at period_end less what settled the party's claims since, never more than the
    party's balance now. Before, every payment line since period_end was added whatever its sign, so what a
    dealer paid the brand came back to it in its payout."""
    # Owed 1 000 at t; then buys 50 000 on credit and pays it off: still owed 1 000, paid 1 000 (was 51 000).
    settled = bus.uid("D")
    await earn_a_fulfillment_fee(bus, settlement, admin, settled)
    t = datetime.now(UTC)
    await asyncio.sleep(0.05)  # every later posting takes a time after t
    await bus.replenishment_received(bus.uid("RP"), settled, 50_000)
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{settled}"), lambda b: b == -49_000)
    await pay_in(bus, settlement, admin, settled, 50_000)
    payout = (await payout_up_to(bus, settlement, admin, settled, t)).payout
    assert payout.amount.amount_minor == 1_000
    assert await balance(settlement, admin, f"dealer:{settled}") == 0

    # Owed nothing at t0; then owes 50 000 and pays 20 000 of it: nothing to pay (was 20 000), still owes 30 000.
    indebted = bus.uid("D")
    t0 = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await bus.replenishment_received(bus.uid("RP"), indebted, 50_000)
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{indebted}"), lambda b: b == -50_000)
    await pay_in(bus, settlement, admin, indebted, 20_000)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await payout_up_to(bus, settlement, admin, indebted, t0)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_info(caught.value).reason == "NOTHING_TO_PAY"
    assert await balance(settlement, admin, f"dealer:{indebted}") == -30_000

    # Owed 1 000 at t; then owes 600 for new stock, unpaid: paid what it is owed on balance, 400.
    in_debt_since = bus.uid("D")
    await earn_a_fulfillment_fee(bus, settlement, admin, in_debt_since)
    t = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await bus.replenishment_received(bus.uid("RP"), in_debt_since, 600)
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{in_debt_since}"), lambda b: b == 400)
    payout = (await payout_up_to(bus, settlement, admin, in_debt_since, t)).payout
    assert payout.amount.amount_minor == 400
    assert await balance(settlement, admin, f"dealer:{in_debt_since}") == 0


@pytest.fixture
async def engine(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield engine
    await engine.dispose()


async def forget_the_stored_answers(engine: Any) -> None:
    """What the idempotency purge does to a key at the end of its retention (30 days), now."""
    await asyncio.sleep(0.01)
    await purge(engine, 0.0)


async def test_a_payment_request_id_reused_after_its_answer_was_purged_is_refused(
    bus: Bus, settlement: Any, admin: Any, engine: Any
) -> None:
    """The ledger keeps a payment's request_id for ever (its entry's key); the stored answer only 30 days. The
    same request after that gets the payment as posted; another one under the same request_id is refused and
    changes nothing. Before, it was answered with the first payment's entry under the new request's parties and
    amount, none of it posted."""
    a, b, request_id = bus.uid("DA"), bus.uid("DB"), bus.uid("pay")
    request = pb.RecordPaymentRequest(
        request_id=request_id, from_party=f"dealer:{a}", to_party="brand", amount=cny(1_000), reference="BANK-7"
    )
    first = (await settlement.RecordPayment(request, metadata=admin)).payment
    await forget_the_stored_answers(engine)

    assert (await settlement.RecordPayment(request, metadata=admin)).payment == first
    for change in (
        {"from_party": f"dealer:{b}"},
        {"amount": cny(7_777)},
        {"to_party": f"dealer:{b}"},
        {"reference": "BANK-8"},
    ):
        reused = pb.RecordPaymentRequest()
        reused.CopyFrom(request)
        for name, value in change.items():
            if name == "amount":
                reused.amount.CopyFrom(value)
            else:
                setattr(reused, name, value)
        await forget_the_stored_answers(engine)  # the replay above stored its answer again
        error = await refused(settlement.RecordPayment, reused, admin, grpc.StatusCode.INVALID_ARGUMENT)
        assert field_violations(error) == ["request_id"], change
    assert await balance(settlement, admin, f"dealer:{a}") == 1_000
    assert await balance(settlement, admin, f"dealer:{b}") == 0


async def test_a_payout_request_id_reused_after_its_answer_was_purged_is_refused(
    bus: Bus, settlement: Any, admin: Any, engine: Any
) -> None:
    """A payout's id comes from its request_id. After the stored answer was purged, the same request gets the
    payout made; another party, currency or period_end under the same request_id is refused and pays nothing.
    Before, it was answered with the first party's payout, and the party it named was never paid."""
    a, b, request_id = bus.uid("DA"), bus.uid("DB"), bus.uid("payout")
    for dealer in (a, b):
        await pay_in(bus, settlement, admin, dealer, 700)  # the brand now owes each 700
    t = datetime.now(UTC)
    request = pb.CreatePayoutRequest(request_id=request_id, party=f"dealer:{a}", period_end=ts(t))
    first = (await settlement.CreatePayout(request, metadata=admin)).payout
    assert first.amount.amount_minor == 700
    await forget_the_stored_answers(engine)

    assert (await settlement.CreatePayout(request, metadata=admin)).payout == first
    for reused in (
        pb.CreatePayoutRequest(request_id=request_id, party=f"dealer:{b}", period_end=ts(t)),
        pb.CreatePayoutRequest(request_id=request_id, party=f"dealer:{a}", period_end=ts(t + timedelta(seconds=-1))),
        pb.CreatePayoutRequest(request_id=request_id, party=f"dealer:{a}", period_end=ts(t), currency="USD"),
    ):
        await forget_the_stored_answers(engine)  # the replay above stored its answer again
        error = await refused(settlement.CreatePayout, reused, admin, grpc.StatusCode.INVALID_ARGUMENT)
        assert field_violations(error) == ["request_id"], reused
    assert await balance(settlement, admin, f"dealer:{a}") == 0
    assert await balance(settlement, admin, f"dealer:{b}") == 700
    listed = await settlement.ListPayouts(pb.ListPayoutsRequest(party=f"dealer:{b}"), metadata=admin)
    assert list(listed.payouts) == []


async def test_marketplace_remittance_net_of_its_fee(bus: Bus, settlement: Any, admin: Any) -> None:
    """Worked example 3. A marketplace (fee 5%) sells for 10 000: it holds the customer's money, the brand
    is owed 9 500 and the marketplace keeps 500. It remits 9 500 keeping its 500: everyone is settled."""
    market, order_id = bus.uid("TMALL"), bus.uid("O")
    await bus.channel_created(bus.channel(market, 500))
    await bus.order_paid(bus.order(order_id, market, [("TEA", 1, 10_000)]))
    sale = await order_lines(bus, settlement, admin, order_id, {"sale"})
    assert per_party(sale) == {"clearing": -10_000, f"channel:{market}": 500, "brand": 9_500}

    request = pb.RecordPaymentRequest(
        request_id=bus.uid("remit"),
        from_party=f"channel:{market}",
        to_party="brand",
        amount=cny(9_500),
        fee_retained=cny(500),
        reference="TMALL-SETTLE-0001",
    )
    payment = (await settlement.RecordPayment(request, metadata=admin)).payment
    assert per_party(payment.lines) == {"clearing": 10_000, f"channel:{market}": -500, "brand": -9_500}
    assert {ln.reference for ln in payment.lines} == {"TMALL-SETTLE-0001"}
    assert per_party([*sale, *payment.lines]) == {}
    assert await balance(settlement, admin, f"channel:{market}") == 0

    # Retried: the same payment, posted once.
    again = (await settlement.RecordPayment(request, metadata=admin)).payment
    assert again == payment
    assert await balance(settlement, admin, f"channel:{market}") == 0


async def test_a_dealer_payment_settles_its_debt_by_exactly_the_amount(bus: Bus, settlement: Any, admin: Any) -> None:
    """Worked example 1, the ledger's half (the dealer's credit is tests/dealers): a dealer owing 50 000 for a
    replenishment pays 20 000 and owes 30 000; the brand's claim on it falls by the same."""
    dealer = bus.uid("D")
    await bus.replenishment_received(bus.uid("RP"), dealer, 50_000)
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{dealer}"), lambda b: b == -50_000)
    request = pb.RecordPaymentRequest(
        request_id=bus.uid("pay"),
        from_party=f"dealer:{dealer}",
        to_party="brand",
        amount=cny(20_000),
        reference="BANK-1",
    )
    payment = (await settlement.RecordPayment(request, metadata=admin)).payment
    assert per_party(payment.lines) == {f"dealer:{dealer}": 20_000, "brand": -20_000}
    assert await balance(settlement, admin, f"dealer:{dealer}") == -30_000


async def test_a_brand_owned_return_received_at_a_dealers_shop(bus: Bus, settlement: Any, admin: Any) -> None:
    """Worked example 4, settlement's half (dealers' valuation is tests/dealers/test_ownership_moves.py). A
    brand online sale of 2 x 6 000 shipped from a brand warehouse; one unit comes back at dealer D's shop. The
    return refunds 6 000 and books no change of owner by itself; dealers values the unit at D's tier
    wholesale price (GOLD, 80% of the list price 5 000 = 4 000) and settlement books exactly that, once."""
    web, dealer, order_id, shop = bus.uid("WEB"), bus.uid("D"), bus.uid("O"), bus.uid("DS")
    await bus.channel_created(bus.channel(web, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    shipped = bus.fulfillment("F1", "WH-1", [("TEA", 2)], shipped=True)
    order = bus.order(order_id, web, [("TEA", 2, 6_000)], fulfillments=[shipped])
    await bus.order_shipped(order, "F1")
    await order_lines(bus, settlement, admin, order_id, {"sale"})

    returned = bus.order(order_id, web, [("TEA", 2, 6_000)], fulfillments=[shipped], refunded=6_000)
    return_id = bus.uid("R")
    await bus.order_returned(returned, return_id, 6_000, location_id=shop, lines=[("TEA", 1)])
    lines = await order_lines(bus, settlement, admin, order_id, {"sale", "return"})
    assert "ownership" not in {ln.rule for ln in lines}

    move = dict(giver="", taker=dealer, lines=[("TEA", 1, 4_000)], order_id=order_id, location_id=shop)
    await bus.ownership_moved(f"return:{return_id}", dpb.OWNERSHIP_MOVE_REASON_RETURN, reference=return_id, **move)
    lines = await order_lines(bus, settlement, admin, order_id, {"sale", "return", "ownership"})
    by_rule = {rule: per_party(ln for ln in lines if ln.rule == rule) for rule in ("sale", "return", "ownership")}
    assert by_rule == {
        "sale": {"clearing": -12_000, "brand": 12_000},
        "return": {"clearing": 6_000, "brand": -6_000},
        "ownership": {f"dealer:{dealer}": -4_000, "brand": 4_000},
    }
    [moved] = {ln.entry_id: ln for ln in lines if ln.rule == "ownership"}.values()
    assert moved.reference == return_id and "1 x TEA at 4000" in moved.memo
    # The same move published again (a redelivery under a new event id) is booked once.
    await bus.ownership_moved(f"return:{return_id}", dpb.OWNERSHIP_MOVE_REASON_RETURN, reference=return_id, **move)
    await bus.order_paid(bus.order(bus.uid("O"), web, [("TEA", 1, 1)]))  # a later event, to wait behind
    assert await balance(settlement, admin, f"dealer:{dealer}") == -4_000

    # The second unit comes back at the brand's warehouse: its refund is taken from the sale alone (the
    # ownership move is between D and the brand, not part of what the order still holds).
    warehouse = bus.uid("WH")
    both = bus.order(order_id, web, [("TEA", 2, 6_000)], fulfillments=[shipped], refunded=12_000)
    await bus.order_returned(both, bus.uid("R"), 6_000, location_id=warehouse, lines=[("TEA", 1)])

    async def returns() -> list[pb.JournalLine]:
        return [ln for ln in await order_lines(bus, settlement, admin, order_id, {"sale"}) if ln.rule == "return"]

    second = await bus.eventually(returns, lambda ls: len({ln.entry_id for ln in ls}) == 2)
    assert per_party(second) == {"clearing": 12_000, "brand": -12_000}
    lines = await order_lines(bus, settlement, admin, order_id, {"sale"})
    assert per_party(ln for ln in lines if ln.rule != "ownership") == {}


async def test_a_transfer_between_two_dealers_is_booked_as_dealers_valued_it(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Dealer A's shop sends 3 units to dealer B's: B owes A 3 x 8 500 (B's tier price, as dealers valued
    it); a SKU dealers could not price is named in the memo, not booked."""
    a, b, transfer = bus.uid("DA"), bus.uid("DB"), bus.uid("T")
    await bus.ownership_moved(
        f"transfer:{transfer}",
        dpb.OWNERSHIP_MOVE_REASON_TRANSFER,
        giver=a,
        taker=b,
        lines=[("TEA", 3, 8_500)],
        reference=transfer,
        location_id="DS-B",
        unpriced=("MUG",),
    )

    async def moved() -> list[pb.JournalLine]:
        reply = await settlement.ListEntries(pb.ListEntriesRequest(party=f"dealer:{b}"), metadata=admin)
        return list(reply.entries)

    [line] = await bus.eventually(moved, lambda lines: len(lines) == 1)
    assert (line.rule, line.amount.amount_minor, line.reference) == ("ownership", -25_500, transfer)
    assert "not priced: MUG" in line.memo
    assert await balance(settlement, admin, f"dealer:{a}") == 25_500


async def test_bad_payments_and_payouts_are_refused_naming_the_field_and_change_nothing(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    dealer = bus.uid("D")
    base = {"request_id": bus.uid("pay"), "from_party": f"dealer:{dealer}", "to_party": "brand", "amount": cny(100)}
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"request_id": ""}, ["request_id"]),
        ({"from_party": "someone"}, ["from_party"]),
        ({"to_party": f"dealer:{dealer}"}, ["to_party"]),
        ({"amount": cny(0)}, ["amount.amount_minor"]),
        ({"amount": cny(-5)}, ["amount.amount_minor"]),
        ({"fee_retained": cny(10)}, ["fee_retained"]),
        ({"to_party": "clearing"}, ["to_party"]),
        ({"amount": cny(10**18)}, ["amount.amount_minor"]),
    ]
    for change, fields in cases:
        request = pb.RecordPaymentRequest(**{**base, **change})
        error = await refused(settlement.RecordPayment, request, admin, grpc.StatusCode.INVALID_ARGUMENT)
        assert field_violations(error) == fields, change
    assert await balance(settlement, admin, f"dealer:{dealer}") == 0

    future = ts(datetime.now(UTC) + timedelta(days=1))
    payout = pb.CreatePayoutRequest(request_id=bus.uid("p"), party="brand", period_end=future)
    error = await refused(settlement.CreatePayout, payout, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert field_violations(error) == ["party"]
    payout = pb.CreatePayoutRequest(request_id=bus.uid("p"), party=f"dealer:{dealer}", period_end=future)
    error = await refused(settlement.CreatePayout, payout, admin, grpc.StatusCode.FAILED_PRECONDITION)
    assert error_info(error).reason == "PERIOD_NOT_OVER"
    await refused(settlement.GetPayout, pb.GetPayoutRequest(id="nope"), admin, grpc.StatusCode.NOT_FOUND)

    # Only the brand records money moving: a dealer cannot claim it paid.
    request = pb.RecordPaymentRequest(**base)
    await refused(
        settlement.RecordPayment, request, metadata("dealer", dealer_id=dealer), grpc.StatusCode.PERMISSION_DENIED
    )
    assert await balance(settlement, admin, f"dealer:{dealer}") == 0


async def test_payouts_are_listed_newest_first_page_by_page(bus: Bus, settlement: Any, admin: Any) -> None:
    """ListPayouts pages through payouts newest first (created time, then id), whatever their ids, as its
    contract says; a token that is not one of ours is INVALID_ARGUMENT naming page_token."""
    created = []
    for _ in range(6):
        dealer = bus.uid("D")
        paid_in = pb.RecordPaymentRequest(
            request_id=bus.uid("pay"), from_party=f"dealer:{dealer}", to_party="brand", amount=cny(700)
        )
        await settlement.RecordPayment(paid_in, metadata=admin)
        request = pb.CreatePayoutRequest(
            request_id=bus.uid("payout"), party=f"dealer:{dealer}", period_end=ts(datetime.now(UTC))
        )
        created.append((await settlement.CreatePayout(request, metadata=admin)).payout)
    assert [p.amount.amount_minor for p in created] == [700] * 6

    listed, token = [], ""
    while True:
        page = await settlement.ListPayouts(pb.ListPayoutsRequest(page_size=2, page_token=token), metadata=admin)
        assert len(page.payouts) <= 2
        listed += list(page.payouts)
        token = page.next_page_token
        if not token:
            break
    keys = [(p.created_at.ToDatetime(), p.id) for p in listed]
    assert keys == sorted(keys, reverse=True)
    ours = {p.id for p in created}
    assert [p.id for p in listed if p.id in ours] == [p.id for p in reversed(created)]
    # A token of the oldest-first order this RPC once had is refused, not read backwards.
    oldest = keys[-1][0].replace(tzinfo=UTC).isoformat()
    old_order = pb.ListPayoutsRequest(page_token=encode_page_token({"at": oldest, "id": "P-1"}))
    error = await refused(settlement.ListPayouts, old_order, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert "page_token" in field_violations(error)

    not_ours = pb.ListPayoutsRequest(page_token="bm90LWEtdG9rZW4")  # "not-a-token"
    error = await refused(settlement.ListPayouts, not_ours, admin, grpc.StatusCode.INVALID_ARGUMENT)
    assert "page_token" in field_violations(error)


async def test_a_payout_racing_a_payment_to_the_same_party_never_pays_it_twice(
    bus: Bus, settlement: Any, admin: Any, engine: Any
) -> None:
    """The brand records paying a dealer the 1 000 it is owed while an operator creates its payout. Both
    read what the dealer is owed before either commits unless they take turns: before, the payout did not wait
    for the payment in flight and paid the 1 000 again (balance -1 000, the brand paid 2 000 for 1 000)."""
    dealer = bus.uid("D")
    await earn_a_fulfillment_fee(bus, settlement, admin, dealer)
    await asyncio.sleep(0.05)
    period_end = datetime.now(UTC)
    paid = pb.RecordPaymentRequest(
        request_id=bus.uid("pay"), from_party="brand", to_party=f"dealer:{dealer}", amount=cny(1_000)
    )
    waiting = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    async with engine.connect() as holder:
        # Every posting waits while the period lock is held exclusively (as ClosePeriod holds it): the two
        # calls overlap for as long as the test wants.
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PERIOD_LOCK_KEY})
        try:
            payment = asyncio.ensure_future(settlement.RecordPayment(paid, metadata=admin))
            await bus.eventually(lambda: scalar(engine, waiting), lambda n: n >= 1)
            payout = asyncio.create_task(payout_up_to(bus, settlement, admin, dealer, period_end))
            await bus.eventually(lambda: scalar(engine, waiting), lambda n: n >= 2)
        finally:
            await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PERIOD_LOCK_KEY})
        await payment
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await payout
    assert error_info(caught.value).reason == "NOTHING_TO_PAY"
    assert await balance(settlement, admin, f"dealer:{dealer}") == 0


async def scalar(engine: Any, query: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(query)).scalar_one()
