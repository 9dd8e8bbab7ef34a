"""`python -m tests.bench.mapping_cost`: what `onepool_runtime.mapping.to_message` costs on two hot mappers, with
its exact-type path for plain values (str, int, bool, float, bytes) and without it (every value through the
isinstance chain: Enum, datetime, Money, collections, as before that path). The cases are orders' `Order` of
three reserved lines (PlaceOrder's reply and every order event carry one) and settlement's `JournalLine` (each
`EntryPosted` carries one per line). Microseconds of CPU per call, best of three, the two modes alternated.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from onepool_kernel.money import Money
from onepool_orders.adapters.mappers import order_to_proto
from onepool_orders.domain.model import AllocatedStock, CustomerInfo, FulfillmentPreference, Order, OrderLine
from onepool_runtime import mapping
from onepool_settlement.adapters.mappers import line_to_proto
from onepool_settlement.domain.model import JournalLine

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _order() -> Order:
    order = Order.place(
        order_id="O" * 26,
        channel_id="web",
        external_order_id="E-1",
        customer=CustomerInfo(phone="13800000000"),
        lines=[OrderLine(sku, qty, Money("CNY", price)) for sku, qty, price in (("A", 2, 1999), ("B", 1, 5000))]
        + [OrderLine("C", 3, Money("CNY", 250))],
        fulfillment=FulfillmentPreference(address="1 Road"),
        dealer_id="",
        payment_ttl_seconds=900,
        now=NOW,
    )
    allocations = [AllocatedStock(ln.sku, "WH", ln.quantity) for ln in order.lines]
    order.record_reservation("R1", NOW + timedelta(minutes=15), allocations, "web", NOW)
    return order


def _line() -> JournalLine:
    return JournalLine(
        id=1,
        entry_id="E" * 26,
        party="brand",
        account="sale",
        amount=1234,
        currency="CNY",
        rule="SALE",
        order_id="O" * 26,
        source_event_id="X" * 26,
        source_subject="orders.order.paid",
        created_at=NOW,
        occurred_at=NOW,
    )


def measure(call: Callable[[], object], number: int = 20_000) -> dict[str, float]:
    plain = mapping._PLAIN
    best: dict[str, float] = {}
    try:
        for _ in range(3):
            for mode, types in (("isinstance chain", frozenset()), ("exact-type path", plain)):
                mapping._PLAIN = types
                took = min(timeit.repeat(call, number=number, repeat=3)) / number * 1e6
                best[mode] = min(best.get(mode, took), took)
    finally:
        mapping._PLAIN = plain
    return best


def main() -> None:
    order, line = _order(), _line()
    for label, call in (
        ("orders order_to_proto, 3 reserved lines", lambda: order_to_proto(order)),
        ("settlement line_to_proto", lambda: line_to_proto(line)),
    ):
        best = measure(call)
        before, after = best["isinstance chain"], best["exact-type path"]
        print(f"{label}: {before:.1f} us -> {after:.1f} us ({before / after:.2f}x)")


if __name__ == "__main__":
    main()
