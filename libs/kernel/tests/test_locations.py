"""The location facts and the pool share channels set and inventory applies (one rule, `PoolShare`), and the
look-up answer every use case gives (`found`)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest
from onepool_kernel.errors import NotFound, found
from onepool_kernel.locations import Location, LocationType
from onepool_kernel.stock import PoolShare, sellable


@dataclass(frozen=True)
class Share(PoolShare):
    location_ids: frozenset[str] = frozenset()
    location_types: frozenset[LocationType] = frozenset()
    max_share_bps: int = 0
    buffer_units: int = 0


WH = Location("WH-1", "Shanghai DC", LocationType.WAREHOUSE)
STORE = Location("ST-1", "Nanjing Rd", LocationType.STORE)
CLOSED = Location("WH-2", "Old DC", LocationType.WAREHOUSE, active=False)


def test_no_locations_named_means_every_active_location() -> None:
    share = Share()
    assert share.allows(WH) and share.allows(STORE)
    assert not share.allows(CLOSED)


def test_named_ids_and_types_are_a_union_and_an_inactive_location_never_sells() -> None:
    share = Share(location_ids=frozenset({"ST-1", "WH-2"}), location_types=frozenset({LocationType.DEALER_STORE}))
    assert share.allows(STORE)
    assert not share.allows(WH)
    assert not share.allows(CLOSED)  # named, but disabled
    assert share.allows(Location("D-1", "Dealer shop", LocationType.DEALER_STORE, owner_dealer_id="DL-1"))


def test_the_share_is_the_kernel_formula() -> None:
    share = Share(max_share_bps=3000, buffer_units=2)
    assert share.sellable(100) == sellable(100, 3000, 2) == 28


def test_a_location_is_a_value() -> None:
    assert Location("WH-1", "Shanghai DC", LocationType.WAREHOUSE) == WH
    with pytest.raises(FrozenInstanceError):
        WH.active = False  # type: ignore[misc]


def test_found_answers_the_value_or_not_found_naming_what_was_asked() -> None:
    assert found(WH, "location", "WH-1") is WH
    assert found(0, "counter", "c") == 0  # only None is missing
    with pytest.raises(NotFound) as caught:
        found(None, "location", "WH-9")
    assert (caught.value.kind, caught.value.ident) == ("location", "WH-9")
