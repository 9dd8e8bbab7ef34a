"""The inventory service, as the channels service uses it: read the whole pool to rebuild the stock read model.

Failure modes: inventory unreachable or refusing raises grpc.aio.AioRpcError (the rebuild stops; what it
wrote so far stays, and is correct: every row is version-guarded like the events that feed it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_runtime.errors import Unavailable

PAGE_SIZE = 500


@dataclass(frozen=True)
class Counted:
    """What a channel's listing of a SKU counts in inventory: units under its sales cap (counted for every
    listing, capped or not: a cap added later starts from them) and units waiting under its presale allowance."""

    sales: int
    presale: int


class InventoryReader:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 30.0) -> None:
        self._stub = inventory_pb2_grpc.InventoryServiceStub(channel)
        self._timeout = timeout_seconds

    async def locations(self) -> list[ipb.Location]:
        """Every location, a page at a time (one reply would outgrow gRPC's message limit on a large estate)."""
        found: list[ipb.Location] = []
        token = ""
        while True:
            reply = await self._stub.ListLocations(
                ipb.ListLocationsRequest(page_size=PAGE_SIZE, page_token=token), timeout=self._timeout
            )
            found.extend(reply.locations)
            token = reply.next_page_token
            if not token:
                return found

    async def location(self, location_id: str) -> ipb.Location | None:
        """One location as inventory holds it now (None: no such location); an import asks before placing a
        pickup order at it. Inventory unreachable raises `Unavailable` (the import is retried as it is)."""
        try:
            reply = await self._stub.ListLocations(
                ipb.ListLocationsRequest(location_ids=[location_id]), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(
                    f"the inventory service is unavailable ({exc.code().name}); retry the import"
                ) from exc
            raise
        return next((loc for loc in reply.locations if loc.id == location_id), None)

    async def stock_levels(self) -> AsyncIterator[list[ipb.StockLevel]]:
        """Every stock level, a page at a time."""
        token = ""
        while True:
            reply = await self._stub.ListStockLevels(
                ipb.ListStockLevelsRequest(page_size=PAGE_SIZE, page_token=token), timeout=self._timeout
            )
            yield list(reply.levels)
            token = reply.next_page_token
            if not token:
                return

    async def channel_allocations(self) -> AsyncIterator[list[ipb.ChannelAllocation]]:
        """Every dedicated allocation of every channel, released and ended ones included (remaining 0), a page
        at a time: a read model that missed a release still counts the allocation until its closed state
        arrives."""
        token = ""
        while True:
            reply = await self._stub.ListChannelAllocations(
                ipb.ListChannelAllocationsRequest(include_closed=True, page_size=PAGE_SIZE, page_token=token),
                timeout=self._timeout,
            )
            yield list(reply.allocations)
            token = reply.next_page_token
            if not token:
                return

    async def expected_receipts(self) -> AsyncIterator[list[ipb.ExpectedReceipt]]:
        """Every expected receipt, received and cancelled ones included (their lines state 0 unpromised), a page
        at a time: a read model that missed a receipt's closing still lets presale draw on it until then."""
        token = ""
        while True:
            reply = await self._stub.ListExpectedReceipts(
                ipb.ListExpectedReceiptsRequest(include_closed=True, page_size=PAGE_SIZE, page_token=token),
                timeout=self._timeout,
            )
            yield list(reply.receipts)
            token = reply.next_page_token
            if not token:
                return

    async def sales_counted(self, channel_id: str, skus: list[str]) -> dict[str, Counted]:
        """What the channel's sales cap and presale allowance count per SKU (inventory's channel view); nothing
        for a channel inventory has not heard of (its event still on the way, or dead-lettered): inventory
        reserved nothing for it, and the rest of the estate must not wait for it."""
        try:
            reply = await self._stub.GetAvailability(
                ipb.GetAvailabilityRequest(skus=skus, channel_id=channel_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return {}
        return {item.sku: Counted(item.sales_counted, item.presale_counted) for item in reply.items}
