"""One channel's view of the pool under its three rules (docs/channel-rules.md), for reserving and reading.

- Exposure ratio (`ChannelPolicy.max_share_bps`, minus `buffer_units`): a share of the *shared* pool of the
  channel's locations as it is right now; recomputed after every sale, so it bounds what is shown, not sales.
- Dedicated stock (`ChannelAllocation`): units at a location only this channel may take; its reservations
  there use them first. Other channels (and reservations without a channel) never see them.
- Sales cap (`ChannelSales`): at most `cap_units` units of a SKU held and sold by the channel.

sellable = min(exposed + dedicated, cap left) — the kernel's `channel_sellable`, which channels calls too.
A reservation also takes at most `exposed` units beyond the channel's own dedicated ones (wherever these are):
dedicated units at one location never open the shared pool at another.
What the channel is told (`numbers`: GetAvailability, and channels' feed by the same rule) counts only the
locations that ship, since a SHIP order (every imported one) is sourced nowhere else; a reservation is bounded
over every location the channel may sell from (`bounds`), as a pickup or pinned order may take a store's units.
Without a channel (admin and service reservations) the view is the shared pool of every active location.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from onepool_kernel.errors import InsufficientStock, Shortage
from onepool_kernel.stock import MAX_SELLABLE, channel_sellable, presale_sellable

from onepool_inventory.domain.model import ChannelAllocation, ChannelPolicy, ChannelSales, Location, StockLevel

Key = tuple[str, str]  # (sku, location_id)


@dataclass(frozen=True)
class RuleNumbers:
    """A SKU's numbers for a channel: the shared pool it sees, and each rule's part of `sellable`."""

    shared: int
    exposed: int
    dedicated: int
    cap_units: int
    counted: int
    sellable: int


@dataclass
class ChannelView:
    policy: ChannelPolicy | None
    locations: list[Location]  # the active locations the channel may sell from
    levels: dict[Key, StockLevel]
    own: dict[Key, list[ChannelAllocation]] = field(default_factory=dict)  # the channel's ACTIVE allocations
    sales: dict[str, ChannelSales] = field(default_factory=dict)  # per SKU, for a channel

    @classmethod
    def of(
        cls,
        policy: ChannelPolicy | None,
        locations: Iterable[Location],
        levels: dict[Key, StockLevel],
        allocations: Iterable[ChannelAllocation] = (),
        sales: dict[str, ChannelSales] | None = None,
    ) -> ChannelView:
        allowed = [loc for loc in locations if loc.active and (policy is None or policy.allows(loc))]
        own: dict[Key, list[ChannelAllocation]] = {}
        if policy is not None:
            mine = [a for a in allocations if a.channel_id == policy.channel_id and a.is_active]
            # Earliest-ending first: units that would return to the pool soonest are sold first.
            for a in sorted(mine, key=lambda a: (a.ends_at is None, a.ends_at or a.created_at, a.id)):
                own.setdefault((a.sku, a.location_id), []).append(a)
        return cls(policy, allowed, levels, own, sales or {})

    @property
    def selling(self) -> bool:
        return self.policy is None or self.policy.active

    def own_dedicated(self, sku: str, location_id: str) -> int:
        return sum(a.remaining for a in self.own.get((sku, location_id), ()))

    def available_at(self, sku: str, location_id: str) -> int:
        """What this channel may take of `sku` at one location: the shared pool there plus its own units."""
        level = self.levels.get((sku, location_id))
        if level is None or not self.selling:
            return 0
        return level.available_for(self.own_dedicated(sku, location_id))

    def numbers(self, sku: str) -> RuleNumbers:
        """What the channel is told of `sku`: its rules over the locations that ship (without a channel: the
        shared pool of every active location)."""
        if self.policy is None:
            return self.bounds(sku)
        return self._numbers(sku, [loc for loc in self.locations if loc.ships])

    def bounds(self, sku: str) -> RuleNumbers:
        """What a reservation may take of `sku`: the rules over every location the channel may sell from."""
        return self._numbers(sku, self.locations)

    def _numbers(self, sku: str, locations: list[Location]) -> RuleNumbers:
        levels = [self.levels[(sku, loc.id)] for loc in locations if (sku, loc.id) in self.levels]
        shared = sum(lvl.available for lvl in levels)
        if self.policy is None:
            return RuleNumbers(shared, shared, 0, 0, 0, min(shared, MAX_SELLABLE))
        sales = self.sales.get(sku)
        cap_units, counted = (sales.cap_units, sales.counted) if sales else (0, 0)
        if not self.selling:
            return RuleNumbers(shared, 0, 0, cap_units, counted, 0)
        exposed = self.policy.sellable(shared)
        dedicated = sum(self.own_dedicated(sku, lvl.location_id) for lvl in levels)
        return RuleNumbers(
            shared, exposed, dedicated, cap_units, counted, channel_sellable(exposed, dedicated, cap_units, counted)
        )

    def presale_sellable(self, sku: str) -> int:
        """What may wait on expected receipts beyond `sellable` (domain/expected.py): the unpromised expected units
        in the channel's locations, within its listing's presale allowance and what its sales cap leaves after
        `sellable`. Without a channel: the unpromised expected units."""
        levels = [self.levels[(sku, loc.id)] for loc in self.locations if (sku, loc.id) in self.levels]
        room = sum(max(0, lvl.presale_room) for lvl in levels)
        if self.policy is None:
            return min(room, MAX_SELLABLE)
        sales = self.sales.get(sku)
        if sales is None or not self.selling:
            return 0
        return presale_sellable(sales.presale_left, room, sales.cap_units, sales.counted, self.numbers(sku).sellable)

    def caps(self, skus: Iterable[str]) -> dict[str, int] | None:
        """The most the channel may reserve of each SKU now (None: no channel, only stock bounds it)."""
        if self.policy is None:
            return None
        return {sku: self.bounds(sku).sellable for sku in skus}

    def shared_caps(self, skus: Iterable[str]) -> dict[str, int] | None:
        """The most the channel may reserve of each SKU beyond its own dedicated units: what it is exposed to."""
        if self.policy is None:
            return None
        return {sku: self.bounds(sku).exposed for sku in skus}

    def dedicated(self, skus: Iterable[str]) -> dict[tuple[str, str], int]:
        """The channel's own dedicated units per (location, sku), as sourcing.Stock takes them."""
        wanted = set(skus)
        return {(loc_id, sku): self.own_dedicated(sku, loc_id) for (sku, loc_id) in self.own if sku in wanted}

    def shared_part(self, sku: str, planned: dict[Key, int]) -> int:
        """The units of `sku` a plan ((sku, location) -> quantity) takes beyond the channel's dedicated ones."""
        return sum(max(0, q - self.own_dedicated(s, loc_id)) for (s, loc_id), q in planned.items() if s == sku)

    def room_at(self, sku: str, location_id: str, planned: dict[Key, int]) -> int:
        """What one location may still give of `sku` after `planned` ((sku, location) -> quantity): its dedicated
        units left, and shared ones within what the plan leaves of `exposed`."""
        used = planned.get((sku, location_id), 0)
        if self.policy is None:
            return self.available_at(sku, location_id) - used
        level = self.levels.get((sku, location_id))
        if level is None or not self.selling:
            return 0
        own = self.own_dedicated(sku, location_id)
        shared_here = level.available - max(0, used - own)
        exposed_left = self.bounds(sku).exposed - self.shared_part(sku, planned)
        return max(0, own - used) + max(0, min(shared_here, exposed_left))

    def check(self, planned: dict[Key, int]) -> None:
        """Refuse, before anything changes, a plan ((sku, location) -> quantity) taking more of a SKU than the
        channel may sell, or more of the shared pool than it is exposed to (the planner already keeps to both;
        this also covers lines waiting for goods)."""
        if self.policy is None:
            return
        totals: dict[str, int] = {}
        for (sku, _), quantity in planned.items():
            totals[sku] = totals.get(sku, 0) + quantity
        shortages = []
        for sku, quantity in totals.items():
            rules = self.bounds(sku)
            shared = self.shared_part(sku, planned)
            if quantity > rules.sellable or shared > rules.exposed:
                shortages.append(Shortage(sku, quantity, min(rules.sellable, quantity - shared + rules.exposed)))
        if shortages:
            raise InsufficientStock(shortages)

    def take(self, sku: str, location_id: str, quantity: int, now: datetime) -> None:
        """Reserve `quantity` at one location (after `check`): the channel's dedicated units there first, then
        the shared pool; the channel's sales counter holds them all."""
        from_dedicated = 0
        for allocation in self.own.get((sku, location_id), ()):
            from_dedicated += allocation.take(quantity - from_dedicated, now)
        self.levels[(sku, location_id)].reserve(quantity, from_dedicated)
        if self.policy is not None:
            self.sales[sku].hold(quantity)
