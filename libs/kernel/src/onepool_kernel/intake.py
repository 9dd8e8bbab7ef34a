"""What a channel hands over with an order: the order to place (its buyer as the channel knows them, its lines
and how the buyer wants the goods); and what a channel's orders may contain.

Channels builds these from a marketplace's payload (ImportOrder) and orders keeps them on the order it
places; both speak the orders contract's PlaceOrderRequest (Customer, OrderLine, FulfillmentPreference), so
both use these types, and `PlaceOrder` is the one command to place an order: what ImportOrder resolves a
marketplace payload into, and what orders' PlaceOrder RPC is translated into.
The catalogue is set on the channel (channels) and enforced on every order placed on it (orders' copy of
the channel keeps it), so it is one type too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from onepool_kernel.money import Money


class Catalogue(StrEnum):
    """What orders on a channel may contain (orders enforces it on PlaceOrder, so on ImportOrder too)."""

    LISTINGS = "LISTINGS"  # only its active listings, at their prices (the default)
    POOL = "POOL"  # any SKU of its pool (a brand shop's POS, a dealer's own channel); listed SKUs as listed


class FulfillmentMode(StrEnum):
    SHIP = "SHIP"
    PICKUP_IN_STORE = "PICKUP_IN_STORE"
    DEALER_DELIVERY = "DEALER_DELIVERY"


@dataclass(frozen=True)
class CustomerInfo:
    """Who ordered, as the channel knows them. Orders' One-ID maps phone / member id to a customer_id."""

    channel_customer_id: str = ""
    phone: str = ""
    member_id: str = ""
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class FulfillmentPreference:
    mode: FulfillmentMode = FulfillmentMode.SHIP
    # ISO 3166-2 style region, e.g. "CN-SH"; sourcing prefers locations in it.
    region: str = ""
    address: str = ""
    pickup_location_id: str = ""
    # Whether the order may ship in parts from several locations.
    allow_split: bool = False


@dataclass(frozen=True)
class LineToPlace:
    """A line of an order to place: units of a SKU at a unit price, less the line's reduction."""

    sku: str
    quantity: int
    unit_price: Money
    channel_sku: str = ""
    # The reduction on the whole line, in the price's currency (0 <= discount <= unit_price x quantity).
    discount_minor: int = 0

    @property
    def discount(self) -> Money:
        return Money(self.unit_price.currency, self.discount_minor)


@dataclass(frozen=True)
class PlaceOrder:
    """The command to place an order a channel sold: in OnePool SKUs and minor units, one currency. Orders'
    PlaceOrder use case takes it (from its RPC); channels' ImportOrder builds it from a marketplace payload."""

    channel_id: str
    external_order_id: str
    customer: CustomerInfo
    lines: tuple[LineToPlace, ...]
    fulfillment: FulfillmentPreference
    # The dealer who sells it (a dealer channel's owner), or who delivers a DEALER_DELIVERY order.
    dealer_id: str = ""
    # Shipping charged to the customer, in the lines' currency.
    shipping_fee_minor: int = 0
    # How long the unpaid order holds its stock; 0 is orders' default.
    payment_ttl_seconds: int = 0
    # When the channel's copy of the order (its delivery address) was last modified, such as a marketplace
    # payload's own modification time; None is now. Orders answers an older address change with the order as it
    # is. Not part of what the order is: a repeated request with another one is the same order.
    address_as_of: datetime | None = None

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency if self.lines else ""

    @property
    def shipping_fee(self) -> Money:
        return Money(self.currency, self.shipping_fee_minor)
