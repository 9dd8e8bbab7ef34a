"""The kernel's Location on the wire: inventory.v1.Location (inventory owns locations; dealers keeps a copy of
them and hands new dealer locations to inventory). One mapper both ways, and one set of checks for a location a
caller gives (inventory's UpsertLocation, dealers' AddDealerLocation), so both services accept the same ones.

The message and the domain share their fields by name except two: `type` is translated (`LOCATION_TYPES`) and
the message says `disabled` where the domain says `active`.

Failure modes: `location_from_proto` returns None for a type this code does not know (a newer contract);
`location_as` raises KeyError for one, so it is called only on a message `check_location` passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from onepool.inventory.v1 import inventory_pb2
from onepool_kernel.errors import Violations
from onepool_kernel.locations import Location, LocationType

from onepool_runtime.protobuf import LOCATION_TYPES, LOCATION_TYPES_BACK
from onepool_runtime.validation import check_id, check_text

L = TypeVar("L", bound=Location)

_SAME = ("id", "name", "owner_dealer_id", "region", "ships", "pickup", "priority")
MAX_NAME = 200
MAX_REGION = 64
PRIORITY_RANGE = range(-1000, 1001)


def location_to_proto(loc: Location) -> inventory_pb2.Location:
    same = {name: getattr(loc, name) for name in _SAME}
    return inventory_pb2.Location(**same, type=LOCATION_TYPES[loc.type], disabled=not loc.active)


def location_as(cls: type[L], loc: inventory_pb2.Location, **fields: Any) -> L:
    """`cls` (the kernel's Location or a service's own kind of it) from the message; `fields` override."""
    same = {name: getattr(loc, name) for name in _SAME}
    return cls(**(same | {"type": LOCATION_TYPES_BACK[loc.type], "active": not loc.disabled} | fields))


def location_from_proto(loc: inventory_pb2.Location) -> Location | None:
    """None for a location type this code does not know (a newer contract than this code)."""
    if loc.type not in LOCATION_TYPES_BACK:
        return None
    return location_as(Location, loc)


def check_location(
    v: Violations, path: str, loc: inventory_pb2.Location, types: Sequence[LocationType] = tuple(LocationType)
) -> None:
    """A location a caller gives: an id, a name, one of `types`, a region and a priority in range. Who may own
    it is the receiving service's own rule (`owner_dealer_id`)."""
    check_id(v, f"{path}.id", loc.id)
    check_text(v, f"{path}.name", loc.name, max_len=MAX_NAME, required=True)
    if LOCATION_TYPES_BACK.get(loc.type) not in types:
        *others, last = [t.value for t in types]
        v.add(f"{path}.type", f"must be {', '.join(others)} or {last}" if others else f"must be {last}")
    check_text(v, f"{path}.region", loc.region, max_len=MAX_REGION)
    if loc.priority not in PRIORITY_RANGE:
        v.add(f"{path}.priority", f"must be between {PRIORITY_RANGE[0]} and {PRIORITY_RANGE[-1]}")
