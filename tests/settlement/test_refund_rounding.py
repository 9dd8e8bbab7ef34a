"""Many small refunds of one order (audit E, flow 7): settlement splits everything refunded so far in the sale's
proportions, so rounding never drifts, whatever the order the events come in or how often they are delivered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.settlement.test_ledger import all_entries, by_entry, by_party

pytestmark = pytest.mark.asyncio

RETURNS = 5
REFUND = 9  # fen


async def _returns_booked(bus: Any, settlement: Any, admin: Any, order_id: str, n: int) -> list[Any]:
    def booked(lines: list[Any]) -> bool:
        return len({ln.entry_id for ln in lines if ln.rule == "return"}) == n

    return await bus.eventually(lambda: all_entries(settlement, admin, order_id=order_id), booked, within=20)


async def test_small_refunds_leave_the_channel_its_share_in_any_order_and_on_redelivery(
    bus: Any, settlement: Any, admin: Any
) -> None:
    """A 10 000 sale at 5 %, then five refunds of 9 fen: 9 955 is left, of which 497.75 is the channel's. Each
    refund split over what was left gave the channel 0.45 fen to give back, rounded to 0 every time, so it kept
    all 500."""
    tmall, ordered, reversed_, owner = bus.uid("TMALL"), bus.uid("O"), bus.uid("O"), bus.uid("D")
    await bus.channel_created(bus.channel(tmall, 500))
    await bus.order_paid(bus.order(ordered, tmall, [("A", 1, 10_000)]))
    sent: list[tuple[Any, str]] = []
    for i in range(1, RETURNS + 1):
        facts = bus.order(ordered, tmall, [("A", 1, 10_000)], refunded=REFUND * i)
        return_id = bus.uid("R")
        sent.append((facts, return_id))
        await bus.order_returned(facts, return_id, REFUND)
    await bus.order_returned(*sent[2], REFUND)  # redelivered under a new event id: the key posts it once
    expected = {"clearing": -(10_000 - REFUND * RETURNS), f"channel:{tmall}": 498, "brand": 9_457}
    lines = await _returns_booked(bus, settlement, admin, ordered, RETURNS)
    assert by_party(lines) == expected, f"the channel keeps {by_party(lines).get(f'channel:{tmall}')}, not 498"
    assert all(total == 0 for total in by_entry(lines).values())

    # The same refunds before the sale is booked, last first, and the payment after them: the same positions.
    for i in range(RETURNS, 0, -1):
        await bus.order_returned(
            bus.order(reversed_, tmall, [("A", 1, 10_000)], refunded=REFUND * i), bus.uid("R"), REFUND
        )
    await bus.order_paid(bus.order(reversed_, tmall, [("A", 1, 10_000)]))
    lines = await _returns_booked(bus, settlement, admin, reversed_, RETURNS)
    assert by_party(lines) == expected

    # A fee booked after the refunds (the shop ships last) is taken back at once at the order's refunded share
    # (an entry of rule "return" refunding nothing more), and the rest of the order refunded leaves every party
    # at exactly zero.
    shop = bus.fulfillment("F1", "SHOP", [("A", 1)], owner_dealer_id=owner, shipped=True)
    shipped = bus.order(ordered, tmall, [("A", 1, 10_000)], fulfillments=[shop], refunded=REFUND * RETURNS)
    await bus.order_shipped(shipped, "F1")
    shipped.refunded.amount_minor = 10_000
    await bus.order_returned(shipped, bus.uid("R"), 10_000 - REFUND * RETURNS)
    lines = await _returns_booked(bus, settlement, admin, ordered, RETURNS + 2)
    assert {ln.rule for ln in lines} >= {"fulfilment_fee"}
    assert by_party(lines) == {}


async def test_a_dealers_fee_ends_the_same_whether_it_shipped_before_or_after_a_partial_return(
    bus: Any, settlement: Any, admin: Any
) -> None:
    """Audit T: a brand web sale of 2 x 10 000 (no channel fee), one unit from the brand's warehouse and one from
    dealer D's shop (fee 5 % = 500), one unit returned (10 000). D shipping first, the return takes D's fee in
    proportion (250). D shipping after the return: its fee was booked in full and nothing took back the refunded
    share (D kept 500, the brand 250 less), since no later refund came. Now the refunds so far take it at once."""
    web, dealer = bus.uid("WEB"), bus.uid("D")
    await bus.channel_created(bus.channel(web, 0))
    ends: list[dict[str, int]] = []
    for dealer_first in (True, False):
        order_id = bus.uid("O")
        warehouse = bus.fulfillment("F1", "WH-1", [("TEA", 1)], shipped=True)
        shop = bus.fulfillment("F2", f"SHOP-{dealer}", [("TEA", 1)], owner_dealer_id=dealer, shipped=dealer_first)
        facts = bus.order(order_id, web, [("TEA", 2, 10_000)], fulfillments=[warehouse, shop])
        await bus.order_shipped(facts, "F2" if dealer_first else "F1")
        await bus.eventually(
            lambda order_id=order_id: all_entries(settlement, admin, order_id=order_id),
            lambda lines: "sale" in {ln.rule for ln in lines},
        )
        facts.refunded.amount_minor = 10_000
        await bus.order_returned(facts, bus.uid("R"), 10_000, location_id="WH-1", lines=[("TEA", 1)])
        await _returns_booked(bus, settlement, admin, order_id, 1)
        if not dealer_first:
            facts.fulfillments[1].has_left = True
            facts.is_final = True
            await bus.order_shipped(facts, "F2")

        def settled(lines: list[Any]) -> bool:
            return "fulfilment_fee" in {ln.rule for ln in lines} and all(t == 0 for t in by_entry(lines).values())

        lines = await bus.eventually(
            lambda order_id=order_id: all_entries(settlement, admin, order_id=order_id), settled, within=20
        )
        if not dealer_first:  # the catch-up is posted with the fee: nothing more comes later
            lines = await all_entries(settlement, admin, order_id=order_id)
        ends.append({party.replace(dealer, "D"): amount for party, amount in by_party(lines).items()})
    assert ends[0] == {"clearing": -10_000, "brand": 9_750, "dealer:D": 250}
    assert ends[1] == ends[0]
