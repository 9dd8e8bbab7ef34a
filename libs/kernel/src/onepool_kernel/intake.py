"""What a channel hands over with an order: the buyer as the channel knows them and how they want the goods;
and what a channel's orders may contain.

Channels builds these from a marketplace's payload (ImportOrder) and orders keeps them on the order it
places; both speak the orders contract's Customer and FulfillmentPreference, so both use these types.
The catalogue is set on the channel (channels) and enforced on every order placed on it (orders' copy of
the channel keeps it), so it is one type too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
