"""Orders domain events: plain dataclasses, past tense, recorded by the Order aggregate.

Each carries the aggregate itself; the translator (adapters/integration.py) reads its state at commit, so the
published order is the one that was committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onepool_kernel.money import Money

    from onepool_orders.domain.model import LinePromise, Order, Return


@dataclass(frozen=True)
class OrderPlaced:
    """Stock is reserved: the order exists for everyone else from here on."""

    order: Order


@dataclass(frozen=True)
class DeliveryAddressChanged:
    """The buyer's new address, before anything left a location (the region and the stock stay as placed)."""

    order: Order
    previous_address: str


@dataclass(frozen=True)
class OrderRepriced:
    """An unpaid order's discounts or shipping fee changed (the marketplace adjusted its price)."""

    order: Order
    previous_total: Money


@dataclass(frozen=True)
class OrderPaid:
    order: Order


@dataclass(frozen=True)
class OrderCancelled:
    order: Order
    reason: str


@dataclass(frozen=True)
class FulfillmentShipped:
    """One fulfillment left its location (shipped, or handed over to the customer in the store)."""

    order: Order
    fulfillment_id: str


@dataclass(frozen=True)
class OrderCompleted:
    order: Order


@dataclass(frozen=True)
class ItemsReturned:
    order: Order
    order_return: Return


@dataclass(frozen=True)
class DepositPaid:
    """Presale: a deposit was paid; the balance is due by the order's balance_due_at."""

    order: Order


@dataclass(frozen=True)
class StockFilled:
    """Goods arrived for some of the order's waiting units."""

    order: Order


@dataclass(frozen=True)
class PromiseMoved:
    """The date the order's waiting units are promised moved (the customer is told)."""

    order: Order
    lines: tuple[LinePromise, ...]
    reason: str


@dataclass(frozen=True)
class ReturnWindowClosed:
    """The order's returnable_until passed: its income is final (published once per order)."""

    order: Order
