"""Commands: what callers ask the orders service to do (imperative names), already validated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The order-intake command is the kernel's: channels' ImportOrder builds the same one.
from onepool_kernel.intake import PlaceOrder as PlaceOrder
from onepool_kernel.money import Money

from onepool_orders.domain.model import OrderStatus, PaymentKind
from onepool_orders.domain.stock_requests import StockLine


@dataclass(frozen=True)
class PayOrder:
    order_id: str
    payment_ref: str
    amount: Money
    kind: PaymentKind = PaymentKind.FULL


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    reason: str


@dataclass(frozen=True)
class ChangeDeliveryAddress:
    request_id: str
    order_id: str
    address: str
    # When the buyer's address became `address` (None: now); an older change is moot (Order.change_delivery_address).
    as_of: datetime | None = None


@dataclass(frozen=True)
class RepriceOrder:
    request_id: str
    order_id: str
    # Every line's new discount, by SKU.
    discounts: dict[str, Money]
    shipping_fee: Money
    # When the marketplace adjusted the price (None: now); an older reprice is moot (Order.reprice).
    as_of: datetime | None = None


@dataclass(frozen=True)
class ShipFulfillment:
    order_id: str
    fulfillment_id: str
    tracking_no: str


@dataclass(frozen=True)
class ConfirmPickup:
    order_id: str
    fulfillment_id: str


@dataclass(frozen=True)
class CompleteOrder:
    order_id: str


@dataclass(frozen=True)
class ReturnItems:
    request_id: str
    order_id: str
    lines: tuple[StockLine, ...]
    return_location_id: str
    reason: str
    # After the order's returnable_until: accepted only with this (the brand's operators; scope.py).
    accept_after_window: bool = False


@dataclass(frozen=True)
class ListOrders:
    """A query: every filter set must match. `dealer_id` matches orders sold by the dealer and orders
    fulfilled at the dealer's locations; `location_id` matches orders with a fulfillment there."""

    channel_id: str = ""
    dealer_id: str = ""
    customer_id: str = ""
    location_id: str = ""
    external_order_id: str = ""
    status: OrderStatus | None = None
    limit: int = 100
    # Keyset cursor: orders strictly older than (created_at, id), newest first.
    after: tuple[str, str] | None = None


@dataclass(frozen=True)
class RefundOrder:
    """Money back with no goods (a refund-only, a goodwill credit; Order.refund_only). `accept_after_window`:
    after the order's returnable_until, the brand's operators only (scope.py), as for ReturnItems."""

    request_id: str
    order_id: str
    amount: Money
    reason: str
    accept_after_window: bool = False
