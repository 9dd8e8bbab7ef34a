"""Orders' published events state the facts their readers need, as the domain computes them (no database,
no network: the translator is the only place domain objects become the published contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onepool.common.v1 import common_pb2
from onepool.orders.v1 import events_pb2 as ev
from onepool_kernel.money import Money
from onepool_orders.adapters.integration import translate
from onepool_orders.domain.model import (
    AllocatedStock,
    CustomerInfo,
    FulfillmentPreference,
    Order,
    OrderLine,
)
from onepool_orders.domain.stock_requests import StockLine
from onepool_runtime import order_facts

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


def split_order() -> Order:
    """3 x A at 100 and 1 x B at 700, held at a brand warehouse and at a dealer's shop; paid."""
    order = Order.place(
        order_id="o1",
        channel_id="tmall",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine("A", 3, Money("CNY", 100)), OrderLine("B", 1, Money("CNY", 700))],
        fulfillment=FulfillmentPreference(allow_split=True),
        dealer_id="D1",
        payment_ttl_seconds=0,
        now=NOW,
    )
    allocations = [
        AllocatedStock("A", "SHOP", 1, owner_dealer_id="D2"),
        AllocatedStock("A", "WH", 2),
        AllocatedStock("B", "WH", 1),
    ]
    order.record_reservation("r1", None, allocations, "C-42", NOW)
    order.pay(Money("CNY", 1000), "pay-1", NOW)
    return order


def published(order: Order) -> list[object]:
    out = [message for event in order.events for message in translate(event)]
    order.events.clear()
    return out


def test_every_event_states_who_what_where_and_whether_open_and_paid() -> None:
    order = split_order()
    placed, paid = published(order)
    assert isinstance(placed, ev.OrderPlaced) and isinstance(paid, ev.OrderPaid)
    facts = paid.facts
    assert (facts.order_id, facts.channel_id, facts.dealer_id, facts.customer_id) == ("o1", "tmall", "D1", "C-42")
    assert (facts.is_open, facts.is_paid) == (True, True)
    assert (facts.total, facts.paid, facts.refunded) == (cny(1000), cny(1000), cny(0))
    assert [
        (ln.sku, ln.quantity, ln.fulfilled_quantity, ln.returned_quantity, ln.unit_price, ln.line_total)
        for ln in facts.lines
    ] == [("A", 3, 0, 0, cny(100), cny(300)), ("B", 1, 0, 0, cny(700), cny(700))]
    assert [
        (f.location_id, f.location_owner_dealer_id, [(ln.sku, ln.quantity) for ln in f.lines], f.has_left)
        for f in facts.fulfillments
    ] == [("SHOP", "D2", [("A", 1)], False), ("WH", "", [("A", 2), ("B", 1)], False)]
    # The translator read the order as it was when the events were published: placed and paid alike.
    assert placed.facts == paid.facts

    shop = order.fulfillments[0]
    order.ship(shop.id, "SF1", NOW)
    (shipped,) = published(order)
    assert isinstance(shipped, ev.OrderShipped)
    assert shipped.fulfillment_id == shop.id
    assert [f.has_left for f in shipped.facts.fulfillments] == [True, False]
    assert shipped.facts.fulfillments[0].left_at.ToDatetime(tzinfo=UTC) == NOW
    assert [ln.fulfilled_quantity for ln in shipped.facts.lines] == [1, 0]
    assert (shipped.facts.is_open, shipped.facts.is_paid) == (True, True)


def test_returns_and_cancellations_state_what_is_due_back() -> None:
    order = split_order()
    for f in order.fulfillments:
        order.ship(f.id, "T", NOW)
    order.return_items("R1", "req-1", [StockLine("A", 1)], "SHOP", "too small", NOW)
    order.complete(NOW)
    *_, returned, completed = published(order)
    assert isinstance(returned, ev.OrderReturned) and isinstance(completed, ev.OrderCompleted)
    assert (returned.returned.return_id, returned.returned.location_id, returned.returned.reason) == (
        "R1",
        "SHOP",
        "too small",
    )
    assert [(ln.sku, ln.quantity) for ln in returned.returned.lines] == [("A", 1)]
    assert returned.returned.refund == cny(100)
    assert [ln.returned_quantity for ln in completed.facts.lines] == [1, 0]
    assert (completed.facts.refunded, completed.facts.is_open, completed.facts.is_paid) == (cny(100), False, True)

    cancelled = split_order()
    published(cancelled)
    cancelled.cancel("changed mind", NOW)  # after payment: all of it is due back
    (event,) = published(cancelled)
    assert isinstance(event, ev.OrderCancelled) and event.reason == "changed mind"
    assert (event.facts.is_open, event.facts.is_paid, event.facts.refunded) == (False, True, cny(1000))
    assert all(f.is_cancelled for f in event.facts.fulfillments)


def test_events_say_when_nothing_can_refund_the_payment_any_more() -> None:
    """OrderFacts.is_final, what settlement's payouts and dealers' credit wait for: cancelled, or its return
    window closed (goods gone is not enough: a return still refunds the sale). The window runs from when the
    last goods left, for the channel's days (7 unless the channel says otherwise)."""
    order = split_order()
    assert [e.facts.is_final for e in published(order)] == [False, False]  # placed; paid, nothing left yet
    shop, warehouse = order.fulfillments
    order.ship(shop.id, "SF1", NOW)
    (shipped,) = published(order)
    assert not shipped.facts.is_final and not shipped.facts.HasField("returnable_until")
    later = NOW + timedelta(hours=5)
    order.ship(warehouse.id, "SF2", later)
    (shipped,) = published(order)
    assert not shipped.facts.is_final and shipped.facts.is_open  # all gone, yet returnable for 7 days
    assert shipped.facts.returnable_until.ToDatetime(UTC) == later + timedelta(days=7)
    assert not order.close_return_window(later + timedelta(days=7) - timedelta(seconds=1))
    assert order.close_return_window(later + timedelta(days=7))
    assert not order.close_return_window(later + timedelta(days=8))  # once
    (closed,) = published(order)
    assert isinstance(closed, ev.OrderReturnWindowClosed)
    assert closed.facts.is_final and closed.facts.facts_version == order_facts.CURRENT

    partly = split_order()
    published(partly)
    partly.ship(partly.fulfillments[0].id, "SF1", NOW)
    partly.cancel("warehouse lost it", later)  # the rest will not leave: cancelled, its share refunded
    *_, cancelled_rest = published(partly)
    assert not cancelled_rest.facts.is_final and cancelled_rest.facts.is_open
    assert cancelled_rest.facts.returnable_until.ToDatetime(UTC) == NOW + timedelta(days=7)  # from what left

    unpaid = split_order()
    unpaid.events.clear()
    unpaid.cancel("changed mind", NOW)
    (event,) = published(unpaid)
    assert event.facts.is_final and not event.facts.is_open  # closed: nothing left to refund


def test_events_say_which_facts_they_state() -> None:
    """Every event says it states `is_final` under the return window (facts_version), so its false is not read
    as "not stated" and readers (onepool_runtime.order_facts) take it as stated. Only an event from before the
    field (facts_version 0) is read by the older rule, which counted goods gone as final."""
    seen = []
    for steps in ("ship both", "ship one, cancel", "cancel unpaid"):
        order = split_order()
        seen += published(order)
        shop, warehouse = order.fulfillments
        if steps == "cancel unpaid":
            order = split_order()
            order.events.clear()
        else:
            order.ship(shop.id, "SF1", NOW)
            seen += published(order)
        if steps == "ship both":
            order.ship(warehouse.id, "SF2", NOW)
        else:
            order.cancel("no longer wanted", NOW)
        seen += published(order)
    assert {e.facts.facts_version for e in seen} == {order_facts.CURRENT}
    assert {e.facts.is_final for e in seen} == {True, False}
    for event in seen:
        assert order_facts.is_final(event.facts) == event.facts.is_final
    shipped_both = seen[3]
    old = type(shipped_both.facts)()
    old.CopyFrom(shipped_both.facts)
    old.ClearField("facts_version")
    old.ClearField("is_final")
    assert order_facts.is_final(old) and not shipped_both.facts.is_final
