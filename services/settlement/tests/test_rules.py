"""Settlement rules on plain facts (no database): who gets what, and every entry balances."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onepool_kernel.lines import StockLine
from onepool_settlement.domain import rules
from onepool_settlement.domain.model import (
    Account,
    ChannelTerms,
    ChannelType,
    Fulfillment,
    JournalEntry,
    JournalLine,
    OrderFacts,
    OrderLine,
    Posting,
    Rule,
    Source,
    UnbalancedEntry,
)

POLICY = rules.SettlementPolicy(fulfillment_fee_bps=500, dealer_sale_brand_share_bps=3000)
SRC = Source("evt-1", "orders.order.paid")
TMALL = ChannelTerms("TMALL", ChannelType.MARKETPLACE, fee_rate_bps=500, version=1)
WEB = ChannelTerms("WEB", ChannelType.ONLINE_STORE, fee_rate_bps=0, version=1)
D1_CHANNEL = ChannelTerms("D1-CH", ChannelType.DEALER, owner_dealer_id="D1", fee_rate_bps=0, version=1)


def order(
    channel_id: str = "TMALL", paid: int = 10_000, dealer_id: str = "", fulfillments: tuple[Fulfillment, ...] = ()
) -> OrderFacts:
    return OrderFacts(
        id="O1",
        channel_id=channel_id,
        dealer_id=dealer_id,
        currency="CNY",
        total=paid,
        paid=paid,
        refunded=0,
        lines=(OrderLine("A", 2, 3000), OrderLine("B", 1, 4000)),
        fulfillments=fulfillments,
    )


def by_party(*entries: JournalEntry) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for e in entries:
        for p in e.postings:
            out[p.party] += p.amount
    return {k: v for k, v in out.items() if v}


Position = tuple[str, str]


def basis(*entries: JournalEntry) -> tuple[dict[Position, int], dict[Position, int]]:
    """What the repository reads for a refund (refund_basis): booked by the sale and fees, taken by refunds."""
    booked: dict[Position, int] = defaultdict(int)
    taken: dict[Position, int] = defaultdict(int)
    for e in entries:
        refund = e.rule in (Rule.RETURN, Rule.CANCEL)
        for p in e.postings:
            if p.party != "clearing" and p.account != Account.REFUND_EXCESS:
                if refund:
                    taken[(p.party, p.account)] -= p.amount
                else:
                    booked[(p.party, p.account)] += p.amount
    return dict(booked), dict(taken)


def test_marketplace_keeps_its_commission_and_the_brand_gets_the_rest() -> None:
    _, entry = rules.recognise_sale(order(), TMALL, POLICY, SRC)
    assert by_party(entry) == {"clearing": -10_000, "channel:TMALL": 500, "brand": 9_500}
    assert entry.key == "sale:O1" and entry.rule is Rule.SALE


def test_a_sale_on_the_brands_own_store_is_all_the_brands() -> None:
    _, entry = rules.recognise_sale(order("WEB"), WEB, POLICY, SRC)
    assert by_party(entry) == {"clearing": -10_000, "brand": 10_000}


def test_a_dealers_own_channel_sale_goes_to_the_dealer_minus_the_brands_share() -> None:
    settlement, entry = rules.recognise_sale(order("D1-CH"), D1_CHANNEL, POLICY, SRC)
    assert settlement.seller == "dealer:D1"
    assert by_party(entry) == {"clearing": -10_000, "brand": 3_000, "dealer:D1": 7_000}


def test_the_orders_dealer_wins_over_the_channel_owner() -> None:
    settlement, entry = rules.recognise_sale(order("TMALL", dealer_id="D2"), TMALL, POLICY, SRC)
    assert settlement.seller == "dealer:D2"
    assert by_party(entry) == {"clearing": -10_000, "channel:TMALL": 500, "brand": 3_000, "dealer:D2": 6_500}


def test_a_dealer_whose_location_shipped_a_brand_sale_earns_the_fulfillment_fee_from_the_brand() -> None:
    shop = Fulfillment("F1", "D9-SHOP", "D9", (StockLine("A", 2),), shipped=True)
    settlement, _ = rules.recognise_sale(order(fulfillments=(shop,)), TMALL, POLICY, SRC)
    fee = rules.fulfillment_fee(order(fulfillments=(shop,)), shop, settlement, POLICY, SRC)
    assert fee is not None and fee.key == "fulfilment_fee:O1:F1"
    assert by_party(fee) == {"brand": -300, "dealer:D9": 300}  # 5% of 2 x 3000


def test_the_fulfillment_fee_is_on_what_the_goods_sold_for_after_their_discount() -> None:
    shop = Fulfillment("F1", "D9-SHOP", "D9", (StockLine("A", 1),), shipped=True)
    facts = OrderFacts(
        "O1", "TMALL", "", "CNY", 8_000, 8_000, 0, (OrderLine("A", 2, 3000, 1000), OrderLine("B", 1, 4000)), (shop,)
    )
    settlement, _ = rules.recognise_sale(facts, TMALL, POLICY, SRC)
    fee = rules.fulfillment_fee(facts, shop, settlement, POLICY, SRC)
    assert fee is not None and by_party(fee) == {"brand": -125, "dealer:D9": 125}  # 5% of 3000 - 1000 / 2


def test_units_are_valued_as_orders_values_them_rounded_down() -> None:
    """3 x 333 less 100 is 899: one unit is worth 299 (899 / 3 rounded down), as orders refunds it, and the three
    parts add up to no more than the line. Before, settlement rounded the discount's share down instead (300)."""
    line = OrderLine("A", 3, 333, 100)
    assert line.value_of(1) == 299 and line.value_of(2) == 599 and line.value_of(3) == 899
    assert 3 * line.value_of(1) <= line.value_of(3)


def test_every_fulfillment_fee_of_an_order_is_priced_at_the_rate_recorded_with_its_sale() -> None:
    """Settings changed to 8 % after the sale (a redeploy): the order's fees stay at its 5 %. An order settled
    before the rate was recorded (None) takes the rate in settings, as it always did."""
    shop = Fulfillment("F1", "D9-SHOP", "D9", (StockLine("A", 2), StockLine("B", 1)), shipped=True)
    facts = order(fulfillments=(shop,))
    settlement, sale = rules.recognise_sale(facts, TMALL, POLICY, SRC)
    assert settlement.terms.fulfillment_fee_bps == 500 and "fulfillment fee 500 bps" in sale.memo
    redeployed = rules.SettlementPolicy(fulfillment_fee_bps=800)
    fee = rules.fulfillment_fee(facts, shop, settlement, redeployed, SRC)
    assert fee is not None and by_party(fee) == {"brand": -500, "dealer:D9": 500}
    legacy = replace(settlement, terms=replace(settlement.terms, fulfillment_fee_bps=None))
    fee = rules.fulfillment_fee(facts, shop, legacy, redeployed, SRC)
    assert fee is not None and by_party(fee) == {"brand": -800, "dealer:D9": 800}


def test_no_fulfillment_fee_for_brand_locations_or_for_the_seller_itself() -> None:
    brand_wh = Fulfillment("F1", "WH", "", (StockLine("A", 2),), shipped=True)
    own_shop = Fulfillment("F2", "D1-SHOP", "D1", (StockLine("B", 1),), shipped=True)
    facts = order("D1-CH", fulfillments=(brand_wh, own_shop))
    settlement, _ = rules.recognise_sale(facts, D1_CHANNEL, POLICY, SRC)
    assert rules.fulfillment_fee(facts, brand_wh, settlement, POLICY, SRC) is None
    assert rules.fulfillment_fee(facts, own_shop, settlement, POLICY, SRC) is None


def test_a_partial_return_reverses_every_part_in_proportion() -> None:
    shop = Fulfillment("F1", "D9-SHOP", "D9", (StockLine("A", 2), StockLine("B", 1)), shipped=True)
    facts = order(fulfillments=(shop,))
    settlement, sale = rules.recognise_sale(facts, TMALL, POLICY, SRC)
    fee = rules.fulfillment_fee(facts, shop, settlement, POLICY, SRC)
    assert fee is not None
    back = rules.reverse("return:R1", Rule.RETURN, settlement, *basis(sale, fee), 2_500, SRC)
    # a quarter of each part: channel 500 -> 125, fee 500 -> 125, brand 9500 - 500 = 9000 -> 2250
    assert by_party(back) == {"clearing": 2_500, "channel:TMALL": -125, "dealer:D9": -125, "brand": -2_250}


def test_a_full_refund_brings_every_position_back_to_zero() -> None:
    settlement, sale = rules.recognise_sale(order(paid=9_999), TMALL, POLICY, SRC)
    back = rules.reverse("cancel:O1", Rule.CANCEL, settlement, *basis(sale), 9_999, SRC)
    assert by_party(sale, back) == {}


def test_a_refund_beyond_what_the_order_holds_is_charged_to_the_brand() -> None:
    settlement, sale = rules.recognise_sale(order(), TMALL, POLICY, SRC)
    back = rules.reverse("return:R1", Rule.RETURN, settlement, *basis(sale), 12_000, SRC)
    assert by_party(sale, back) == {"clearing": 2_000, "brand": -2_000}
    assert Posting("brand", Account.REFUND_EXCESS, -2_000) in back.postings


@pytest.mark.parametrize(("refund", "times", "channel_keeps"), [(1, 9_000, 50), (99, 90, 55), (9, 5, 498)])
def test_many_small_refunds_leave_every_party_its_share_of_what_is_left(
    refund: int, times: int, channel_keeps: int
) -> None:
    """Audit E: each refund split over what was left rounded on its own, and 9,000 refunds of 1 fen left the
    5 % channel all of its 500 (its share of the 1,000 left is 50); 90 of 99 fen left it 50 instead of 54.5."""
    settlement, sale = rules.recognise_sale(order(), TMALL, POLICY, SRC)
    booked, taken = basis(sale)
    held = dict(booked)
    for i in range(times):
        back = rules.reverse(f"return:R{i}", Rule.RETURN, settlement, booked, taken, refund, SRC)
        for p in back.postings:
            if p.party != "clearing":
                taken[(p.party, p.account)] = taken.get((p.party, p.account), 0) - p.amount
                held[(p.party, p.account)] += p.amount
    left = 10_000 - refund * times
    assert held == {("channel:TMALL", "channel_fee"): channel_keeps, ("brand", "sale"): left - channel_keeps}
    assert abs(channel_keeps * 10_000 - left * 500) <= 10_000  # within a fen of 5 % of what is left


def test_wholesale_makes_the_dealer_owe_the_brand() -> None:
    entry = rules.wholesale("RP1", "D1", "CNY", 88_000, Source("e", "dealers.replenishment.received"))
    assert by_party(entry) == {"dealer:D1": -88_000, "brand": 88_000}


def test_an_entry_that_does_not_balance_cannot_exist() -> None:
    with pytest.raises(UnbalancedEntry):
        JournalEntry("x", Rule.SALE, "CNY", (Posting("brand", "sale", 1), Posting("clearing", "x", -2)))


def test_postings_to_the_same_account_merge_and_zeros_vanish() -> None:
    e = JournalEntry("x", Rule.SALE, "CNY", (Posting("brand", "s", 1), Posting("brand", "s", -1)))
    assert e.is_empty


def test_a_payout_pays_the_claim_at_period_end_less_what_settled_it_since() -> None:
    """payout_amount(balance at period_end, claim-reducing cash lines since, balance now). What the party paid
    in since is not among the lines passed (the repository's `settled_since` leaves positive lines out)."""
    # Owed 1 000, nothing since: 1 000. The brand paid it 300 since (a payment it received): 700.
    assert rules.payout_amount(1_000, 0, 1_000) == 1_000
    assert rules.payout_amount(1_000, -300, 700) == 700
    # Owed 1 000; bought 50 000 on credit since and paid 50 000 in: 1 000, not 51 000.
    assert rules.payout_amount(1_000, 0, 1_000 - 50_000 + 50_000) == 1_000
    # Owed nothing at period_end, paid 20 000 of a 50 000 debt since: nothing to pay (not 20 000).
    assert rules.payout_amount(0, 0, -30_000) <= 0
    # Owed 1 000 at period_end, owes 600 for new stock since: paid what it is owed on balance.
    assert rules.payout_amount(1_000, 0, 400) == 400


def test_a_payout_holds_back_income_of_orders_not_final() -> None:
    """payout_amount(..., held): at most the balance now less the party's positive lines on orders not final.
    Audit D: a dealer owing 8 000 has its own sale's share, 14 000, posted: balance 6 000, all of it from an
    open sale. Paid nothing (was 6 000); once the order is final, 6 000."""
    assert rules.payout_amount(6_000, 0, 6_000, held=14_000) <= 0
    assert rules.payout_amount(6_000, 0, 6_000, held=0) == 6_000
    # Owed 15 000: 1 000 of a final order's fee, 14 000 of an open sale: 1 000 now.
    assert rules.payout_amount(15_000, 0, 15_000, held=14_000) == 1_000
    # An open sale posted after period_end is not in what was owed then; it still only caps the balance now.
    assert rules.payout_amount(1_000, 0, 15_000, held=14_000) == 1_000


def _fulfillment(fid: str, *, shipped: bool = False, cancelled: bool = False) -> Fulfillment:
    return Fulfillment(fid, "L1", "", (StockLine("A", 1),), shipped, cancelled)


def test_an_order_is_final_for_payouts_when_orders_says_so() -> None:
    """rules.is_final reads orders' fact and never judges the fulfillments itself (orders decides what can still
    be refunded); a completed order is not final while its return window is open (a return refunds it)."""
    left = _fulfillment("F1", shipped=True)
    paid = replace(order(), is_paid=True, fulfillments=(left,))
    assert not rules.is_final(paid)  # all its goods gone, but orders has not said it is final
    assert rules.is_final(replace(order(), is_final=True))
    assert not rules.is_final(replace(paid, is_open=False))  # completed, its return window still open


def test_a_stored_entry_is_this_payments_only_if_everything_it_wrote_is_the_same() -> None:
    entry = rules.payment("payment:r1", "channel:M", "brand", "CNY", 9_500, fee_retained=500, reference="B-1")
    stored = [
        JournalLine(n, "e1", p.party, p.account, p.amount, "CNY", "payment", memo=entry.memo, reference="B-1")
        for n, p in enumerate(reversed(entry.postings))
    ]
    assert entry.written_as(stored)
    for other in (
        rules.payment("payment:r1", "channel:N", "brand", "CNY", 9_500, fee_retained=500, reference="B-1"),
        rules.payment("payment:r1", "channel:M", "brand", "CNY", 9_000, fee_retained=500, reference="B-1"),
        rules.payment("payment:r1", "channel:M", "brand", "CNY", 9_500, fee_retained=400, reference="B-1"),
        rules.payment("payment:r1", "channel:M", "brand", "USD", 9_500, fee_retained=500, reference="B-1"),
        rules.payment("payment:r1", "channel:M", "brand", "CNY", 9_500, fee_retained=500, reference="B-2"),
    ):
        assert not other.written_as(stored), other
    # A remittance keeping no fee has no line of its payer: the memo tells two payers apart.
    by_m = rules.payment("payment:r2", "channel:M", "brand", "CNY", 100)
    by_n = rules.payment("payment:r2", "channel:N", "brand", "CNY", 100)
    stored = [
        JournalLine(i, "e2", p.party, p.account, p.amount, "CNY", "payment", memo=by_m.memo)
        for i, p in enumerate(by_m.postings)
    ]
    assert by_m.written_as(stored) and not by_n.written_as(stored)


# --- properties -------------------------------------------------------------------------------------

bps = st.integers(min_value=0, max_value=10_000)
gross = st.integers(min_value=1, max_value=10**11)


@settings(max_examples=300)
@given(gross, bps, bps, st.booleans(), st.sampled_from(["", "D1"]))
def test_every_sale_balances_and_each_part_is_within_a_fen_of_its_rate(
    amount: int,
    fee_bps: int,
    share_bps: int,
    via_dealer_channel: bool,
    order_dealer: str,
) -> None:
    channel = ChannelTerms(
        "C",
        ChannelType.DEALER if via_dealer_channel else ChannelType.MARKETPLACE,
        owner_dealer_id="D7" if via_dealer_channel else "",
        fee_rate_bps=fee_bps,
    )
    policy = rules.SettlementPolicy(dealer_sale_brand_share_bps=share_bps)
    facts = OrderFacts("O", "C", order_dealer, "CNY", amount, amount, 0)
    settlement, entry = rules.recognise_sale(facts, channel, policy, SRC)
    assert sum(p.amount for p in entry.postings) == 0
    parts = by_party(entry)
    assert parts["clearing"] == -amount
    assert abs(parts.get("channel:C", 0) * 10_000 - amount * fee_bps) < 10_000
    assert all(v >= 0 for k, v in parts.items() if k != "clearing")
    if settlement.seller != "brand":
        expected_share = min(share_bps, 10_000 - fee_bps)
        assert abs(parts.get("brand", 0) * 10_000 - amount * expected_share) < 10_000


@settings(max_examples=200)
@given(
    gross,
    bps,
    bps,
    st.integers(min_value=0, max_value=10_000),
    st.lists(st.integers(min_value=1, max_value=10**11), min_size=1, max_size=6),
)
def test_any_sequence_of_refunds_balances_and_a_full_refund_leaves_nothing(
    amount: int,
    fee_bps: int,
    share_bps: int,
    ful_bps: int,
    refunds: list[int],
) -> None:
    channel = ChannelTerms("C", ChannelType.MARKETPLACE, fee_rate_bps=fee_bps)
    policy = rules.SettlementPolicy(fulfillment_fee_bps=ful_bps, dealer_sale_brand_share_bps=share_bps)
    shop = Fulfillment("F", "L", "D9", (StockLine("A", 1),), shipped=True)
    facts = OrderFacts("O", "C", "D1", "CNY", amount, amount, 0, (OrderLine("A", 1, amount),), (shop,))
    settlement, sale = rules.recognise_sale(facts, channel, policy, SRC)
    entries = [sale]
    fee = rules.fulfillment_fee(facts, shop, settlement, policy, SRC)
    if fee is not None:
        entries.append(fee)
    booked, _ = basis(*entries)
    refunded = 0
    for i, r in enumerate(refunds):
        r = min(r, amount - refunded)  # the orders service never refunds more than was paid
        entries.append(rules.reverse(f"return:{i}", Rule.RETURN, settlement, *basis(*entries), r, SRC))
        refunded += r
        # Every position holds its exact share of what is left, within a fen, however the refunds came.
        _, taken = basis(*entries)
        for k, v in booked.items():
            assert abs((v - taken.get(k, 0)) * amount - v * (amount - refunded)) < amount
    for e in entries:
        assert sum(p.amount for p in e.postings) == 0
    entries.append(rules.reverse("cancel:O", Rule.CANCEL, settlement, *basis(*entries), amount - refunded, SRC))
    assert by_party(*entries) == {}
