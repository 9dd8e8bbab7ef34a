"""What orders knows about a sales channel: enough to decide whose sale an order is.

The channels service owns channels; orders keeps this copy from its `channels.channel.*` events (the newest
version wins). A channel's type and owner never change after creation, so the copy cannot mislead about them.
"""

from __future__ import annotations

from dataclasses import dataclass

DEALER = "DEALER"


@dataclass(frozen=True)
class SalesChannel:
    id: str
    type: str
    # Set exactly for DEALER channels (the channels service refuses it on any other type).
    owner_dealer_id: str = ""
    version: int = 0

    @property
    def bound_dealer(self) -> str:
        """The dealer every order on this channel belongs to ("" for the brand's own channels)."""
        return self.owner_dealer_id
