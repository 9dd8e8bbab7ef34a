"""The kinds of location in the stock pool. Inventory owns the locations; channels (which locations a channel
may sell from) and dealers (a dealer's own stores and warehouses) keep copies of them, in the same words."""

from __future__ import annotations

from enum import StrEnum


class LocationType(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"
    DEALER_WAREHOUSE = "DEALER_WAREHOUSE"
    DEALER_STORE = "DEALER_STORE"

    @property
    def is_dealer(self) -> bool:
        return self in (LocationType.DEALER_WAREHOUSE, LocationType.DEALER_STORE)
