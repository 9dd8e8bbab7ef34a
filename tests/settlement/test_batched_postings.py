"""A consumer's batch of orders events is booked together (handlers.record_orders, posting_sql.py) with the
same effect as one event at a time: each order's sale once, its fees once, whatever order the paid and
shipped events come in, duplicates and unpaid events included. The events are published back to back, so the
orders consumer meets them in a few fetches of many (its batch is 500)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from onepool.orders.v1 import events_pb2 as order_events
from onepool.settlement.v1 import settlement_pb2 as pb

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio


async def entries_of(settlement: Any, admin: Any, orders: list[str]) -> dict[str, list[pb.JournalLine]]:
    out: dict[str, list[pb.JournalLine]] = {}
    for order_id in orders:
        reply = await settlement.ListEntries(pb.ListEntriesRequest(order_id=order_id), metadata=admin)
        out[order_id] = list(reply.entries)
    return out


async def test_a_batch_of_paid_and_shipped_events_books_each_order_exactly_once(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    market, dealer = bus.uid("MKT"), bus.uid("D")
    await bus.channel_created(bus.channel(market, 500))
    orders = [bus.uid("O") for _ in range(40)]
    published = []
    for i, order_id in enumerate(orders):
        price = 1_000 + 10 * i
        shipped = bus.fulfillment("F1", "DS-1", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
        paid = bus.order(order_id, market, [("TEA", 2, price)], fulfillments=[shipped])
        if i % 4 == 0:  # shipped overtakes paid: the shipment's facts show the order paid
            published += [bus.order_shipped(paid, "F1"), bus.order_paid(paid)]
        elif i % 4 == 1:  # an unpaid event first, then paid twice (a re-publication under a new id)
            unpaid = bus.order(order_id, market, [("TEA", 2, price)])
            unpaid.is_paid = False
            published += [bus.order_paid(unpaid), bus.order_paid(paid), bus.order_paid(paid)]
        else:
            published += [bus.order_paid(paid), bus.order_shipped(paid, "F1")]
    for publishing in published:
        await publishing  # one after another, in this order (each waits for its publish acknowledgement)

    def complete(found: dict[str, list[pb.JournalLine]]) -> bool:
        return all({"sale", "fulfilment_fee"} <= {ln.rule for ln in lines} for lines in found.values())

    found = await bus.eventually(lambda: entries_of(settlement, admin, orders), complete, within=30.0)
    await asyncio.sleep(1.0)  # anything still in flight (a duplicate) would land now
    found = await entries_of(settlement, admin, orders)
    for i, order_id in enumerate(orders):
        gross = 2 * (1_000 + 10 * i)
        lines = found[order_id]
        assert len({ln.entry_id for ln in lines if ln.rule == "sale"}) == 1
        assert len({ln.entry_id for ln in lines if ln.rule == "fulfilment_fee"}) == 1
        totals: dict[str, int] = defaultdict(int)
        for ln in lines:
            totals[ln.party] += ln.amount.amount_minor
        fee, dealer_fee = gross * 5 // 100, gross * 5 // 100
        assert dict(totals) == {
            "clearing": -gross,
            f"channel:{market}": fee,
            "brand": gross - fee - dealer_fee,
            f"dealer:{dealer}": dealer_fee,
        }, order_id
        sale_at = min(ln.created_at.ToDatetime() for ln in lines if ln.rule == "sale")
        assert all(ln.created_at.ToDatetime() >= sale_at for ln in lines), "a fee posted before its sale"


async def test_a_batch_of_paid_events_of_presale_orders_applies_each_deposit_once(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Orders paid as a deposit and then a balance (docs/presale.md): the paid event, booked in a batch, applies
    the held deposit to the sale, whether the deposit's own event came first or after it, or twice."""
    market = bus.uid("MKT")
    await bus.channel_created(bus.channel(market, 500))
    orders = [bus.uid("O") for _ in range(12)]
    published = []
    for i, order_id in enumerate(orders):
        paid = bus.order(order_id, market, [("TEA", 2, 5_000)])
        paid.deposit.CopyFrom(cny(1_000 + i))
        deposited = bus.order(order_id, market, [("TEA", 2, 5_000)])
        deposited.is_paid = False
        deposited.paid.CopyFrom(cny(1_000 + i))
        deposited.deposit.CopyFrom(cny(1_000 + i))
        deposit_paid = order_events.OrderDepositPaid(facts=deposited)
        if i % 3 == 0:  # the paid event overtakes the deposit's
            published += [bus.order_paid(paid), bus.publish("orders.order.deposit_paid", deposit_paid)]
        elif i % 3 == 1:  # the deposit's event re-published (a new event id)
            again = bus.publish("orders.order.deposit_paid", order_events.OrderDepositPaid(facts=deposited))
            published += [bus.publish("orders.order.deposit_paid", deposit_paid), again, bus.order_paid(paid)]
        else:
            published += [bus.publish("orders.order.deposit_paid", deposit_paid), bus.order_paid(paid)]
    for publishing in published:
        await publishing

    def complete(found: dict[str, list[pb.JournalLine]]) -> bool:
        return all(
            {"customer_payment", "customer_deposit"} <= {ln.account for ln in lines}
            and sum(ln.amount.amount_minor for ln in lines if ln.account == "deposit_held") == 0
            and any(ln.account == "deposit_held" for ln in lines)
            for lines in found.values()
        )

    found = await bus.eventually(lambda: entries_of(settlement, admin, orders), complete, within=30.0)
    await asyncio.sleep(1.0)  # anything still in flight (a duplicate) would land now
    found = await entries_of(settlement, admin, orders)
    for i, order_id in enumerate(orders):
        lines, deposit = found[order_id], 1_000 + i
        accounts: dict[tuple[str, str], int] = defaultdict(int)
        for ln in lines:
            accounts[(ln.party, ln.account)] += ln.amount.amount_minor
        assert accounts[("clearing", "customer_payment")] == -10_000, order_id
        assert accounts[("clearing", "customer_deposit")] == 0 and accounts[("clearing", "deposit_held")] == 0
        held = [ln for ln in lines if ln.account == "deposit_held"]
        assert sorted(ln.amount.amount_minor for ln in held) == [-deposit, deposit], "each deposit entry once"
        assert len({ln.entry_id for ln in lines if ln.rule == "sale"}) == 1
        parties: dict[str, int] = defaultdict(int)
        for ln in lines:
            parties[ln.party] += ln.amount.amount_minor
        assert {k: v for k, v in parties.items() if v} == {
            "clearing": -10_000,
            f"channel:{market}": 500,
            "brand": 9_500,
        }
