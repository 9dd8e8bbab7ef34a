"""Channels through gRPC against real inventory, PostgreSQL and NATS (and orders where a test needs it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import nats
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import events_pb2 as cev
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb

WAIT = 10.0  # eventual consistency bound for set-up steps (not a performance assertion)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def eventually(probe: Callable[[], Any], check: Callable[[Any], bool], *, within: float = WAIT) -> Any:
    """Poll `probe` until `check` holds; fail with the last value if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition never held; last value: {value}")
        await asyncio.sleep(0.05)


class World:
    """Lay out locations, stock, channels and listings with unique names per test."""

    def __init__(self, inventory: Any, channels: Any, admin: Any) -> None:
        self.inventory = inventory
        self.channels = channels
        self.admin = admin

    name = staticmethod(name)
    eventually = staticmethod(eventually)

    async def location(
        self,
        prefix: str = "WH",
        *,
        type_: int = ipb.LOCATION_TYPE_WAREHOUSE,
        owner: str = "",
        disabled: bool = False,
        location_id: str = "",
    ) -> str:
        location_id = location_id or name(prefix)
        await self.inventory.UpsertLocation(
            ipb.UpsertLocationRequest(
                location=ipb.Location(
                    id=location_id,
                    name=prefix,
                    type=type_,
                    owner_dealer_id=owner,
                    ships=True,
                    pickup=type_ in (ipb.LOCATION_TYPE_STORE, ipb.LOCATION_TYPE_DEALER_STORE),
                    disabled=disabled,
                )
            ),
            metadata=self.admin,
        )
        return location_id

    async def stock(self, location_id: str, **quantities: int) -> None:
        await self.inventory.ReceiveStock(
            ipb.ReceiveStockRequest(
                request_id=name("rcv"),
                location_id=location_id,
                lines=[ipb.StockLine(sku=sku, quantity=q) for sku, q in quantities.items()],
            ),
            metadata=self.admin,
        )

    async def channel(
        self,
        prefix: str = "ch",
        *,
        type_: int = cpb.CHANNEL_TYPE_MARKETPLACE,
        owner: str = "",
        location_ids: tuple[str, ...] = (),
        location_types: tuple[int, ...] = (),
        max_share_bps: int = 0,
        buffer_units: int = 0,
        fee_rate_bps: int = 500,
    ) -> cpb.Channel:
        reply = await self.channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=name(prefix),
                name=prefix,
                type=type_,
                owner_dealer_id=owner,
                fee_rate_bps=fee_rate_bps,
                allocation=cpb.AllocationPolicy(
                    location_ids=list(location_ids),
                    location_types=list(location_types),
                    max_share_bps=max_share_bps,
                    buffer_units=buffer_units,
                ),
                request_id=name("req"),
            ),
            metadata=self.admin,
        )
        return reply.channel

    async def listing(
        self,
        channel_id: str,
        sku: str,
        *,
        channel_sku: str = "",
        price: int = 9900,
        active: bool = True,
        sales_cap_units: int = 0,
    ) -> cpb.Listing:
        reply = await self.channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel_id,
                sku=sku,
                channel_sku=channel_sku or f"C-{sku}",
                price=common_pb2.Money(currency="CNY", amount_minor=price),
                active=active,
                sales_cap_units=sales_cap_units,
            ),
            metadata=self.admin,
        )
        return reply.listing

    async def sellable(self, channel_id: str, sku: str) -> int:
        reply = await self.channels.GetChannelStock(
            cpb.GetChannelStockRequest(channel_id=channel_id, skus=[sku]), metadata=self.admin
        )
        return reply.items[0].sellable

    async def inventory_sellable(self, channel_id: str, sku: str) -> int | None:
        """What inventory's channel view says (None until inventory has heard of the channel)."""
        import grpc

        try:
            reply = await self.inventory.GetAvailability(
                ipb.GetAvailabilityRequest(skus=[sku], channel_id=channel_id), metadata=self.admin
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        return reply.items[0].available

    async def settled(self, channel_id: str, sku: str, expected: int) -> None:
        """Wait until channels and inventory both say `expected` for the channel's SKU."""
        await eventually(lambda: self.sellable(channel_id, sku), lambda n: n == expected)
        await eventually(lambda: self.inventory_sellable(channel_id, sku), lambda n: n == expected)


class Feed:
    """Everything published on channels.stock.updated, straight from NATS."""

    def __init__(self) -> None:
        self.updates: list[cev.ChannelStockUpdated] = []
        self._changed = asyncio.Event()

    async def on_message(self, msg: Any) -> None:
        self.updates.append(cev.ChannelStockUpdated.FromString(msg.data))
        self._changed.set()

    def of(self, channel_id: str, sku: str | None = None) -> list[cev.ChannelStockUpdated]:
        return [u for u in self.updates if u.channel_id == channel_id and (sku is None or u.sku == sku)]

    def latest(self, channel_id: str, sku: str) -> int | None:
        updates = self.of(channel_id, sku)
        return max(updates, key=lambda u: u.version).sellable if updates else None

    async def until(self, check: Callable[[], bool]) -> None:
        while not check():
            self._changed.clear()
            await self._changed.wait()


@pytest.fixture(scope="module")
async def started(stack: Any) -> Any:
    await stack.start("inventory", "channels")
    return stack


@pytest.fixture(scope="module")
async def inventory(started: Any) -> Any:
    return started.stub("inventory")


@pytest.fixture(scope="module")
async def channels(started: Any) -> Any:
    return started.stub("channels")


@pytest.fixture
def world(inventory: Any, channels: Any, admin: Any) -> World:
    return World(inventory, channels, admin)


@pytest.fixture(scope="module")
async def feed(started: Any) -> AsyncIterator[Feed]:
    nc = await nats.connect(started.nats_url)
    collected = Feed()
    await nc.subscribe("channels.stock.updated", cb=collected.on_message)
    await nc.flush()
    yield collected
    await nc.close()
