"""What the caller's token lets it see in the channels service (the scoping half of authorization; the role
table is policies.py). Scope always comes from the verified token, never from the request body.

- channel: only its own channel (stock, listings, watch, import);
- dealer: only channels its dealer owns (its DEALER channel);
- admin, service: everything.
"""

from __future__ import annotations

from collections.abc import Callable

from onepool_kernel.roles import CHANNEL, DEALER
from onepool_runtime.auth import Principal, current_principal
from onepool_runtime.errors import NotFound, PermissionDenied
from onepool_runtime.servicer import UseCases

from onepool_channels.service_layer import handlers
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork


class ChannelScope:
    def __init__(self, use: UseCases[ChannelsUnitOfWork], principal: Callable[[], Principal] = current_principal):
        self._use = use
        self._principal = principal

    async def require(self, channel_id: str) -> None:
        p = self._principal()
        if p.is_privileged:
            return
        if p.role == CHANNEL and p.channel_id == channel_id:
            return
        if p.role == DEALER:

            async def owner(uow: ChannelsUnitOfWork) -> str:
                return (await handlers.get_channel(uow, channel_id)).owner_dealer_id

            try:
                if await self._use.read(owner) == p.dealer_id:
                    return
            except NotFound:
                pass  # an unknown channel looks the same as another dealer's: denied
        raise PermissionDenied(f"a {p.role} token may only access its own channel")

    def list_filter(self, owner_dealer_id: str) -> tuple[str, str]:
        """(owner_dealer_id, only_channel_id) a ListChannels caller is limited to."""
        p = self._principal()
        if p.role == CHANNEL:
            return owner_dealer_id, p.channel_id
        if p.role == DEALER:
            if owner_dealer_id and owner_dealer_id != p.dealer_id:
                raise PermissionDenied("a dealer token may only list its own dealer's channels")
            return p.dealer_id, ""
        return owner_dealer_id, ""
