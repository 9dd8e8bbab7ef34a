"""The sample brand, seeded through the public gRPC APIs, and the waits that eventual consistency needs.

Everything the brand owns is named with the run id (`TEE-<run>`, `WH-EAST-<run>`, channel codes), so a second
run, or a run next to other data, never touches the first one's. Nothing here sleeps a fixed time: every wait
polls a read model until it says what the next step needs (`until`), and fails naming the last value.

Failure modes: any RPC error propagates as grpc.aio.AioRpcError (the services are not up, or refused);
`until` raises DemoStalled when a read model never catches up within WAIT_SECONDS.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb

T = TypeVar("T")
WAIT_SECONDS = 60.0  # an upper bound for a read model to catch up on a busy machine, not a speed target
CURRENCY = "CNY"

# label -> (name, type, region, pickup, priority); stock per SKU label
LOCATIONS: dict[str, tuple[str, int, str, bool, int]] = {
    "WH-EAST": ("East warehouse (Shanghai)", ipb.LOCATION_TYPE_WAREHOUSE, "CN-SH", False, 10),
    "WH-NORTH": ("North warehouse (Beijing)", ipb.LOCATION_TYPE_WAREHOUSE, "CN-BJ", False, 10),
    "SHOP-SH": ("Nanjing Road shop (Shanghai)", ipb.LOCATION_TYPE_STORE, "CN-SH", True, 0),
    "SHOP-BJ": ("Wangfujing shop (Beijing)", ipb.LOCATION_TYPE_STORE, "CN-BJ", True, 0),
}
DEALER_SHOP = "DEALER-SHOP"
STOCK: dict[str, dict[str, int]] = {
    "WH-EAST": {"TEE": 40, "CAP": 20},
    "WH-NORTH": {"TEE": 30, "CAP": 10},
    "SHOP-SH": {"TEE": 5},
    "SHOP-BJ": {"TEE": 3, "CAP": 2},
    DEALER_SHOP: {"TEE": 6},
}
PRODUCTS: dict[str, tuple[str, int, int]] = {  # label -> (name, retail price, wholesale list price), in fen
    "TEE": ("Organic cotton tee", 9900, 6000),
    "CAP": ("Canvas cap", 4900, 3000),
}
MARKETPLACE_SHARE_BPS = 5000
MARKETPLACE_FEE_BPS = 500
MARKETPLACE_TEE_CAP = 10
DEALER_CREDIT = 500_000


class DemoStalled(AssertionError):
    """A read model did not catch up in time."""


@dataclass(frozen=True)
class Clients:
    """Stubs of the five services and the metadata (an admin token) every call sends."""

    orders: Any
    inventory: Any
    channels: Any
    dealers: Any
    settlement: Any
    metadata: Any


@dataclass
class Brand:
    """What was seeded: ids by the labels the story uses."""

    run: str
    skus: dict[str, str] = field(default_factory=dict)  # TEE -> TEE-<run>
    locations: dict[str, str] = field(default_factory=dict)  # WH-EAST -> WH-EAST-<run>
    channels: dict[str, str] = field(default_factory=dict)  # web | marketplace | pos | dealer -> channel id
    channel_skus: dict[str, dict[str, str]] = field(default_factory=dict)  # channel label -> sku label -> code
    dealer_id: str = ""
    dealer_name: str = ""

    def sku_label(self, sku: str) -> str:
        return next(label for label, s in self.skus.items() if s == sku)

    def location_label(self, location_id: str) -> str:
        return next((label for label, i in self.locations.items() if i == location_id), location_id)

    @property
    def parties(self) -> dict[str, str]:
        """Statement label -> settlement party, for every party this brand's story touches."""
        return {
            "brand": "brand",
            f"dealer {self.dealer_name}": f"dealer:{self.dealer_id}",
            **{f"channel {label}": f"channel:{cid}" for label, cid in self.channels.items()},
            "clearing (customers' money)": "clearing",
        }


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency=CURRENCY, amount_minor=amount_minor)


def new_run_id() -> str:
    return uuid.uuid4().hex[:6].upper()


async def until(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], what: str, *, within: float = WAIT_SECONDS
) -> T:
    """Poll `probe` until `check` holds on its value; DemoStalled naming `what` and the last value if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise DemoStalled(f"{what}: still not the case after {within:.0f}s; last seen: {value}")
        await asyncio.sleep(0.05)


async def _answers(call: Callable[[], Awaitable[Any]]) -> bool:
    """False while the service answers NOT_FOUND (it has not heard of the thing yet)."""
    try:
        await call()
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return False
    return True


async def channel_known(c: Clients, channel_id: str) -> None:
    """Inventory and orders learn channels from events: wait until both answer for this one."""
    await until(
        lambda: _answers(
            lambda: c.inventory.GetAvailability(
                ipb.GetAvailabilityRequest(skus=["PROBE"], channel_id=channel_id), metadata=c.metadata
            )
        ),
        bool,
        f"inventory knows channel {channel_id}",
    )
    await until(
        lambda: _answers(
            lambda: c.orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id, page_size=1), metadata=c.metadata)
        ),
        bool,
        f"orders knows channel {channel_id}",
    )


async def _location(c: Clients, location: ipb.Location) -> None:
    await c.inventory.UpsertLocation(ipb.UpsertLocationRequest(location=location), metadata=c.metadata)


async def _receive(c: Clients, brand: Brand, label: str) -> None:
    lines = [ipb.StockLine(sku=brand.skus[s], quantity=q) for s, q in STOCK[label].items()]
    await c.inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=f"demo-{brand.run}-receipt-{label}", location_id=brand.locations[label], lines=lines
        ),
        metadata=c.metadata,
    )


async def _channel(c: Clients, brand: Brand, label: str, **fields: Any) -> str:
    reply = await c.channels.CreateChannel(
        cpb.CreateChannelRequest(request_id=f"demo-{brand.run}-channel-{label}", currency=CURRENCY, **fields),
        metadata=c.metadata,
    )
    return str(reply.channel.id)


async def _list(c: Clients, brand: Brand, label: str, sku: str, *, cap: int = 0) -> None:
    code = f"{label[:2].upper()}-{brand.skus[sku]}"
    brand.channel_skus.setdefault(label, {})[sku] = code
    await c.channels.UpsertListing(
        cpb.UpsertListingRequest(
            channel_id=brand.channels[label],
            sku=brand.skus[sku],
            channel_sku=code,
            price=cny(PRODUCTS[sku][1]),
            active=True,
            sales_cap_units=cap,
        ),
        metadata=c.metadata,
    )


async def seed(c: Clients, run: str, progress: Callable[[str], None] = lambda _: None) -> Brand:
    """Seed the sample brand under `run` and wait until every service knows what the story needs."""
    brand = Brand(run=run, skus={label: f"{label}-{run}" for label in PRODUCTS})
    progress("locations and stock")
    for label, (name, type_, region, pickup, priority) in LOCATIONS.items():
        brand.locations[label] = f"{label}-{run}"
        location = ipb.Location(
            id=brand.locations[label],
            name=name,
            type=type_,
            region=region,
            ships=True,
            pickup=pickup,
            priority=priority,
        )
        await _location(c, location)
        await _receive(c, brand, label)

    progress("wholesale prices and a GOLD dealer with a shop")
    for sku, (_, _, wholesale) in PRODUCTS.items():
        await c.dealers.SetWholesalePrice(
            dpb.SetWholesalePriceRequest(sku=brand.skus[sku], list_price=cny(wholesale)), metadata=c.metadata
        )
    brand.dealer_name = f"Lakeside Trading {run}"
    dealer = (
        await c.dealers.RegisterDealer(
            dpb.RegisterDealerRequest(
                request_id=f"demo-{run}-dealer",
                name=brand.dealer_name,
                tier=dpb.DEALER_TIER_GOLD,
                region="CN-ZJ",
                credit_limit=cny(DEALER_CREDIT),
            ),
            metadata=c.metadata,
        )
    ).dealer
    brand.dealer_id = dealer.id
    brand.locations[DEALER_SHOP] = f"{DEALER_SHOP}-{run}"
    shop = ipb.Location(
        id=brand.locations[DEALER_SHOP],
        name=f"{brand.dealer_name} shop (Hangzhou)",
        type=ipb.LOCATION_TYPE_DEALER_STORE,
        region="CN-ZJ",
        ships=True,
    )
    await c.dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(dealer_id=dealer.id, location=shop), metadata=c.metadata
    )
    await _receive(c, brand, DEALER_SHOP)
    brand.channels["dealer"] = (
        await until(
            lambda: c.dealers.GetDealer(dpb.GetDealerRequest(dealer_id=dealer.id), metadata=c.metadata),
            lambda reply: bool(reply.dealer.channel_id),
            "the dealer's channel exists",
        )
    ).dealer.channel_id

    progress("channels: online store, marketplace, shop POS")
    pool = cpb.CATALOGUE_POOL
    brand.channels["web"] = await _channel(
        c,
        brand,
        "web",
        code=f"WEB-{run}",
        name=f"Brand web store {run}",
        type=cpb.CHANNEL_TYPE_ONLINE_STORE,
        catalogue=pool,
        allocation=cpb.AllocationPolicy(
            location_ids=[brand.locations[k] for k in ("WH-EAST", "WH-NORTH", "SHOP-SH", "SHOP-BJ", DEALER_SHOP)]
        ),
    )
    brand.channels["marketplace"] = await _channel(
        c,
        brand,
        "marketplace",
        code=f"TMALL-{run}",
        name=f"Tmall flagship {run}",
        type=cpb.CHANNEL_TYPE_MARKETPLACE,
        fee_rate_bps=MARKETPLACE_FEE_BPS,
        catalogue=pool,
        allocation=cpb.AllocationPolicy(
            location_ids=[brand.locations["WH-EAST"], brand.locations["WH-NORTH"]], max_share_bps=MARKETPLACE_SHARE_BPS
        ),
    )
    brand.channels["pos"] = await _channel(
        c,
        brand,
        "pos",
        code=f"POS-SH-{run}",
        name=f"Nanjing Road POS {run}",
        type=cpb.CHANNEL_TYPE_PHYSICAL_STORE,
        catalogue=pool,
        allocation=cpb.AllocationPolicy(
            location_ids=[brand.locations[k] for k in ("WH-EAST", "WH-NORTH", "SHOP-SH", "SHOP-BJ")]
        ),
    )
    for label in ("web", "marketplace", "pos", "dealer"):
        for sku in PRODUCTS:
            cap = MARKETPLACE_TEE_CAP if (label, sku) == ("marketplace", "TEE") else 0
            await _list(c, brand, label, sku, cap=cap)

    progress("waiting until inventory, orders and the stock feed know it all")
    for channel_id in brand.channels.values():
        await channel_known(c, channel_id)
    await until(
        lambda: c.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[brand.skus["TEE"]], channel_id=brand.channels["marketplace"]),
            metadata=c.metadata,
        ),
        lambda reply: reply.items[0].sales_cap_units == MARKETPLACE_TEE_CAP,
        "inventory knows the marketplace's sales cap",
    )
    await until(
        lambda: c.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[brand.skus["TEE"]], channel_id=brand.channels["dealer"]),
            metadata=c.metadata,
        ),
        lambda reply: any(b.location_id == brand.locations[DEALER_SHOP] for b in reply.items[0].by_location),
        "the dealer's shop has joined its channel",
    )
    return brand
