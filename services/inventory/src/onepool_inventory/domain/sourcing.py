"""Sourcing (寻源): which locations fill an order.

Rules, in order:
1. A line pinned to a location is filled there or not at all (a shop selling from its own shelf).
2. PICKUP: every other line is filled at the pickup store only, which must offer pickup.
3. SHIP: candidates are the locations the channel may sell from that ship parcels.
   a. For a dealer's channel, the dealer's own locations are tried first on their own; the whole
      pool only if they cannot cover the order. With `fill_own_first` (the channel's FILL_FIRST rule)
      and a split allowed, the dealer's locations then give what they hold first (in the order of c.),
      and only the rest is covered from the other locations (b. and c. among them).
   b. Fewest locations first: one location covering everything beats any split.
   c. Among plans with as few locations, prefer more of them in the customer's region, then higher
      location priority, then the id (so the answer is deterministic).
   d. Splitting (more than one location, or one SKU from several) only when the hint allows it.
Never more is planned for a SKU than the channel may sell (its share cap and buffer), and never more of the
shared pool than it is exposed to: the units beyond the channel's own dedicated ones at each location count
against `shared_caps` (docs/channel-rules.md). So among plans with as few locations, those using more of the
channel's dedicated units come first (before a. and c.), and within a plan its dedicated units are taken first.
The exact minimum is searched for small candidate sets; past SEARCH_BUDGET combinations it falls back to
a greedy cover (largest remaining contribution first), which is rarely worse by more than one location.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from onepool_kernel.errors import FailedPrecondition, InsufficientStock, Shortage
from onepool_kernel.stock import SourcingMode

from onepool_inventory.domain.model import Location

SEARCH_BUDGET = 20_000


@dataclass(frozen=True)
class Hint:
    mode: SourcingMode = SourcingMode.SHIP
    region: str = ""
    pickup_location_id: str = ""
    allow_split: bool = False
    # The dealer who delivers (a DEALER_DELIVERY order): its locations are preferred like a channel owner's.
    deliver_from_dealer_id: str = ""


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    location_id: str = ""


@dataclass(frozen=True)
class Planned:
    sku: str
    location_id: str
    quantity: int


class Stock:
    """Available units per (location, sku) as the planner sees them (already net of safety stock), counting the
    channel's own dedicated units there; `dedicated` says how many of them are those."""

    def __init__(
        self, available: dict[tuple[str, str], int], dedicated: dict[tuple[str, str], int] | None = None
    ) -> None:
        self._available = available
        self._dedicated = dedicated or {}

    def at(self, location_id: str, sku: str) -> int:
        return self._available.get((location_id, sku), 0)

    def dedicated_at(self, location_id: str, sku: str) -> int:
        return min(self._dedicated.get((location_id, sku), 0), self.at(location_id, sku))


class _Pool:
    """What is left to plan: per (location, sku) the channel's dedicated and shared units, and per SKU how many
    shared units the plan may still take (absent: no bound beyond the stock)."""

    def __init__(self, stock: Stock, keys: Iterable[tuple[str, str]], shared_caps: dict[str, int] | None) -> None:
        self.dedicated = {k: max(0, stock.dedicated_at(*k)) for k in keys}
        self.shared = {k: max(0, stock.at(*k)) - self.dedicated[k] for k in self.dedicated}
        self.shared_left = dict(shared_caps or {})

    def copy(self) -> _Pool:
        twin = object.__new__(_Pool)
        twin.dedicated, twin.shared, twin.shared_left = dict(self.dedicated), dict(self.shared), dict(self.shared_left)
        return twin

    def budget(self, sku: str) -> int:
        return max(0, self.shared_left.get(sku, 1 << 30))

    def at(self, location_id: str, sku: str) -> int:
        """The most one location can give of `sku` on its own."""
        key = (location_id, sku)
        return self.dedicated.get(key, 0) + min(self.shared.get(key, 0), self.budget(sku))

    def over(self, location_ids: Iterable[str], sku: str) -> int:
        """The most some locations can give of `sku` together."""
        keys = [(i, sku) for i in location_ids]
        own = sum(self.dedicated.get(k, 0) for k in keys)
        return own + min(sum(self.shared.get(k, 0) for k in keys), self.budget(sku))

    def take(self, location_id: str, sku: str, quantity: int) -> None:
        """Dedicated units first (as ChannelView.take does), then shared ones."""
        key = (location_id, sku)
        own = min(quantity, self.dedicated.get(key, 0))
        self.dedicated[key] = self.dedicated.get(key, 0) - own
        self.shared[key] = self.shared.get(key, 0) - (quantity - own)
        if sku in self.shared_left:
            self.shared_left[sku] -= quantity - own


def plan(
    lines: Sequence[Line],
    hint: Hint,
    locations: Sequence[Location],
    stock: Stock,
    *,
    caps: dict[str, int] | None = None,
    shared_caps: dict[str, int] | None = None,
    preferred_owner: str = "",
    fill_own_first: bool = False,
) -> list[Planned]:
    """Return allocations covering every line, or raise (InsufficientStock / FailedPrecondition).
    `caps`: the most of a SKU the channel may take; `shared_caps`: the most of it beyond its dedicated units."""
    by_id = {loc.id: loc for loc in locations}
    caps = caps or {}
    planned: list[Planned] = []
    # What is left to plan; `take` takes from it, so each step sees only what the steps before it left.
    pool = _Pool(stock, [(loc.id, line.sku) for loc in locations for line in lines], shared_caps)

    def free(location_id: str, sku: str) -> int:
        return pool.at(location_id, sku)

    def take(sku: str, location_id: str, quantity: int) -> None:
        pool.take(location_id, sku, quantity)
        planned.append(Planned(sku, location_id, quantity))

    demand: dict[str, int] = {}
    shortages: list[Shortage] = []
    for line in lines:
        if line.location_id:
            location = by_id.get(line.location_id)
            if location is None:
                raise FailedPrecondition(
                    "LOCATION_NOT_SELLABLE",
                    f"location {line.location_id} is not one this channel may sell from",
                    {"location_id": line.location_id, "sku": line.sku},
                )
            if line.quantity > free(location.id, line.sku):
                shortages.append(Shortage(line.sku, line.quantity, max(0, free(location.id, line.sku))))
            else:
                take(line.sku, location.id, line.quantity)
        else:
            demand[line.sku] = demand.get(line.sku, 0) + line.quantity
    pinned_by_sku: dict[str, int] = {}
    for p in planned:
        pinned_by_sku[p.sku] = pinned_by_sku.get(p.sku, 0) + p.quantity

    if hint.mode is SourcingMode.PICKUP and demand:
        store = by_id.get(hint.pickup_location_id)
        if store is None or not store.pickup:
            raise FailedPrecondition(
                "PICKUP_NOT_AVAILABLE",
                f"location {hint.pickup_location_id or '(none)'} does not offer pickup for this channel",
                {"location_id": hint.pickup_location_id},
            )
        for sku, quantity in demand.items():
            have = min(free(store.id, sku), _cap_left(caps, sku, pinned_by_sku))
            if quantity > have:
                shortages.append(Shortage(sku, quantity, max(0, have)))
            else:
                take(sku, store.id, quantity)
        _raise_shortages(shortages)
        return planned

    candidates = [loc for loc in locations if loc.ships and loc.active]
    if demand:
        for sku, quantity in demand.items():
            have = min(pool.over([loc.id for loc in candidates], sku), _cap_left(caps, sku, pinned_by_sku))
            if quantity > have:
                shortages.append(Shortage(sku, quantity, max(0, have)))
    _raise_shortages(shortages)
    if not demand:
        return planned

    chosen = None
    if preferred_owner:
        own = [loc for loc in candidates if loc.owner_dealer_id == preferred_owner]
        chosen = _cover(demand, own, pool, hint, preferred_owner)
        if chosen is not None and len(chosen) > 1 and not hint.allow_split:
            # One parcel was asked for: the owner's shelves come first only when one of them holds it all;
            # otherwise the fewest locations of the whole pool (one, if any location covers the order).
            chosen = None
        if chosen is None and fill_own_first and hint.allow_split:
            _fill_own_first(demand, own, candidates, pool, hint, preferred_owner, take)
            return planned
    if chosen is None:
        chosen = _cover(demand, candidates, pool, hint, preferred_owner)
    if chosen is None:  # pragma: no cover - totals were checked above, so some cover exists
        raise FailedPrecondition("UNSOURCEABLE", "no combination of locations covers the order")
    if len(chosen) > 1 and not hint.allow_split:
        raise FailedPrecondition(
            "SPLIT_REQUIRED",
            f"no single location can fill the order; it needs {len(chosen)} locations and allow_split is false",
            {"locations_needed": str(len(chosen))},
        )
    _distribute(demand, chosen, pool, take)
    if not hint.allow_split and len({p.location_id for p in planned}) > 1:
        raise FailedPrecondition(
            "SPLIT_REQUIRED",
            "pinned lines and the rest of the order would ship from different locations",
            {"locations_needed": str(len({p.location_id for p in planned}))},
        )
    return planned


def _fill_own_first(
    demand: dict[str, int],
    own: list[Location],
    candidates: list[Location],
    pool: _Pool,
    hint: Hint,
    owner: str,
    take: Callable[[str, str, int], None],
) -> None:
    """Take what the owner's locations hold first (the channel's dedicated units there before shared ones), then
    cover the rest from the other locations (fewest)."""
    rest: dict[str, int] = {}
    for sku, quantity in demand.items():
        parts = _parts(sku, quantity, sorted(own, key=lambda loc: _rank(loc, hint, owner)), pool)
        for location_id, part in parts.items():
            take(sku, location_id, part)
        if remaining := quantity - sum(parts.values()):
            rest[sku] = remaining
    if not rest:
        return
    others = [loc for loc in candidates if loc.owner_dealer_id != owner]
    chosen = _cover(rest, others, pool, hint, owner)
    if chosen is None:  # pragma: no cover - totals were checked, and own stock was taken only where free
        raise FailedPrecondition("UNSOURCEABLE", "no combination of locations covers the order")
    _distribute(rest, chosen, pool, take)


def _distribute(
    demand: dict[str, int],
    chosen: list[Location],
    pool: _Pool,
    take: Callable[[str, str, int], None],
) -> None:
    """Plan `demand` at the `chosen` locations; `take` plans one part and takes it from `pool`."""
    for sku, quantity in demand.items():
        # Within the chosen locations, a SKU comes whole from one place when it can (fewer parcels per line),
        # the one with most of the channel's dedicated units; otherwise it is filled in preference order.
        wholes = [loc for loc in chosen if pool.at(loc.id, sku) >= quantity]
        if wholes:
            whole = max(wholes, key=lambda loc: min(quantity, pool.dedicated.get((loc.id, sku), 0)))
            take(sku, whole.id, quantity)
            continue
        parts = _parts(sku, quantity, chosen, pool)
        assert sum(parts.values()) == quantity
        for location_id, part in parts.items():
            take(sku, location_id, part)


def _parts(sku: str, quantity: int, ordered: list[Location], pool: _Pool) -> dict[str, int]:
    """Up to `quantity` from `ordered`: every dedicated unit of the channel first, then the shared units in that
    order within the shared budget; one part per location."""
    parts: dict[str, int] = {}
    remaining = quantity
    for loc in ordered:
        part = min(remaining, pool.dedicated.get((loc.id, sku), 0))
        if part > 0:
            parts[loc.id] = part
            remaining -= part
    budget = pool.budget(sku)
    for loc in ordered:
        part = min(remaining, budget, pool.shared.get((loc.id, sku), 0))
        if part > 0:
            parts[loc.id] = parts.get(loc.id, 0) + part
            remaining -= part
            budget -= part
    return {loc.id: parts[loc.id] for loc in ordered if loc.id in parts}


def _cap_left(caps: dict[str, int], sku: str, already: dict[str, int]) -> int:
    if sku not in caps:
        return 1 << 30
    return caps[sku] - already.get(sku, 0)


def _raise_shortages(shortages: list[Shortage]) -> None:
    if shortages:
        raise InsufficientStock(shortages)


def _rank(loc: Location, hint: Hint, owner: str) -> tuple[int, int, int, str]:
    return (
        0 if owner and loc.owner_dealer_id == owner else 1,
        0 if hint.region and loc.region == hint.region else 1,
        -loc.priority,
        loc.id,
    )


# Sourcing's order of preference among locations (the owner's, the customer's region, priority, id).
rank = _rank


def _covers(demand: dict[str, int], group: Iterable[Location], pool: _Pool) -> bool:
    ids = [loc.id for loc in group]
    return all(pool.over(ids, sku) >= q for sku, q in demand.items())


def _cover(
    demand: dict[str, int],
    candidates: list[Location],
    pool: _Pool,
    hint: Hint,
    owner: str,
) -> list[Location] | None:
    """The best set of locations (ordered by preference) that together hold the demand, or None."""
    useful = [c for c in candidates if any(pool.at(c.id, sku) > 0 for sku in demand)]
    useful.sort(key=lambda loc: _rank(loc, hint, owner))
    if not _covers(demand, useful, pool):
        return None
    budget = SEARCH_BUDGET
    for k in range(1, len(useful) + 1):
        best: tuple[tuple[object, ...], list[Location]] | None = None
        for group in combinations(useful, k):
            budget -= 1
            if budget < 0:
                return _greedy(demand, useful, pool)
            if _covers(demand, group, pool):
                key = _group_key(group, demand, pool, hint, owner)
                if best is None or key < best[0]:
                    best = (key, list(group))
        if best is not None:
            return best[1]
    return None  # pragma: no cover


def _group_key(
    group: Sequence[Location], demand: dict[str, int], pool: _Pool, hint: Hint, owner: str
) -> tuple[object, ...]:
    return (
        # The channel's dedicated units the group can give (none without any: the order below is unchanged).
        -sum(min(q, sum(pool.dedicated.get((g.id, sku), 0) for g in group)) for sku, q in demand.items()),
        -sum(1 for g in group if owner and g.owner_dealer_id == owner),
        -sum(1 for g in group if hint.region and g.region == hint.region),
        -sum(g.priority for g in group),
        tuple(g.id for g in group),
    )


def _greedy(demand: dict[str, int], useful: list[Location], pool: _Pool) -> list[Location]:
    remaining = dict(demand)
    chosen: list[Location] = []
    unused = list(useful)
    left = pool.copy()  # what the locations chosen so far take comes out of the shared budget
    while any(v > 0 for v in remaining.values()):
        best = max(unused, key=lambda loc: sum(min(left.at(loc.id, s), q) for s, q in remaining.items()))
        unused.remove(best)
        chosen.append(best)
        for sku in remaining:
            part = min(remaining[sku], left.at(best.id, sku))
            left.take(best.id, sku, part)
            remaining[sku] -= part
    return chosen
