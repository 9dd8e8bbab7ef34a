"""Lay out a small world (locations, stock, channels) and place orders through the real gRPC APIs.

Names are unique per call, so tests sharing one module's services never see each other's SKUs or orders.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import grpc
import nats
from google.protobuf.message import Message
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import events_pb2 as oev
from onepool.orders.v1 import orders_pb2 as opb

from tests.support.channels import register_channel

WAIT_SECONDS = 15.0  # an upper bound for eventual outcomes, never a performance assertion
CURRENCY = "CNY"

ORDER_EVENTS: dict[str, type[Message]] = {
    "orders.order.placed": oev.OrderPlaced,
    "orders.order.paid": oev.OrderPaid,
    "orders.order.cancelled": oev.OrderCancelled,
    "orders.order.shipped": oev.OrderShipped,
    "orders.order.completed": oev.OrderCompleted,
    "orders.order.returned": oev.OrderReturned,
    "orders.order.deposit_paid": oev.OrderDepositPaid,
    "orders.order.promise_moved": oev.OrderPromiseMoved,
    "orders.order.stock_filled": oev.OrderStockFilled,
    "orders.order.delivery_address_changed": oev.OrderDeliveryAddressChanged,
    "orders.order.repriced": oev.OrderRepriced,
}


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency=CURRENCY, amount_minor=amount_minor)


async def eventually(probe: Callable[[], Any], check: Callable[[Any], bool], *, within: float = WAIT_SECONDS) -> Any:
    """Poll `probe` until `check` holds on its value; fail with the last value if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition never held; last value: {value}")
        await asyncio.sleep(0.05)


def ship_to(region: str = "CN-SH", *, allow_split: bool = False) -> opb.FulfillmentPreference:
    return opb.FulfillmentPreference(
        mode=opb.FULFILLMENT_MODE_SHIP, region=region, address="1 Nanjing Rd", allow_split=allow_split
    )


def pickup_at(location_id: str) -> opb.FulfillmentPreference:
    return opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_PICKUP_IN_STORE, pickup_location_id=location_id)


class World:
    def __init__(self, inventory: Any, orders: Any, admin: Any, nats_url: str) -> None:
        self.inventory = inventory
        self.orders = orders
        self.admin = admin
        self.nats_url = nats_url

    async def location(
        self,
        prefix: str = "WH",
        *,
        type_: int = ipb.LOCATION_TYPE_WAREHOUSE,
        region: str = "",
        owner_dealer_id: str = "",
        pickup: bool = False,
        priority: int = 0,
    ) -> str:
        location_id = uid(prefix)
        await self.inventory.UpsertLocation(
            ipb.UpsertLocationRequest(
                location=ipb.Location(
                    id=location_id,
                    name=prefix,
                    type=type_,
                    owner_dealer_id=owner_dealer_id,
                    region=region,
                    ships=True,
                    pickup=pickup,
                    priority=priority,
                )
            ),
            metadata=self.admin,
        )
        return location_id

    async def stock(self, location_id: str, quantities: Mapping[str, int]) -> None:
        await self.inventory.ReceiveStock(
            ipb.ReceiveStockRequest(
                request_id=uid("receipt"),
                location_id=location_id,
                lines=[ipb.StockLine(sku=sku, quantity=q) for sku, q in quantities.items()],
            ),
            metadata=self.admin,
        )

    async def channel(self, **policy: Any) -> str:
        if policy.get("owner_dealer_id"):
            policy.setdefault("type_", cpb.CHANNEL_TYPE_DEALER)  # as the channels service insists
        return await register_channel(self.nats_url, self.inventory, self.admin, orders=self.orders, **policy)

    async def level(self, sku: str, location_id: str) -> ipb.LocationAvailability:
        """on_hand / reserved / available of one SKU at one location (zeros if never stocked there)."""
        reply = await self.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], location_ids=[location_id]), metadata=self.admin
        )
        found = [b for b in reply.items[0].by_location if b.location_id == location_id]
        return found[0] if found else ipb.LocationAvailability(location_id=location_id)

    async def reserved(self, sku: str) -> int:
        reply = await self.inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[sku]), metadata=self.admin)
        return reply.items[0].reserved

    def place_request(
        self,
        channel_id: str,
        lines: Mapping[str, tuple[int, int]],
        *,
        fulfillment: opb.FulfillmentPreference | None = None,
        external_order_id: str = "",
        customer: opb.Customer | None = None,
        **fields: Any,
    ) -> opb.PlaceOrderRequest:
        """`lines`: sku -> (quantity, unit price in fen)."""
        return opb.PlaceOrderRequest(
            channel_id=channel_id,
            external_order_id=external_order_id or uid("EXT"),
            customer=customer or opb.Customer(phone="13800000000"),
            lines=[opb.OrderLine(sku=sku, quantity=q, unit_price=cny(p)) for sku, (q, p) in lines.items()],
            fulfillment=fulfillment or ship_to(),
            **fields,
        )

    async def place(
        self, channel_id: str, lines: Mapping[str, tuple[int, int]], *, metadata: Any = None, **kwargs: Any
    ) -> opb.Order:
        request = self.place_request(channel_id, lines, **kwargs)
        reply = await self.orders.PlaceOrder(request, metadata=metadata or self.admin)
        return reply.order

    async def get(self, order_id: str) -> opb.Order:
        return (await self.orders.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=self.admin)).order

    async def pay(self, order: opb.Order, *, metadata: Any = None) -> opb.Order:
        reply = await self.orders.PayOrder(
            opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total),
            metadata=metadata or self.admin,
        )
        return reply.order

    async def ship_first(self, order: opb.Order) -> opb.Order:
        """Ship the order's first fulfillment, retrying while orders waits for inventory to confirm the payment's
        commit (UNAVAILABLE: goods leave only once inventory holds them)."""
        request = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id)
        for _ in range(50):
            try:
                return (await self.orders.ShipFulfillment(request, metadata=self.admin)).order
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.FAILED_PRECONDITION):
                    raise
            await asyncio.sleep(0.1)
        raise AssertionError(f"order {order.id} never shipped")


async def order_events(nats_url: str, order_id: str) -> list[tuple[str, Any]]:
    """Every event published on the ORDERS stream about this order, in stream order (subject, message)."""
    return (await events_of_orders(nats_url, {order_id})).get(order_id, [])


async def events_of_orders(nats_url: str, order_ids: set[str]) -> dict[str, list[tuple[str, Any]]]:
    """Every event published on the ORDERS stream about these orders, in stream order per order, in one read of
    the stream."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            "orders.>",
            stream="ORDERS",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE),
        )
        found: dict[str, list[tuple[str, Any]]] = {}
        while True:
            try:
                batch = await sub.fetch(500, timeout=0.5)
            except TimeoutError:
                break
            for msg in batch:
                event = ORDER_EVENTS[msg.subject].FromString(msg.data)
                if event.facts.order_id in order_ids:
                    found.setdefault(event.facts.order_id, []).append((msg.subject, event))
            if len(batch) < 500:
                break
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()
