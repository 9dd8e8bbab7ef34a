"""What the caller's token lets it touch in dealers (the scoping half of authorization; the role table is
policies.py). Scope always comes from the verified token, never from the request body: a dealer token sees
and changes only its own dealer, whatever dealer id it puts in a request. It never delivers into another
dealer's location either, but that is the placement's own rule (NOT_DEALER_LOCATION, whoever asks), not a
scope check: refusing it here as PERMISSION_DENIED would tell a dealer which location ids are other dealers'."""

from __future__ import annotations

from collections.abc import Callable

from onepool_kernel.roles import DEALER
from onepool_runtime.auth import Principal, current_principal, require_dealer
from onepool_runtime.servicer import UseCases

from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork


class DealerScope:
    def __init__(self, use: UseCases[DealersUnitOfWork], principal: Callable[[], Principal] = current_principal):
        self._use = use
        self._principal = principal

    def require_dealer(self, dealer_id: str) -> None:
        require_dealer(dealer_id)

    def own_dealer(self) -> str | None:
        """The only dealer a dealer token may see; None for callers that may see every dealer."""
        p = self._principal()
        return p.dealer_id if p.role == DEALER else None

    def dealer_filter(self, requested: str) -> str:
        """For lists: a dealer sees only its own, and asking for another's is refused."""
        own = self.own_dealer()
        if own is None:
            return requested
        require_dealer(requested or own)
        return own

    async def require_replenishment(self, replenishment_id: str) -> None:
        """A replenishment belongs to its dealer: another dealer's id is PERMISSION_DENIED."""
        if self.own_dealer() is None:
            return

        async def dealer_of(uow: DealersUnitOfWork) -> str:
            return (await handlers.get_replenishment(uow, replenishment_id)).dealer_id

        require_dealer(await self._use.read(dealer_of))
