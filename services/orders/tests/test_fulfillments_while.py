"""The domain keeps every order's fulfillments within `FULFILLMENTS_WHILE[order.status]`, whatever happens to it
and in whatever order: ListOrders trusts it (order_listing.py lists a dealer's or a location's PAID orders from
the fulfillments still to leave, and no PENDING order from fulfillments at all), so a step that broke it would
hide orders from a warehouse's "to ship" list. Random walks of the aggregate's commands, refused ones included."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from onepool_kernel.errors import DomainError
from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule, PresaleTerms
from onepool_orders.domain.model import (
    FULFILLMENTS_WHILE,
    AllocatedStock,
    CustomerInfo,
    FulfillmentMode,
    FulfillmentPreference,
    Order,
    OrderLine,
    PaymentKind,
)
from onepool_orders.domain.stock_requests import StockLine

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TERMS = PresaleTerms(balance_due_seconds=3600, min_deposit_bps=2000, deposit_rule=DepositRule.REFUND)
STEPS = ["pay", "deposit", "balance", "ship0", "ship1", "pickup0", "left0", "cancel", "lapse", "expire", "complete"]
STEPS += ["return"]


def _order(pickup: bool, split: bool) -> Order:
    mode = FulfillmentMode.PICKUP_IN_STORE if pickup else FulfillmentMode.SHIP
    order = Order.place(
        order_id="o1",
        channel_id="web",
        external_order_id="E1",
        customer=CustomerInfo(phone="1380000"),
        lines=[OrderLine("A", 2, Money("CNY", 500)), OrderLine("B", 1, Money("CNY", 300))],
        fulfillment=FulfillmentPreference(mode=mode, address="x", pickup_location_id="SHOP" if pickup else ""),
        dealer_id="",
        payment_ttl_seconds=0,
        now=NOW,
    )
    where = "SHOP" if pickup else "WH"
    held = [AllocatedStock("A", where, 2), AllocatedStock("B", "WH2" if split and not pickup else where, 1)]
    order.record_reservation("r1", NOW + timedelta(minutes=15), held, "c1", NOW)
    return order


def _step(order: Order, step: str, at: datetime) -> None:
    f = order.fulfillments
    if step == "pay":
        order.pay(order.total, "p", at)
    elif step == "deposit":
        order.pay(Money("CNY", 400), "d", at, PaymentKind.DEPOSIT, TERMS)
    elif step == "balance":
        order.pay(order.balance, "b", at, PaymentKind.BALANCE)
    elif step in ("ship0", "ship1") and len(f) > int(step[-1]):
        order.ship(f[int(step[-1])].id, "T", at)
    elif step == "pickup0":
        order.confirm_pickup(f[0].id, at)
    elif step == "left0":
        order.record_left_in_inventory("r1", frozenset({f[0].location_id}), at)
    elif step == "cancel":
        order.cancel("by the brand", at)
    elif step == "lapse":
        order.lapse_balance(DepositRule.REFUND, at)
    elif step == "expire":
        order.record_lapsed_reservation("r1", at)
    elif step == "complete":
        order.complete(at)
    elif step == "return":
        order.return_items("ret", "req", [StockLine("A", 1)], "WH", "unwanted", at)


@settings(max_examples=400, deadline=None)
@given(
    pickup=st.booleans(),
    split=st.booleans(),
    steps=st.lists(st.sampled_from(STEPS), max_size=8),
)
def test_an_orders_fulfillments_stay_within_what_its_status_allows(pickup: bool, split: bool, steps: list[str]) -> None:
    order = _order(pickup, split)
    for n, step in enumerate(steps):
        with suppress(DomainError):  # a refused step may not break the rule either
            _step(order, step, NOW + timedelta(minutes=n))
        held = {f.status for f in order.fulfillments}
        assert held <= FULFILLMENTS_WHILE[order.status], (steps[: n + 1], order.status, held)
