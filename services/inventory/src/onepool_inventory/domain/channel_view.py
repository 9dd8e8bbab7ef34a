"""One channel's view of the pool under its three rules (docs/channel-rules.md), for reserving and reading.

- Exposure ratio (`ChannelPolicy.max_share_bps`, minus `buffer_units`): a share of the *shared* pool of the
  channel's locations as it is right now; recomputed after every sale, so it bounds what is shown, not sales.
- Dedicated stock (`ChannelAllocation`): units at a location only this channel may take; its reservations
  there use them first. Other channels (and reservations without a channel) never see them.
- Sales cap (`ChannelSales`): at most `cap_units` units of a SKU held and sold by the channel.

sellable = min(exposed + dedicated, cap left) — the kernel's `channel_sellable`, which channels calls too.
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
        levels = [self.levels[(sku, loc.id)] for loc in self.locations if (sku, loc.id) in self.levels]
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
        return {sku: self.numbers(sku).sellable for sku in skus}

    def check(self, totals: dict[str, int]) -> None:
        """Refuse, before anything changes, a plan taking more of a SKU than the channel may sell (the planner
        already keeps to it; this also covers lines pinned to a location)."""
        if self.policy is None:
            return
        shortages = [
            Shortage(sku, quantity, cap)
            for sku, quantity in totals.items()
            if quantity > (cap := self.numbers(sku).sellable)
        ]
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
