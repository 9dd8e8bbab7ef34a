"""What the caller's token lets it touch in inventory (the scoping half of authorization; the role table is
policies.py). Scope always comes from the verified token, never from the request body.

- channel: only its own channel's view (GetAvailability, Reserve are forced to its channel id);
- dealer: only locations its dealer owns (stock, movements, transfers into them, availability there), and
  never another dealer's DEALER channel (its own, or a brand channel it may fulfill for, narrowed to its
  own locations and without that channel's channel-wide sales counters);
- store: only its own location, and no channel but those a dealer owning that location may use (a brand
  channel, or that dealer's own DEALER channel; a brand store: brand channels only).

A write is judged inside its own transaction (`hold_locations`), not by a read before it: an owner changed
between a check and the write would otherwise let a dealer act on a location no longer its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from onepool_kernel.roles import CHANNEL, DEALER, STORE
from onepool_runtime.auth import Principal, current_principal
from onepool_runtime.errors import PermissionDenied
from onepool_runtime.servicer import UseCases

from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork


class InventoryScope:
    def __init__(self, use: UseCases[InventoryUnitOfWork], principal: Callable[[], Principal] = current_principal):
        self._use = use
        self._principal = principal

    def channel_id(self, requested: str) -> str:
        p = self._principal()
        if p.role == CHANNEL:
            if requested and requested != p.channel_id:
                raise PermissionDenied("a channel token may only use its own channel")
            return p.channel_id
        return requested

    async def require_channel(self, channel_id: str, *, own: bool = False) -> bool:
        """A dealer may not look through another dealer's channel (an unknown channel is NOT_FOUND); with
        `own`, only its own dealer's channel will do (not a brand channel either: changing its rules is the
        brand's). A store is held to the same rule as the dealer owning its location (a brand store: brand
        channels only): a channel's view carries its sales counters, which are its owner's business.

        Returns whether the caller may see those channel-wide counters: the brand (admin, service), the
        channel itself and the dealer owning a DEALER channel. A dealer looking at a brand channel through its
        own locations, or any store, may not (channels refuses them GetChannelStock for the same reason)."""
        p = self._principal()
        if p.role not in (DEALER, STORE) or not channel_id:
            return True

        async def owners(uow: InventoryUnitOfWork) -> tuple[str | None, str]:
            policy = await handlers.channel_policy(uow, channel_id)
            if p.role == DEALER:
                return (policy.owner_dealer_id if policy else None), p.dealer_id
            # An unknown location owns nothing: such a token is held to brand channels.
            location = await uow.locations.get(p.location_id)
            return (policy.owner_dealer_id if policy else None), location.owner_dealer_id if location else ""

        owner, caller = await self._use.read(owners)
        allowed = (caller,) if own else ("", caller)
        if owner is not None and owner not in allowed:
            which = "its own dealer's channel" if own else "its own dealer's channel or a brand channel"
            raise PermissionDenied(f"a {p.role} token may only use {which}")
        return p.role == DEALER and owner == caller

    async def own_location_ids(self) -> list[str] | None:
        """The locations a dealer or store may see; None for callers that may see every location."""
        p = self._principal()
        if p.role == STORE:
            return [p.location_id]
        if p.role == DEALER:

            async def owned(uow: InventoryUnitOfWork) -> list[str]:
                return [loc.id for loc in await uow.locations.find(owner_dealer_id=p.dealer_id)]

            return await self._use.read(owned)
        return None

    async def require_locations(self, location_ids: Iterable[str]) -> None:
        """Dealers and stores may only act on their own locations (unknown ones look the same: denied)."""
        p = self._principal()
        if p.is_privileged or p.role == CHANNEL:
            return
        allowed = set(await self.own_location_ids() or [])
        wanted = set(location_ids)
        if not wanted <= allowed:
            raise PermissionDenied(f"{p.role} tokens may only act on their own locations")

    @property
    def limited(self) -> bool:
        """Whether the caller is held to its own locations (a dealer or a store)."""
        return self._principal().role in (DEALER, STORE)

    async def hold_locations(self, uow: InventoryUnitOfWork, location_ids: Iterable[str]) -> None:
        """`require_locations` for a write, in its transaction and first: a dealer's locations are read with
        their owner held until it commits (LocationRepository.owners_held), so the owner judged is the owner
        at the write. Taken before any other lock there, it only ever waits on an upsert of the location, which
        takes no lock a write of a dealer holds. A store's location is its token's: nothing to read."""
        p = self._principal()
        wanted = set(location_ids)
        if p.role == STORE:
            mine = wanted <= {p.location_id}
        elif p.role == DEALER:
            owners = await uow.locations.owners_held(wanted)
            mine = all(owners.get(location_id) == p.dealer_id for location_id in wanted)
        else:
            return
        if not mine:
            raise PermissionDenied(f"{p.role} tokens may only act on their own locations")

    async def restrict_locations(self, requested: list[str]) -> list[str] | None:
        """For reads: a dealer or store sees only its own locations, whatever it asks for. None: it owns no
        location, so there is nothing to read (an empty list would mean every location)."""
        own = await self.own_location_ids()
        if own is None:
            return requested
        if requested:
            if not set(requested) <= set(own):
                raise PermissionDenied("may only read your own locations")
            return requested
        return own or None
