"""Settlement under JetStream delivery order (audit h4): a sale is split at the channel terms it was paid under,
however late its event is read, and a sale whose channel terms lag waits for them instead of being dead-lettered.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.settlement.v1 import settlement_pb2 as pb

from tests.support.channels import channel, publish_channel
from tests.support.orders import World, order_events

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def settlement(stack: Any) -> Any:
    # 3 deliveries instead of the default 30 (~12 min of 0.2 s..30 s back-off), so a wait that counted toward
    # dead-lettering shows within seconds; the mechanism is the same.
    await stack.start("settlement", orders_consumer_max_deliver=3)
    return stack.stub("settlement")


async def _lines(settlement: Any, md: Any, order_id: str) -> list[pb.JournalLine]:
    page = await settlement.ListEntries(pb.ListEntriesRequest(page_size=100, order_id=order_id), metadata=md)
    return list(page.entries)


async def _booked_or_retried(bus: Any, settlement: Any, md: Any, order_id: str, before: int, tries: int) -> bool | None:
    """True once the order is booked, False once its event was delivered `tries` times unbooked, else None.
    (Only this test's event flows to the consumer meanwhile: its deliveries are this event's.)"""
    if await _lines(settlement, md, order_id):
        return True
    return False if await bus.delivered("orders", "ORDERS") - before >= tries else None


def _fee(lines: list[pb.JournalLine], channel_id: str) -> int:
    return sum(ln.amount.amount_minor for ln in lines if ln.party == f"channel:{channel_id}")


async def test_a_sale_is_split_at_the_fee_in_force_when_it_was_paid(bus: Any, settlement: Any, admin: Any) -> None:
    """Paid at 5 % (channel version 1, as orders states it); the ChannelUpdated to 10 % (version 2) is applied by
    the CHANNELS durable while the OrderPaid waits on the ORDERS one: the sale is still split at 5 %."""
    tmall, warm, order_id = bus.uid("TMALL"), bus.uid("O"), bus.uid("O")
    await bus.channel_created(bus.channel(tmall, 500, version=1))
    await bus.order_paid(bus.order(warm, tmall, [("A", 1, 10_000)]))
    await bus.eventually(lambda: _lines(settlement, admin, warm), lambda ls: bool(ls))
    paid_at_5pct = bus.order(order_id, tmall, [("A", 1, 10_000)])
    paid_at_5pct.channel_version = 1
    await bus.channel_updated(bus.channel(tmall, 1000, version=2))  # the fee changes after the payment ...
    await bus.applied("channels", "CHANNELS")
    await bus.order_paid(paid_at_5pct)  # ... whose event is consumed after the change
    lines = await bus.eventually(lambda: _lines(settlement, admin, order_id), lambda ls: bool(ls))
    assert _fee(lines, tmall) == 500, f"commission booked at the later rate: {_fee(lines, tmall)}"
    # Facts that name no version (events from before orders stated it) take the newest terms held, as before.
    # A sale stating version 2 is booked only once settlement holds it: then 2 is the newest.
    at_v2 = bus.order(bus.uid("O"), tmall, [("A", 1, 10_000)])
    at_v2.channel_version = 2
    await bus.order_paid(at_v2)
    await bus.eventually(lambda: _lines(settlement, admin, at_v2.order_id), lambda ls: bool(ls), within=20)
    unversioned = bus.uid("O")
    await bus.order_paid(bus.order(unversioned, tmall, [("A", 1, 10_000)]))
    lines = await bus.eventually(lambda: _lines(settlement, admin, unversioned), lambda ls: bool(ls))
    assert _fee(lines, tmall) == 1_000


async def test_a_sale_paid_under_a_version_not_heard_of_yet_waits_for_it(bus: Any, settlement: Any, admin: Any) -> None:
    """Orders saw version 2 (15 %) before settlement did: the sale waits for that version, not the 5 % held."""
    ch, order_id = bus.uid("JD"), bus.uid("O")
    await bus.channel_created(bus.channel(ch, 500, version=1))
    await bus.applied("channels", "CHANNELS")
    paid = bus.order(order_id, ch, [("A", 1, 10_000)])
    paid.channel_version = 2
    before = await bus.delivered("orders", "ORDERS")
    await bus.order_paid(paid)
    # Until it was tried and put back (a second delivery), or booked (what must not happen).
    booked = await bus.eventually(
        lambda: _booked_or_retried(bus, settlement, admin, order_id, before, 2), lambda done: done is not None
    )
    assert not booked, "booked before its terms were known"
    await bus.channel_updated(bus.channel(ch, 1500, version=2))
    lines = await bus.eventually(lambda: _lines(settlement, admin, order_id), lambda ls: bool(ls), within=20)
    assert _fee(lines, ch) == 1_500


async def test_a_sale_whose_channel_terms_lag_waits_and_is_not_dead_lettered(
    bus: Any, settlement: Any, admin: Any
) -> None:
    """ChannelNotKnownYet is a consumer.NotYet: its retries never count toward max_deliver, so the OrderPaid is
    booked once the channel's terms arrive (a plain exception dead-lettered it after three deliveries)."""
    late, order_id = bus.uid("LATE"), bus.uid("O")
    before = await bus.delivered("orders", "ORDERS")
    await bus.order_paid(bus.order(order_id, late, [("A", 1, 10_000)]))
    # Delivered once more than max_deliver: counted toward it, it would have been dead-lettered after the third.
    await bus.eventually(lambda: bus.delivered("orders", "ORDERS"), lambda n: n - before >= 4, within=20)
    await bus.channel_created(bus.channel(late, 500))
    lines = await bus.eventually(lambda: _lines(settlement, admin, order_id), lambda ls: bool(ls), within=20)
    assert _fee(lines, late) == 500


async def test_cancel_before_paid_and_return_before_shipped_end_the_same(bus: Any, settlement: Any, admin: Any) -> None:
    """Settlement reads only facts and keys every entry, so reversed status events end the same."""
    ch, a, b, owner = bus.uid("CH"), bus.uid("O"), bus.uid("O"), bus.uid("D")
    await bus.channel_created(bus.channel(ch, 1000))
    await bus.applied("channels", "CHANNELS")
    cancelled = bus.order(a, ch, [("A", 1, 10_000)], refunded=10_000)
    cancelled.is_open = False
    await bus.order_cancelled(cancelled)
    await bus.order_paid(bus.order(a, ch, [("A", 1, 10_000)]))
    shop = bus.fulfillment("F1", "SHOP", [("A", 4)], owner_dealer_id=owner, shipped=True)
    order = bus.order(b, ch, [("A", 4, 5_000)], fulfillments=[shop], refunded=5_000)
    await bus.order_returned(order, bus.uid("R"), 5_000)
    await bus.order_shipped(bus.order(b, ch, [("A", 4, 5_000)], fulfillments=[shop]), "F1")
    await bus.order_paid(bus.order(b, ch, [("A", 4, 5_000)]))
    expected = {"clearing": -15_000, f"channel:{ch}": 1_500, f"dealer:{owner}": 750, "brand": 12_750}

    async def by_party() -> dict[str, int]:
        by: dict[str, int] = {}
        for ln in await _lines(settlement, admin, b):
            by[ln.party] = by.get(ln.party, 0) + ln.amount.amount_minor
        return by

    assert await bus.eventually(by_party, lambda by: by == expected, within=20) == expected
    la = await _lines(settlement, admin, a)
    assert {ln.party for ln in la if ln.amount.amount_minor} and sum(
        ln.amount.amount_minor for ln in la if ln.party != "clearing"
    ) == 0


@pytest.fixture(scope="module")
async def world(stack: Any, admin: Any, settlement: Any) -> World:
    await stack.start("inventory")
    await stack.start("orders")
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


async def test_a_shipment_that_overtakes_its_payment_books_the_sale_at_the_fee_paid_under(
    bus: Any, settlement: Any, admin: Any, world: World
) -> None:
    """Orders takes the payment at 5 % (channel version 1); the fee changes to 10 % (version 2); the order ships.
    The OrderShipped orders published reaches settlement before the delayed OrderPaid (replayed here, in that
    order, under a fresh order id), so the sale is booked from the shipment's facts: at 5 %. Orders stated
    version 0 in every event but the payment's, and the sale was booked at 10 %."""
    sku, warehouse = bus.uid("A"), await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    ch = await world.channel(location_ids=[warehouse], fee_rate_bps=500, version=1)
    order = await world.place(ch, {sku: (1, 10_000)})
    await world.pay(order)
    await publish_channel(world.nats_url, channel(ch, location_ids=[warehouse], fee_rate_bps=1000, version=2),
                          updated=True)  # fmt: skip
    await asyncio.sleep(1)  # orders and settlement hold version 2
    await world.ship_first(order)
    events = await bus.eventually(
        lambda: order_events(world.nats_url, order.id), lambda evs: "orders.order.shipped" in dict(evs)
    )
    published = dict(events)
    overtaken = bus.uid("O")
    shipped, paid = published["orders.order.shipped"], published["orders.order.paid"]
    shipped.facts.order_id = paid.facts.order_id = overtaken
    await bus.order_shipped(shipped.facts, shipped.fulfillment_id)
    await bus.order_paid(paid.facts)
    lines = await bus.eventually(lambda: _lines(settlement, admin, overtaken), lambda ls: bool(ls))
    assert _fee(lines, ch) == 500, f"commission booked at the later rate: {_fee(lines, ch)}"
