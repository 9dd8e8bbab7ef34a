"""The brand's rates from settings (audit E): an order's fulfillment fees are priced at the rate recorded with its
sale, so a redeploy with a new rate applies to orders booked after it and never re-prices an earlier sale's
later shipments (one order is never split at two rates)."""

from __future__ import annotations

from typing import Any

import pytest
from onepool.channels.v1 import channels_pb2

from tests.settlement.test_ledger import all_entries

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def settlement(stack: Any) -> Any:
    await stack.start("settlement", fulfillment_fee_bps=500)
    return stack.stub("settlement")


def _fees(lines: list[Any], dealer: str) -> list[int]:
    return sorted(ln.amount.amount_minor for ln in lines if ln.party == dealer and ln.rule == "fulfilment_fee")


async def test_a_rate_changed_by_a_redeploy_never_reprices_an_order_booked_before_it(
    bus: Any, stack: Any, settlement: Any, admin: Any
) -> None:
    """Paid at a 5 % fulfillment fee, one of two shipments booked; redeployed at 8 %; the second shipment is still
    charged 5 % (it was 8 %: the rate was read with each event). An order paid after the redeploy pays 8 %."""
    web, before, after, owner = bus.uid("WEB"), bus.uid("O"), bus.uid("O"), bus.uid("D")
    dealer = f"dealer:{owner}"
    await bus.channel_created(bus.channel(web, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    f1 = bus.fulfillment("F1", "SHOP", [("A", 1)], owner_dealer_id=owner, shipped=True)
    f2 = bus.fulfillment("F2", "SHOP", [("A", 1)], owner_dealer_id=owner)
    order = bus.order(before, web, [("A", 2, 10_000)], fulfillments=[f1, f2])
    await bus.order_paid(order)
    await bus.order_shipped(order, "F1")
    lines = await bus.eventually(
        lambda: all_entries(settlement, admin, order_id=before), lambda ls: len(_fees(ls, dealer)) == 1
    )
    assert _fees(lines, dealer) == [500]

    await stack.stop("settlement")
    await stack.start("settlement", fulfillment_fee_bps=800)
    settlement = stack.stub("settlement")
    order.fulfillments[1].has_left = True
    await bus.order_shipped(order, "F2")
    lines = await bus.eventually(
        lambda: all_entries(settlement, admin, order_id=before), lambda ls: len(_fees(ls, dealer)) == 2, within=20
    )
    assert _fees(lines, dealer) == [500, 500], (
        f"the order's second fee was priced at the new rate: {_fees(lines, dealer)}"
    )

    shop = bus.fulfillment("F1", "SHOP", [("A", 1)], owner_dealer_id=owner, shipped=True)
    later = bus.order(after, web, [("A", 1, 10_000)], fulfillments=[shop])
    await bus.order_paid(later)
    lines = await bus.eventually(
        lambda: all_entries(settlement, admin, order_id=after), lambda ls: len(_fees(ls, dealer)) == 1, within=20
    )
    assert _fees(lines, dealer) == [800]
