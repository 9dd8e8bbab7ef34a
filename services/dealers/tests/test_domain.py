"""Pricing, credit and the replenishment lifecycle, on the domain alone (no database, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onepool_dealers.domain import events
from onepool_dealers.domain.model import (
    CreditPosition,
    Dealer,
    DealerStatus,
    DealerTier,
    Replenishment,
    ReplenishmentLine,
    ReplenishmentStatus,
    StockLine,
    TierFactors,
    price_lines,
    tier_unit_price,
)
from onepool_dealers.domain.overview import OrderView
from onepool_kernel.money import Money
from onepool_runtime.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money("CNY", amount)


def dealer(limit: int = 10_000, tier: DealerTier = DealerTier.STANDARD) -> Dealer:
    return Dealer(id="D-1", name="Dealer One", tier=tier, credit_limit=cny(limit), channel_id="CH-1")


def place(d: Dealer, amount: int, rid: str = "R-1", settlement_net: int = 0) -> Replenishment:
    return Replenishment.place(
        id=rid,
        dealer=d,
        from_location_id="WH-1",
        to_location_id="DS-1",
        lines=[ReplenishmentLine("SKU-1", 1, cny(amount))],
        settlement_net_minor=settlement_net,
        now=NOW,
    )


# --- pricing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("list_price", "bps", "expected"),
    [
        (10_000, 8000, 8000),
        (1999, 8500, 1699),  # 1699.15 rounds down
        (1999, 9000, 1799),  # 1799.1 rounds down
        (25, 9000, 23),  # 22.5: half rounds up
        (15, 8500, 13),  # 12.75 rounds up
        (0, 8000, 0),
    ],
)
def test_tier_price_is_the_list_price_times_the_factor_rounded_half_up(list_price, bps, expected) -> None:  # type: ignore[no-untyped-def]
    assert tier_unit_price(cny(list_price), bps) == cny(expected)


def test_each_tier_pays_its_own_factor_and_line_totals_are_exact() -> None:
    factors = TierFactors(9000, 8500, 8000)
    prices = {"A": cny(1999), "B": cny(500)}
    gold = price_lines([StockLine("A", 3), StockLine("B", 2)], prices, factors.of(DealerTier.GOLD), "CNY")
    assert [(ln.unit_price, ln.line_total) for ln in gold] == [(cny(1599), cny(4797)), (cny(400), cny(800))]
    standard = price_lines([StockLine("A", 1)], prices, factors.of(DealerTier.STANDARD), "CNY")
    assert standard[0].unit_price == cny(1799)


def test_unknown_skus_are_named_in_the_refusal() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        price_lines([StockLine("A", 1), StockLine("GHOST", 1), StockLine("NOPE", 2)], {"A": cny(100)}, 9000, "CNY")
    assert caught.value.reason == "PRICE_MISSING"
    assert (caught.value.metadata["sku"], caught.value.metadata["currency"]) == ("GHOST", "CNY")
    assert "GHOST" in caught.value.message and "NOPE" in caught.value.message


def test_a_price_in_another_currency_than_the_dealers_is_no_price() -> None:
    with pytest.raises(FailedPrecondition) as caught:
        price_lines([StockLine("A", 1), StockLine("B", 1)], {"A": cny(100), "B": Money("USD", 100)}, 9000, "CNY")
    assert caught.value.reason == "PRICE_MISSING"
    assert caught.value.metadata == {"sku": "B", "skus": "B", "currency": "CNY"}
    assert "CNY" in caught.value.message


def test_tier_factors_must_be_a_share_of_the_list_price() -> None:
    with pytest.raises(ValueError):
        TierFactors(standard_bps=0)
    with pytest.raises(ValueError):
        TierFactors(gold_bps=10_001)


# --- credit -------------------------------------------------------------------------------------------------


def test_a_replenishment_within_credit_holds_its_total() -> None:
    d = dealer(10_000)
    r = place(d, 6000)
    assert r.status is ReplenishmentStatus.PLACED and r.total == cny(6000)
    assert d.credit().available == cny(4000)
    assert [type(e) for e in r.events] == [events.ReplenishmentPlaced]


def test_a_replenishment_beyond_credit_is_refused_with_requested_and_available_and_changes_nothing() -> None:
    d = dealer(10_000)
    place(d, 6000)
    with pytest.raises(FailedPrecondition) as caught:
        place(d, 4001, "R-2")
    assert caught.value.reason == "CREDIT_LIMIT"
    assert caught.value.metadata == {"dealer_id": "D-1", "requested": "4001", "available": "4000", "currency": "CNY"}
    assert d.open_minor == 6000
    place(d, 4000, "R-3")  # exactly the rest fits
    assert d.credit().available == cny(0)


def test_what_the_dealer_owes_counts_against_its_credit_and_sales_settled_to_it_count_for_it() -> None:
    d = dealer(10_000)
    d.received_minor = 7000  # received on credit, unpaid
    assert d.credit().available == cny(3000)
    # Settlement owes the dealer 5000 from its own sales: it now owes the brand only 2000.
    assert d.credit(settlement_net_minor=5000).owed == cny(2000)
    assert d.credit(settlement_net_minor=5000).available == cny(8000)
    # Being owed more than it owes never lifts the credit above the limit.
    assert d.credit(settlement_net_minor=20_000).available == cny(10_000)


def test_credit_available_is_never_negative() -> None:
    position = CreditPosition(limit=cny(100), owed=cny(500), open=cny(50))
    assert position.available == cny(0)


def test_a_suspended_dealer_cannot_place() -> None:
    d = dealer()
    d.update(NOW, status=DealerStatus.SUSPENDED)
    with pytest.raises(FailedPrecondition) as caught:
        place(d, 1)
    assert caught.value.reason == "DEALER_SUSPENDED"
    assert d.open_minor == 0


def test_a_replenishment_in_another_currency_than_the_credit_is_refused() -> None:
    d = dealer()
    with pytest.raises(FailedPrecondition) as caught:
        Replenishment.place(
            id="R",
            dealer=d,
            from_location_id="WH",
            to_location_id="DS",
            lines=[ReplenishmentLine("A", 1, Money("USD", 1))],
            settlement_net_minor=0,
            now=NOW,
        )
    assert caught.value.reason == "CURRENCY_MISMATCH"


# --- lifecycle ----------------------------------------------------------------------------------------------


def test_placed_shipped_received_moves_the_open_amount_to_owed() -> None:
    d = dealer(10_000)
    r = place(d, 3000)
    assert r.request_shipping(NOW) is True
    assert r.shipping_in_progress
    assert r.ship("T-1", NOW) is True
    assert (r.status, r.transfer_id, r.shipping_in_progress) == (ReplenishmentStatus.SHIPPED, "T-1", False)
    assert d.open_minor == 3000  # still open while in transit
    assert r.receive(d, NOW) is True
    assert r.status is ReplenishmentStatus.RECEIVED
    assert (d.open_minor, d.received_minor) == (0, 3000)
    assert d.credit().owed == cny(3000) and d.credit().available == cny(7000)
    assert [type(e) for e in r.events] == [
        events.ReplenishmentPlaced,
        events.ReplenishmentShipped,
        events.ReplenishmentReceived,
    ]


def test_receiving_leaves_the_expected_receipt_to_cancel_until_inventory_confirms() -> None:
    d = dealer()
    r = place(d, 100)
    r.ship("T-1", NOW)
    assert not r.receipt_cancel_due and not r.require_receipt_cancel()  # still on its way: the receipt stands
    r.receive(d, NOW)
    assert r.receipt_cancel_due
    assert r.record_receipt_cancelled() is True and not r.receipt_cancel_due
    assert r.record_receipt_cancelled() is False
    assert r.require_receipt_cancel() is True and r.receipt_cancel_due  # a receipt made after it was received


def test_the_receipt_a_shipment_made_is_recorded_and_due_a_cancel_if_it_came_after_the_goods() -> None:
    d = dealer()
    r = place(d, 100)
    r.ship("T-1", NOW)
    assert r.record_receipt("ER-1") is True and r.receipt_id == "ER-1" and not r.receipt_cancel_due
    assert r.record_receipt("ER-1") is False  # a replay's answer
    r.receive(d, NOW)
    r.record_receipt_cancelled()
    assert r.record_receipt("ER-1") is True and r.receipt_cancel_due  # answered after a cancel found nothing


def test_without_a_recorded_receipt_only_one_citing_it_for_exactly_its_goods_may_be_its_own() -> None:
    r = place(dealer(), 100)
    (line,) = r.lines
    assert r.may_be_own_receipt(r.id, [StockLine(line.sku, line.quantity)])
    assert not r.may_be_own_receipt(r.id, [StockLine(line.sku, line.quantity + 1)])
    assert not r.may_be_own_receipt(r.id, [StockLine(line.sku, line.quantity), StockLine("OTHER", 1)])
    assert not r.may_be_own_receipt("R-OTHER", [StockLine(line.sku, line.quantity)])


def test_repeating_a_step_is_a_no_op() -> None:
    d = dealer()
    r = place(d, 100)
    r.ship("T-1", NOW)
    assert r.request_shipping(NOW) is False
    assert r.ship("T-1", NOW) is False
    r.receive(d, NOW)
    assert r.receive(d, NOW) is False
    assert d.received_minor == 100
    assert len(r.events) == 3


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "receive"),
        (["ship", "receive"], "ship"),
        (["ship", "receive"], "reject"),
        (["ship"], "reject"),
        (["reject"], "ship"),
        (["reject"], "receive"),
        (["ship"], "ship-other"),
    ],
)
def test_illegal_transitions_are_refused(steps: list[str], illegal: str) -> None:
    d = dealer()
    r = place(d, 100)
    actions = {
        "ship": lambda: r.ship("T-1", NOW),
        "ship-other": lambda: r.ship("T-2", NOW),
        "receive": lambda: r.receive(d, NOW),
        "reject": lambda: r.reject(d, "no", NOW),
    }
    for step in steps:
        actions[step]()
    before = (r.status, d.open_minor, d.received_minor)
    with pytest.raises(FailedPrecondition) as caught:
        actions[illegal]()
    assert caught.value.reason == "ILLEGAL_TRANSITION"
    assert (r.status, d.open_minor, d.received_minor) == before


def test_rejecting_releases_the_credit_but_not_while_the_transfer_is_being_made() -> None:
    d = dealer(1000)
    r = place(d, 1000)
    r.request_shipping(NOW)
    with pytest.raises(FailedPrecondition) as caught:
        r.reject(d, "changed my mind", NOW)
    assert caught.value.reason == "SHIPMENT_IN_PROGRESS"
    # inventory refused: shippable again, or rejectable
    assert r.record_shipping_failure(r.shipping_requested_at, "insufficient stock", NOW) is True
    assert r.status_reason == "insufficient stock" and not r.shipping_in_progress
    assert r.reject(d, "changed my mind", NOW) is True
    assert (r.status, d.open_minor, d.credit().available) == (ReplenishmentStatus.REJECTED, 0, cny(1000))


def test_a_refusal_of_one_attempt_leaves_a_later_attempt_in_flight() -> None:
    d = dealer(1000)
    r = place(d, 1000)
    r.request_shipping(NOW)
    first = r.shipping_requested_at
    r.request_shipping(NOW)  # a second attempt in the same instant still gets its own, later stamp
    second = r.shipping_requested_at
    assert first is not None and second is not None and second > first
    assert r.record_shipping_failure(first, "insufficient stock", NOW) is False
    assert r.shipping_in_progress
    with pytest.raises(FailedPrecondition) as caught:
        r.reject(d, "no stock", NOW)
    assert caught.value.reason == "SHIPMENT_IN_PROGRESS"
    assert r.ship("T-1", NOW) is True  # the second attempt's transfer went out


# --- dealer profile -----------------------------------------------------------------------------------------


def test_suspension_and_renaming_move_the_channel_revision_but_tier_and_credit_do_not() -> None:
    d = dealer()
    assert not d.needs_channel_sync
    assert d.update(NOW, tier=DealerTier.GOLD, credit_limit=cny(5)) is True
    assert d.revision == 0
    d.update(NOW, status=DealerStatus.SUSPENDED)
    assert d.revision == 1 and d.needs_channel_sync
    d.mark_channel_synced(1)
    assert not d.needs_channel_sync
    assert d.update(NOW, status=DealerStatus.SUSPENDED) is False  # no change, no event
    assert d.update(NOW, name="Dealer One Ltd") is True
    assert d.revision == 2 and d.needs_channel_sync  # the channel carries the dealer's name
    assert d.update(NOW, name="Dealer One Ltd") is False and d.revision == 2
    assert [type(e) for e in d.events] == [events.DealerUpdated] * 3


def test_a_dealer_credit_currency_cannot_change() -> None:
    with pytest.raises(InvalidArgument) as caught:
        dealer().update(NOW, credit_limit=Money("USD", 1))
    assert caught.value.violations[0].field == "dealer.credit_limit.currency"


def test_the_dealer_registered_event_waits_for_the_channel() -> None:
    d = Dealer(id="D", name="n", tier=DealerTier.SILVER, credit_limit=cny(0))
    assert d.needs_channel_sync and d.events == []
    assert d.link_channel("CH-9", NOW) is True
    assert d.link_channel("CH-9", NOW) is False
    assert [type(e) for e in d.events] == [events.DealerRegistered]
    assert d.add_location("L-1") and not d.add_location("L-1")
    assert d.needs_channel_sync  # the new location must reach the channel
    assert [type(e) for e in d.events] == [events.DealerRegistered, events.DealerUpdated]


# --- overview -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("is_paid", "paid", "refunded", "net"),
    [
        (False, 0, 0, 0),  # placed, not paid (or cancelled, or rejected, before payment)
        (True, 0, 0, 1000),  # paid in full, amount not reported
        (True, 900, 0, 900),
        (True, 1000, 0, 1000),
        (True, 1000, 300, 700),  # part returned
        (True, 1000, 1000, 0),  # cancelled after payment: all of it due back
    ],
)
def test_net_sales_follow_orders_facts(is_paid: bool, paid: int, refunded: int, net: int) -> None:
    """Whether an order is paid (and open) is orders' fact; dealers only counts the money."""
    for is_open in (True, False):
        view = OrderView("O", "D", is_open, is_paid, cny(1000), paid, refunded, NOW, NOW)
        assert (view.open, view.net_sales_minor) == (is_open, net)


# --- the credit invariant under any sequence ----------------------------------------------------------------

ACTIONS = st.lists(
    st.tuples(st.sampled_from(["place", "ship", "receive", "reject", "settle"]), st.integers(1, 4000)), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(ACTIONS)
def test_running_totals_always_match_the_replenishments_and_placements_never_exceed_credit(actions) -> None:  # type: ignore[no-untyped-def]
    d = dealer(10_000)
    settled = 0
    replenishments: list[Replenishment] = []
    for i, (action, amount) in enumerate(actions):
        try:
            if action == "place":
                before = d.credit(settled).available
                r = place(d, amount, f"R-{i}", settled)
                assert amount <= before.amount_minor
                replenishments.append(r)
            elif replenishments:
                r = replenishments[amount % len(replenishments)]
                if action == "ship":
                    r.ship(f"T-{r.id}", NOW)
                elif action == "receive":
                    r.receive(d, NOW)
                elif action == "reject":
                    r.reject(d, "x", NOW)
                elif action == "settle":
                    settled += amount // 2  # the dealer's sales settled to it
        except FailedPrecondition:
            pass
        open_total = sum(r.total.amount_minor for r in replenishments if r.is_open)
        received_total = sum(r.total.amount_minor for r in replenishments if r.status is ReplenishmentStatus.RECEIVED)
        assert (d.open_minor, d.received_minor) == (open_total, received_total)
        assert d.credit(settled).available.amount_minor >= 0
