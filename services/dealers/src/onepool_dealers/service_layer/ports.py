"""What the dealers use cases need from other services. The gRPC adapters (adapters/gateways.py) implement
these; tests may pass fakes. Every method is safe to repeat: the requests carry ids derived from dealers'
own ids, so a retry after a lost answer has the effect of one call.

Errors: a refusal is raised as the matching onepool_runtime.errors.DomainError (FailedPrecondition,
InvalidArgument, NotFound, ...); a peer that cannot be reached is `Unavailable`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from onepool_dealers.domain.model import Dealer, Location, StockLine


@dataclass(frozen=True)
class OpenReceipt:
    """An open expected receipt, as much of it as tells a replenishment's own from another citing it."""

    id: str
    reference: str
    lines: tuple[StockLine, ...]


class ChannelsPort(Protocol):
    async def create_dealer_channel(self, dealer: Dealer) -> str:
        """Create (or find, if it already exists) the dealer's DEALER channel; returns its id."""
        ...

    async def update_dealer_channel(self, channel_id: str, dealer: Dealer) -> None:
        """Make the channel follow the dealer: its name, its locations (plus the brand pool) and its
        status (PAUSED while the dealer is suspended)."""
        ...


class InventoryPort(Protocol):
    async def upsert_location(self, location: Location) -> Location: ...

    async def find_brand_warehouse(self, location_id: str) -> Location | None: ...

    async def find_locations(self, location_ids: list[str]) -> list[Location]:
        """Those of the locations inventory has (any owner, type or state); the others are left out."""
        ...

    async def transfer(
        self, *, request_id: str, from_location_id: str, to_location_id: str, lines: list[StockLine], reference: str
    ) -> str:
        """Move stock out of `from` into transit; returns the transfer id."""
        ...

    async def receive_transfer(self, transfer_id: str) -> None: ...

    async def expect_receipt(
        self, *, request_id: str, location_id: str, lines: list[StockLine], expected_at: datetime, reference: str
    ) -> str:
        """Record goods on their way to a location (idempotent on request_id); returns the receipt id."""
        ...

    async def open_receipts_at(self, location_id: str) -> list[OpenReceipt]:
        """The open expected receipts at the location that cite something (a reference), in inventory's
        order: one read for every replenishment due a cancel there whose receipt id is not known."""
        ...

    async def cancel_expected_receipt(self, receipt_id: str, reason: str) -> None:
        """Nothing more will come on the receipt (idempotent)."""
        ...
