"""When nothing can cancel an order's payment any more: orders' rule, stated in its events as
`OrderFacts.is_final`. Orders applies it to its aggregate; readers apply it only to events from before orders
stated the fact (`onepool_runtime.order_facts`), so both read one rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Shipment(Protocol):
    """A fulfillment as the rule sees it: orders' own, or the facts an event states of it."""

    @property
    def has_left(self) -> bool: ...

    @property
    def is_cancelled(self) -> bool: ...


def payment_is_final(is_open: bool, is_paid: bool, fulfillments: Iterable[Shipment]) -> bool:
    """The order is closed, or paid with all its goods gone (every fulfillment left or cancelled, one at least
    left): CancelOrder then refunds nothing, only a return does, and the goods come back with it."""
    if not is_open:
        return True
    remaining = [f for f in fulfillments if not f.is_cancelled]
    return is_paid and bool(remaining) and all(f.has_left for f in remaining)
