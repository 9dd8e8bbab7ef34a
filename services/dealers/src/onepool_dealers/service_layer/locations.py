"""Locations an event names before dealers' copy of the pool holds them.

The copy is fed by inventory's LocationUpserted on the INVENTORY durable consumer. An order's return (on the
ORDERS durable, which may run ahead) or a transfer another replica applies while the location's event is still
in its batch can name a location created a moment ago. Such an event waits (handlers.LocationNotKnownYet,
retried, never dead-lettered) and the consumer tells `LocationLookup.wanted`; its background task asks
inventory once for what is still missing, outside any consumer's transaction (a consumer's transaction never
waits on another service), and records what inventory has, as its event would. The retry then finds it. What
inventory cannot tell now (unreachable) is asked again on the event's next retry; its own event fills it in any
case.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from onepool_runtime.idempotency import run_in_transaction

from onepool_dealers.domain.model import Location
from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.ports import InventoryPort
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork

log = logging.getLogger(__name__)


@dataclass
class LocationLookup:
    uow_factory: Callable[[], DealersUnitOfWork]
    inventory: InventoryPort
    _wanted: set[str] = field(default_factory=set, init=False, repr=False)
    _woken: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def wanted(self, location_ids: Iterable[str]) -> None:
        """Locations an event waits for: looked up by `follow` soon. Never blocks."""
        self._wanted.update(location_ids)
        self._woken.set()

    async def follow(self) -> None:
        """Background task: look up what `wanted` was told of, a round at a time."""
        while True:
            await self._woken.wait()
            self._woken.clear()
            ids, self._wanted = sorted(self._wanted), set()
            try:
                await self.learn(ids)
            except Exception:  # the waiting events ask again when they are retried
                log.exception("locations %s not looked up in inventory", ", ".join(ids))

    async def learn(self, location_ids: list[str]) -> list[Location]:
        """Ask inventory for those of the locations dealers does not know and record what it has."""
        async with self.uow_factory() as uow:
            known = await uow.repo.location_owners(location_ids)
        missing = sorted(set(location_ids) - known.keys())
        if not missing:
            return []
        found = await self.inventory.find_locations(missing)
        for location in found:
            await run_in_transaction(self.uow_factory, partial(handlers.record_dealer_location, location=location))
        if unknown := set(missing) - {loc.id for loc in found}:
            log.warning("inventory does not show locations %s (yet): their events wait", ", ".join(sorted(unknown)))
        return found
