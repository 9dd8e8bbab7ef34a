"""A consumer's batch of orders events is booked together (handlers.record_orders, posting_sql.py) with the
same effect as one event at a time: each order's sale once, its fees once, whatever order the paid and
shipped events come in, duplicates and unpaid events included. The events are published back to back, so the
orders consumer meets them in a few fetches of many (its batch is 500)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from onepool.settlement.v1 import settlement_pb2 as pb

from tests.settlement.conftest import Bus

pytestmark = pytest.mark.asyncio


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

    async def booked() -> dict[str, list[pb.JournalLine]]:
        out: dict[str, list[pb.JournalLine]] = {}
        for order_id in orders:
            reply = await settlement.ListEntries(pb.ListEntriesRequest(order_id=order_id), metadata=admin)
            out[order_id] = list(reply.entries)
        return out

    def complete(found: dict[str, list[pb.JournalLine]]) -> bool:
        return all({"sale", "fulfilment_fee"} <= {ln.rule for ln in lines} for lines in found.values())

    found = await bus.eventually(booked, complete, within=30.0)
    await asyncio.sleep(1.0)  # anything still in flight (a duplicate) would land now
    found = await booked()
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
