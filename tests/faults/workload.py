"""The fault suite's workload: real gRPC clients placing and driving orders on contended stock.

Each run gets SKUs of its own (a few, stocked at two warehouses and a shop, with less stock than demand), so
the invariants of one run are checked on that run's data alone while the stack lives on. Orders are spread
over two channels and follow a mix of lifecycles: pay and ship, store pickup, cancel before and after
payment, partial return, left unpaid to expire (short TTL), paid and left. Some calls are replayed with the
same external id / payment ref / request id, sometimes concurrently, as a confused client would.

Callers behave well: UNAVAILABLE, DEADLINE_EXCEEDED and RESOURCE_EXHAUSTED are retried with the same
idempotency key, with capped exponential backoff and jitter, for at most `RETRY_BUDGET_SECONDS`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.channels.v1 import channels_pb2_grpc
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool.orders.v1 import orders_pb2 as opb
from onepool.orders.v1 import orders_pb2_grpc
from onepool.settlement.v1 import settlement_pb2_grpc
from onepool_runtime.testing.services import metadata

from tests.faults.supervisor import FaultStack

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
RETRY_BUDGET_SECONDS = 45.0
CALL_TIMEOUT_SECONDS = 10.0
SHORT_TTL_SECONDS = 3
CURRENCY = "CNY"

# Lifecycle mix (weights). "expire" orders are never paid and must be released by the TTL.
KINDS = {"ship": 28, "pickup": 10, "cancel_unpaid": 10, "cancel_paid": 10, "return": 14, "expire": 16, "paid": 12}
DUPLICATE_SHARE = 0.12  # orders whose calls are replayed with the same keys
SKUS_PER_RUN = 4
STOCK = {"east": 40, "north": 30, "shop": 15}  # per SKU and location: 340 units per run against ~1,500 asked


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency=CURRENCY, amount_minor=amount_minor)


class GaveUp(Exception):
    """A call still failing with a retryable code when the retry budget ran out."""

    def __init__(self, rpc: str, code: grpc.StatusCode) -> None:
        super().__init__(f"{rpc}: {code.name} after retries")
        self.code = code


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)  # logical calls by final outcome code
    attempt_errors: Counter[str] = field(default_factory=Counter)  # every failed attempt, retried or not
    internal: list[str] = field(default_factory=list)  # "rpc: details" of every INTERNAL / UNKNOWN
    mismatched_replays: list[str] = field(default_factory=list)  # a replay answered with another order
    flow_errors: Counter[str] = field(default_factory=Counter)  # flows stopped by a non-retryable answer


class Client:
    """Stubs for the five services with one retry policy."""

    def __init__(self, stack: FaultStack, stats: Stats) -> None:
        self.stats = stats
        # One channel per service; with replicas it names all of them and spreads calls (round_robin).
        self._channels = {
            name: grpc.aio.insecure_channel(stack.target(name), options=[("grpc.lb_policy_name", "round_robin")])
            for name in stack.replicas
        }
        self.admin = metadata("admin", ttl="7200")
        self.orders = orders_pb2_grpc.OrderServiceStub(self._channels["orders"])
        self.inventory = inventory_pb2_grpc.InventoryServiceStub(self._channels["inventory"])
        self.channels = channels_pb2_grpc.ChannelServiceStub(self._channels["channels"])
        self.settlement = settlement_pb2_grpc.SettlementServiceStub(self._channels["settlement"])

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(None)

    async def call(self, rpc: str, method: Callable[..., Awaitable[Any]], request: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_BUDGET_SECONDS
        attempt = 0
        while True:
            try:
                reply = await method(request, metadata=self.admin, timeout=CALL_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                self.stats.attempt_errors[code.name] += 1
                if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                    self.stats.internal.append(f"{rpc}: {code.name} {exc.details()}"[:300])
                if code in RETRYABLE and loop.time() < deadline:
                    attempt += 1
                    await asyncio.sleep(min(0.1 * 2**attempt, 2.0) * random.uniform(0.5, 1.0))
                    continue
                self.stats.calls[code.name] += 1
                if code in RETRYABLE:
                    raise GaveUp(rpc, code) from exc
                raise
            self.stats.calls["OK"] += 1
            return reply


@dataclass(frozen=True)
class World:
    """What lives across runs: three locations and two channels that may sell from all of them."""

    east: str
    north: str
    shop: str
    channel_ids: tuple[str, str]

    @property
    def locations(self) -> list[str]:
        return [self.east, self.north, self.shop]


async def build_world(client: Client, tag: str) -> World:
    async def location(name: str, type_: int, region: str, *, ships: bool, pickup: bool) -> str:
        loc = ipb.Location(
            id=f"{tag}-{name}", name=name, type=type_, region=region, ships=ships, pickup=pickup, priority=1
        )
        await client.call("UpsertLocation", client.inventory.UpsertLocation, ipb.UpsertLocationRequest(location=loc))
        return loc.id

    east = await location("EAST", ipb.LOCATION_TYPE_WAREHOUSE, "CN-SH", ships=True, pickup=False)
    north = await location("NORTH", ipb.LOCATION_TYPE_WAREHOUSE, "CN-BJ", ships=True, pickup=False)
    shop = await location("SHOP", ipb.LOCATION_TYPE_STORE, "CN-SH", ships=False, pickup=True)
    channel_ids = []
    for code, type_ in (("web", cpb.CHANNEL_TYPE_ONLINE_STORE), ("mall", cpb.CHANNEL_TYPE_MARKETPLACE)):
        reply = await client.call(
            "CreateChannel",
            client.channels.CreateChannel,
            cpb.CreateChannelRequest(
                code=f"{tag.lower()}-{code}",
                name=f"{tag} {code}",
                type=type_,
                fee_rate_bps=200,
                currency=CURRENCY,
                request_id=f"{tag}-{code}",
                catalogue=cpb.CATALOGUE_POOL,  # the workload sells stocked SKUs without listing them
            ),
        )
        channel_ids.append(reply.channel.id)
    # Inventory learns channels from their events: wait until it answers for both.
    for channel_id in channel_ids:
        for _ in range(300):
            try:
                await client.inventory.GetAvailability(
                    ipb.GetAvailabilityRequest(skus=["PROBE"], channel_id=channel_id), metadata=client.admin
                )
                break
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                await asyncio.sleep(0.1)
    return World(east, north, shop, (channel_ids[0], channel_ids[1]))


@dataclass
class Placed:
    """What the driver knows of one order it placed."""

    external_id: str
    channel_id: str
    kind: str
    order_id: str = ""
    status: int = 0


@dataclass
class RunData:
    tag: str
    skus: list[str]
    started_at: float  # wall clock (seconds since the epoch)
    received: dict[str, int]  # sku -> units received at the start of the run
    placed: list[Placed] = field(default_factory=list)


async def prepare_run(client: Client, world: World, tag: str, *, sku_count: int = SKUS_PER_RUN) -> RunData:
    """Stock the run's SKUs (`STOCK` each) and list them; a longer run spreads over more SKUs."""
    skus = [f"{tag}-SKU{i}" for i in range(sku_count)]
    started = time.time()
    for location, per_sku in zip(world.locations, STOCK.values(), strict=True):
        await client.call(
            "ReceiveStock",
            client.inventory.ReceiveStock,
            ipb.ReceiveStockRequest(
                request_id=f"{tag}-receipt-{location}",
                location_id=location,
                lines=[ipb.StockLine(sku=sku, quantity=per_sku) for sku in skus],
                reason="fault suite stock",
            ),
        )
    for channel_id in world.channel_ids:
        for i, sku in enumerate(skus):
            await client.call(
                "UpsertListing",
                client.channels.UpsertListing,
                cpb.UpsertListingRequest(
                    channel_id=channel_id, sku=sku, channel_sku=f"{sku}-{i}", price=cny(1000), active=True
                ),
            )
    return RunData(tag, skus, started, {sku: sum(STOCK.values()) for sku in skus})


class Driver:
    """Drives `orders` orders through their lifecycles with `concurrency` callers at a time."""

    def __init__(self, client: Client, world: World, run: RunData, *, seed: int) -> None:
        self.client = client
        self.world = world
        self.run = run
        self.rng = random.Random(seed)
        self.started = 0
        self.finished = 0

    async def drive(self, orders: int, concurrency: int = 16) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(orders):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                self.started += 1
                await self._one(i)
                self.finished += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def _one(self, i: int) -> None:
        rng = self.rng
        kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        duplicate = rng.random() < DUPLICATE_SHARE
        channel_id = self.world.channel_ids[i % 2]
        placed = Placed(f"{self.run.tag}-EXT{i}", channel_id, kind)
        self.run.placed.append(placed)
        skus = rng.sample(self.run.skus, k=rng.choice([1, 1, 2]))
        quantities = [rng.randint(2 if (kind == "return" and n == 0) else 1, 3) for n in range(len(skus))]
        try:
            await self._lifecycle(placed, skus, quantities, duplicate)
        except GaveUp as exc:
            self.client.stats.flow_errors[f"gave up ({exc.code.name})"] += 1
        except grpc.aio.AioRpcError as exc:
            self.client.stats.flow_errors[exc.code().name] += 1

    async def _lifecycle(self, placed: Placed, skus: list[str], quantities: list[int], duplicate: bool) -> None:
        c = self.client
        if placed.kind == "pickup":
            pref = opb.FulfillmentPreference(
                mode=opb.FULFILLMENT_MODE_PICKUP_IN_STORE, pickup_location_id=self.world.shop
            )
        else:
            pref = opb.FulfillmentPreference(
                mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="1 Nanjing Rd", allow_split=True
            )
        request = opb.PlaceOrderRequest(
            channel_id=placed.channel_id,
            external_order_id=placed.external_id,
            customer=opb.Customer(phone=f"139{self.rng.randint(0, 99999999):08d}"),
            lines=[
                opb.OrderLine(sku=s, quantity=q, unit_price=cny(1000)) for s, q in zip(skus, quantities, strict=True)
            ],
            fulfillment=pref,
            payment_ttl_seconds=SHORT_TTL_SECONDS if placed.kind == "expire" else 0,
        )
        if duplicate:  # the same order sent twice at once
            replies = await asyncio.gather(
                c.call("PlaceOrder", c.orders.PlaceOrder, request),
                c.call("PlaceOrder", c.orders.PlaceOrder, request),
            )
            self._same_order(placed, "PlaceOrder", [r.order for r in replies])
            order = replies[0].order
        else:
            order = (await c.call("PlaceOrder", c.orders.PlaceOrder, request)).order
        placed.order_id = order.id
        order = await self._settled(order)
        placed.status = order.status
        if order.status != opb.ORDER_STATUS_RESERVED or placed.kind == "expire":
            return
        if placed.kind == "cancel_unpaid":
            await c.call(
                "CancelOrder", c.orders.CancelOrder, opb.CancelOrderRequest(order_id=order.id, reason="changed mind")
            )
            return
        pay = opb.PayOrderRequest(order_id=order.id, payment_ref=f"PAY-{placed.external_id}", amount=order.total)
        order = (await c.call("PayOrder", c.orders.PayOrder, pay)).order
        if duplicate:  # a payment notification delivered twice
            again = (await c.call("PayOrder", c.orders.PayOrder, pay)).order
            self._same_order(placed, "PayOrder", [order, again])
        if placed.kind == "paid":
            return
        if placed.kind == "cancel_paid":
            await c.call(
                "CancelOrder", c.orders.CancelOrder, opb.CancelOrderRequest(order_id=order.id, reason="refund")
            )
            return
        for f in order.fulfillments:
            if placed.kind == "pickup":
                confirm = opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=f.id)
                order = (await c.call("ConfirmPickup", c.orders.ConfirmPickup, confirm)).order
            else:
                ship = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=f.id, tracking_no=f"T-{f.id}")
                order = (await c.call("ShipFulfillment", c.orders.ShipFulfillment, ship)).order
        if placed.kind != "return":
            return
        line = order.lines[0]
        ret = opb.ReturnItemsRequest(
            request_id=f"RET-{placed.external_id}",
            order_id=order.id,
            lines=[opb.ReturnLine(sku=line.sku, quantity=1)],
            return_location_id=self.world.east,
            reason="too small",
        )
        first = await c.call("ReturnItems", c.orders.ReturnItems, ret)
        if duplicate:
            again = await c.call("ReturnItems", c.orders.ReturnItems, ret)
            if again.order_return.id != first.order_return.id:
                c.stats.mismatched_replays.append(f"{placed.external_id}: ReturnItems made a second return")

    async def _settled(self, order: opb.Order, within: float = 30.0) -> opb.Order:
        """A PENDING answer (the saga was interrupted) is driven on by retrying or by recovery: wait for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while order.status == opb.ORDER_STATUS_PENDING and loop.time() < deadline:
            await asyncio.sleep(0.5)
            c = self.client
            order = (await c.call("GetOrder", c.orders.GetOrder, opb.GetOrderRequest(order_id=order.id))).order
        return order

    def _same_order(self, placed: Placed, rpc: str, orders: list[opb.Order]) -> None:
        if len({o.id for o in orders}) != 1:
            self.client.stats.mismatched_replays.append(
                f"{placed.external_id}: {rpc} replays gave {[o.id for o in orders]}"
            )


def new_tag(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}".upper()
