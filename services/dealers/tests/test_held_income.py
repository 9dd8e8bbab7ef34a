"""Income that can still be refunded never raises a dealer's credit (domain/income.py): what settlement posts to
a dealer from an order counts once dealers hears the order closed, whichever stream is read first; refunds
and anything without an order count at once."""

from __future__ import annotations

import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool.settlement.v1 import settlement_pb2
from onepool_runtime import order_facts
from sqlalchemy import text

from .conftest import cny, eventually

pytestmark = pytest.mark.asyncio


async def _owed(dealers, admin, dealer_id: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer_id), metadata=admin)
    return o.balance.amount_minor, o.credit_available.amount_minor


async def test_a_sales_share_counts_only_once_its_order_closes(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish
) -> None:
    """STANDARD dealer, limit 10 000, owes 3 600 for a received replenishment. Its paid sale (O1) posts +1 000:
    held while O1 is open, counted when O1 closes (twice heard: once counted). A refund counts at once, so
    does a payment (no order). A brand order (O2, not the dealer's) shipped from its shop pays it a fee: the
    order's close, heard before or after the entry, releases it."""
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-H": 10})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-H": 4}), metadata=admin
        )
    ).replenishment.id
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    party = f"dealer:{dealer.id}"
    o1, o2 = setup.name("O"), setup.name("O")

    def entry(rule: str, amount: int, order_id: str = "") -> settlement_events.EntryPosted:
        return settlement_events.EntryPosted(
            entry_id=setup.name("E"),
            order_id=order_id,
            rule=rule,
            currency="CNY",
            lines=[
                settlement_pb2.JournalLine(party=party, amount=cny(amount)),
                settlement_pb2.JournalLine(party="brand", amount=cny(-amount)),
            ],
        )

    def closed(order_id: str, dealer_id: str, shipped_by: str = "") -> facts_pb2.OrderFacts:
        shop = facts_pb2.FulfillmentFacts(fulfillment_id="F1", location_id=store, location_owner_dealer_id=shipped_by)
        return facts_pb2.OrderFacts(
            order_id=order_id, dealer_id=dealer_id, channel_id="WEB", is_open=False, fulfillments=[shop]
        )

    async def owed_is(balance: int) -> None:
        async def check() -> bool:
            return await _owed(dealers, admin, dealer.id) == (balance, 10_000 - balance)

        await eventually(check)

    await owed_is(3600)
    await publish("settlement.entry.posted", entry("sale", 1000, o1))
    await publish("settlement.entry.posted", entry("payment", 100))  # read after the sale: counts at once
    await owed_is(3500)  # the sale's share is held: O1 may still be cancelled

    placed = facts_pb2.OrderFacts(order_id=o1, is_open=True)
    await publish("orders.order.placed", order_events.OrderPlaced(facts=placed))
    await publish("settlement.entry.posted", entry("payment", 100))
    await owed_is(3400)  # an open order's event releases nothing

    await publish("orders.order.completed", order_events.OrderCompleted(facts=closed(o1, dealer.id)))
    await owed_is(2400)
    await publish("orders.order.returned", order_events.OrderReturned(facts=closed(o1, dealer.id)))
    await publish("settlement.entry.posted", entry("return", -400, o1))  # a refund of the closed order
    await owed_is(2800)  # the second close released nothing more

    # The brand's order: its close is heard first, then its fee (counted at once); a second fee of it after.
    await publish("orders.order.cancelled", order_events.OrderCancelled(facts=closed(o2, "", shipped_by=dealer.id)))
    await publish("settlement.entry.posted", entry("fulfilment_fee", 300, o2))
    await owed_is(2500)


async def test_only_orders_a_dealer_can_earn_from_are_kept_closed(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, dealers_db
) -> None:
    """The closes dealers keeps (closed_orders) are only those of orders a dealer can earn from: its own, or
    shipped from a dealer's location. Before, every closed order of the platform was kept, for ever (25 brand
    web orders shipped from a brand warehouse: 25 rows no income ever asks for)."""
    dealer, store, _ = await setup.ready(limit=10_000)
    brand = [setup.name("BRAND") for _ in range(25)]
    mine, shipped_by_it = setup.name("OWN"), setup.name("SHOP")
    warehouse = facts_pb2.FulfillmentFacts(fulfillment_id="F1", location_id="WH-1", has_left=True)
    shop = facts_pb2.FulfillmentFacts(
        fulfillment_id="F1", location_id=store, location_owner_dealer_id=dealer.id, has_left=True
    )
    for order_id in brand:
        facts = facts_pb2.OrderFacts(order_id=order_id, channel_id="WEB", is_open=False, fulfillments=[warehouse])
        await publish("orders.order.completed", order_events.OrderCompleted(facts=facts))
    own = facts_pb2.OrderFacts(order_id=mine, dealer_id=dealer.id, channel_id="WEB", is_open=False)
    await publish("orders.order.completed", order_events.OrderCompleted(facts=own))
    theirs = facts_pb2.OrderFacts(order_id=shipped_by_it, channel_id="WEB", is_open=False, fulfillments=[shop])
    await publish("orders.order.completed", order_events.OrderCompleted(facts=theirs))

    async def kept() -> set[str]:
        async with dealers_db.connect() as conn:
            query = text("SELECT order_id FROM closed_orders WHERE order_id = ANY(:ids)")
            return set((await conn.execute(query, {"ids": [*brand, mine, shipped_by_it]})).scalars())

    async def both_kept() -> bool:
        return await kept() == {mine, shipped_by_it}

    await eventually(both_kept)  # the brand orders were published first, on the same stream


async def test_an_open_orders_share_counts_when_orders_says_it_is_final(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish
) -> None:
    """Orders decides when nothing can cancel an order's payment any more (OrderFacts.is_final: paid with all its
    goods gone); dealers reads that fact and never judges the fulfillments itself. A sale's +1 000 stays held on
    an event showing every fulfillment left without the fact, and counts on the one that states it.

    An event from before orders stated the fact (facts_version 0) is read by orders' rule over its facts, so
    an order shipped during a rolling upgrade does not hold its income until someone completes it."""
    dealer, store, _ = await setup.ready(limit=10_000)
    order_id, party = setup.name("O"), f"dealer:{dealer.id}"
    sale = settlement_events.EntryPosted(
        entry_id=setup.name("E"),
        order_id=order_id,
        rule="sale",
        currency="CNY",
        lines=[
            settlement_pb2.JournalLine(party=party, amount=cny(1000)),
            settlement_pb2.JournalLine(party="brand", amount=cny(-1000)),
        ],
    )
    shop = facts_pb2.FulfillmentFacts(
        fulfillment_id="F1", location_id=store, location_owner_dealer_id=dealer.id, has_left=True
    )

    def shipped(is_final: bool, facts_version: int = order_facts.CURRENT) -> order_events.OrderShipped:
        facts = facts_pb2.OrderFacts(
            order_id=order_id,
            dealer_id=dealer.id,
            is_open=True,
            is_paid=True,
            is_final=is_final,
            fulfillments=[shop],
            facts_version=facts_version,
        )
        return order_events.OrderShipped(facts=facts, fulfillment_id="F1")

    async def owed_is(balance: int) -> None:
        async def check() -> bool:
            return (await _owed(dealers, admin, dealer.id))[0] == balance  # credit stops at the limit

        await eventually(check)

    await publish("settlement.entry.posted", sale)
    await publish("orders.order.shipped", shipped(is_final=False))
    payment = settlement_events.EntryPosted(
        entry_id=setup.name("E"),
        rule="payment",
        currency="CNY",
        lines=[
            settlement_pb2.JournalLine(party=party, amount=cny(100)),
            settlement_pb2.JournalLine(party="brand", amount=cny(-100)),
        ],
    )
    await publish("settlement.entry.posted", payment)  # read after the shipment: counts at once
    await owed_is(-100)  # the sale's share is still held: orders has not said the order is final
    await publish("orders.order.shipped", shipped(is_final=True))
    await owed_is(-1100)

    # The same sale of another order, shipped by an orders build that did not state the fact yet.
    order_id = setup.name("O")
    second = settlement_events.EntryPosted()
    second.CopyFrom(sale)
    second.entry_id, second.order_id = setup.name("E"), order_id
    await publish("settlement.entry.posted", second)
    await publish("orders.order.shipped", shipped(is_final=False, facts_version=0))
    await owed_is(-2100)


async def test_a_fee_given_by_an_entry_that_takes_from_the_sale_is_held_as_settlement_holds_it(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish
) -> None:
    """Audit X: a return's reversal of an open order takes -3 500 of dealer D's sale and gives it +125 of a fee
    (in proportion). Settlement's payouts hold the +125 line until the order is final; dealers netted the entry
    (-3 375, counted at once), so D's credit counted 125 settlement held. Now the negative part counts at once
    and the positive part is held, line by line, as settlement holds it."""
    dealer, _, _ = await setup.ready(limit=10_000)
    order_id, party = setup.name("O"), f"dealer:{dealer.id}"
    reversal = settlement_events.EntryPosted(
        entry_id=setup.name("E"),
        order_id=order_id,
        rule="return",
        currency="CNY",
        lines=[
            settlement_pb2.JournalLine(party=party, amount=cny(-3500)),
            settlement_pb2.JournalLine(party=party, amount=cny(125)),
            settlement_pb2.JournalLine(party="brand", amount=cny(3375)),
        ],
    )
    await publish("settlement.entry.posted", reversal)

    async def owed_and_held() -> tuple[int, int]:
        o = await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer.id), metadata=admin)
        return o.balance.amount_minor, o.income_held.amount_minor

    async def counted() -> bool:
        return await owed_and_held() == (3500, 125)

    await eventually(counted)
    final = facts_pb2.OrderFacts(order_id=order_id, dealer_id=dealer.id, is_open=False)
    await publish("orders.order.completed", order_events.OrderCompleted(facts=final))

    async def released() -> bool:
        return await owed_and_held() == (3375, 0)

    await eventually(released)
