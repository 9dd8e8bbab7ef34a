"""Reading the facts orders' events state (onepool/orders/v1/facts.proto) when some were added after the event
was written. `OrderFacts.facts_version` says which facts the producer states; a fact it does not state reads
as proto3's zero, which is not the same as the producer saying false. Readers in services call these instead
of trusting that zero, so a rolling upgrade or a replayed old event is read as the producer meant it."""

from __future__ import annotations

from onepool.orders.v1 import facts_pb2
from onepool_kernel.payments import payment_is_final

# The facts_version orders writes, and from which each fact is stated.
IS_FINAL_STATED = 1
# From 2 on `is_final` waits for the order's return window (and `returnable_until` is stated).
RETURN_WINDOW_STATED = 2
CURRENT = RETURN_WINDOW_STATED


def is_final(facts: facts_pb2.OrderFacts) -> bool:
    """Nothing can cancel the order's payment any more, as orders states it; for an event from before it did,
    orders' rule applied to the facts the event states (the rule orders applied when it wrote the event)."""
    if facts.facts_version >= IS_FINAL_STATED:
        return facts.is_final
    return payment_is_final(facts.is_open, facts.is_paid, facts.fulfillments)
