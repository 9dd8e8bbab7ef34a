"""The locations of the stock pool. Inventory owns them; channels (which locations a channel may sell from) and
dealers (a dealer's own stores and warehouses) keep copies of them, in the same words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LocationType(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"
    DEALER_WAREHOUSE = "DEALER_WAREHOUSE"
    DEALER_STORE = "DEALER_STORE"

    @property
    def is_dealer(self) -> bool:
        return self in (LocationType.DEALER_WAREHOUSE, LocationType.DEALER_STORE)


@dataclass(frozen=True)
class Location:
    """A location of the pool, as the inventory.v1.Location contract describes it.

    Dealers' read model of inventory's locations extends it with the version it keeps the newest of;
    inventory's own `Location` extends it with the rules it enforces as the owner (a dealer location has an
    owner, an owner never changes), its version and the events it records, so the facts are written once and
    the rules stay with the owner.
    """

    id: str
    name: str
    type: LocationType
    owner_dealer_id: str = ""
    region: str = ""
    ships: bool = True
    pickup: bool = False
    priority: int = 0
    active: bool = True
