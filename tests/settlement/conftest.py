"""Settlement tests drive the real service with the integration events it consumes, published exactly as the
orders, channels and dealers services publish them (protobuf payload, subject <service>.<aggregate>.<event>,
Nats-Msg-Id = meta.event_id), and observe it only through gRPC."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import nats
import pytest
from google.protobuf.message import Message
from nats.js import JetStreamContext
from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.dealers.v1 import events_pb2 as dealer_events
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool_runtime import order_facts
from onepool_runtime.messaging import ensure_service_stream

T = TypeVar("T")
M = TypeVar("M", bound=Message)


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


class Bus:
    """Builds the other services' events and publishes them onto JetStream for the service under test."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    @staticmethod
    def uid(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    async def publish(self, subject: str, event: Message, *, msg_id: str = "", header: bool = True) -> str:
        """Publish as the outbox relay does (meta.event_id == Nats-Msg-Id); return the event id."""
        meta = event.meta  # type: ignore[attr-defined]
        if not meta.event_id:
            meta.event_id = str(uuid.uuid4())
        meta.type = event.DESCRIPTOR.full_name
        headers = {"Nats-Msg-Id": msg_id or meta.event_id} if header else None
        await self.js.publish(subject, event.SerializeToString(), headers=headers)
        return str(meta.event_id)

    # --- channels -----------------------------------------------------------------------------------

    @staticmethod
    def channel(
        channel_id: str,
        fee_bps: int,
        *,
        type_: int = channels_pb2.CHANNEL_TYPE_MARKETPLACE,
        owner_dealer_id: str = "",
        version: int = 1,
    ) -> channels_pb2.Channel:
        return channels_pb2.Channel(
            id=channel_id,
            code=channel_id,
            name=channel_id,
            type=type_,
            owner_dealer_id=owner_dealer_id,
            fee_rate_bps=fee_bps,
            version=version,
            currency="CNY",
        )

    async def channel_created(self, ch: channels_pb2.Channel) -> str:
        return await self.publish("channels.channel.created", channel_events.ChannelCreated(channel=ch))

    async def channel_updated(self, ch: channels_pb2.Channel) -> str:
        return await self.publish("channels.channel.updated", channel_events.ChannelUpdated(channel=ch))

    # --- orders -------------------------------------------------------------------------------------

    @staticmethod
    def order(
        order_id: str,
        channel_id: str,
        lines: list[tuple[str, int, int]],
        *,
        dealer_id: str = "",
        fulfillments: list[facts_pb2.FulfillmentFacts] | None = None,
        refunded: int = 0,
        is_final: bool | None = None,
    ) -> facts_pb2.OrderFacts:
        """A paid, open order's facts as orders states them. lines: (sku, quantity, unit price in fen).
        `is_final` unless given: as orders decides it for a paid open order, every fulfillment left."""
        total = sum(q * p for _, q, p in lines)
        if is_final is None:
            is_final = bool(fulfillments) and all(f.has_left or f.is_cancelled for f in fulfillments or [])
            is_final = is_final and any(f.has_left for f in fulfillments or [])
        return facts_pb2.OrderFacts(
            order_id=order_id,
            channel_id=channel_id,
            dealer_id=dealer_id,
            lines=[
                facts_pb2.OrderLineFacts(sku=s, quantity=q, unit_price=cny(p), line_total=cny(q * p))
                for s, q, p in lines
            ],
            total=cny(total),
            paid=cny(total),
            refunded=cny(refunded),
            fulfillments=fulfillments or [],
            is_open=True,
            is_paid=True,
            is_final=is_final,
            facts_version=order_facts.CURRENT,
        )

    @staticmethod
    def fulfillment(
        fid: str, location_id: str, lines: list[tuple[str, int]], *, owner_dealer_id: str = "", shipped: bool = False
    ) -> facts_pb2.FulfillmentFacts:
        return facts_pb2.FulfillmentFacts(
            fulfillment_id=fid,
            location_id=location_id,
            location_owner_dealer_id=owner_dealer_id,
            lines=[facts_pb2.StockLineFacts(sku=s, quantity=q) for s, q in lines],
            has_left=shipped,
        )

    async def order_paid(self, o: facts_pb2.OrderFacts, **kw: Any) -> str:
        return await self.publish("orders.order.paid", order_events.OrderPaid(facts=o), **kw)

    async def order_shipped(self, o: facts_pb2.OrderFacts, fulfillment_id: str) -> str:
        event = order_events.OrderShipped(facts=o, fulfillment_id=fulfillment_id)
        return await self.publish("orders.order.shipped", event)

    async def order_cancelled(self, o: facts_pb2.OrderFacts) -> str:
        return await self.publish("orders.order.cancelled", order_events.OrderCancelled(facts=o, reason="customer"))

    async def order_returned(
        self,
        o: facts_pb2.OrderFacts,
        return_id: str,
        refund: int,
        *,
        location_id: str = "",
        lines: list[tuple[str, int]] | None = None,
        **kw: Any,
    ) -> str:
        ret = facts_pb2.ReturnFacts(
            return_id=return_id,
            refund=cny(refund),
            location_id=location_id,
            lines=[facts_pb2.StockLineFacts(sku=s, quantity=q) for s, q in lines or []],
        )
        return await self.publish("orders.order.returned", order_events.OrderReturned(facts=o, returned=ret), **kw)

    # --- inventory ----------------------------------------------------------------------------------

    async def location_upserted(self, location_id: str, *, owner_dealer_id: str = "") -> str:
        kind = inventory_pb2.LOCATION_TYPE_DEALER_STORE if owner_dealer_id else inventory_pb2.LOCATION_TYPE_WAREHOUSE
        location = inventory_pb2.Location(id=location_id, name=location_id, type=kind, owner_dealer_id=owner_dealer_id)
        return await self.publish("inventory.location.upserted", inventory_events.LocationUpserted(location=location))

    # --- dealers ------------------------------------------------------------------------------------

    async def replenishment_received(self, replenishment_id: str, dealer_id: str, total: int) -> str:
        r = dealers_pb2.Replenishment(
            id=replenishment_id, dealer_id=dealer_id, total=cny(total), status=dealers_pb2.REPLENISHMENT_STATUS_RECEIVED
        )
        event = dealer_events.ReplenishmentReceived(replenishment=r)
        return await self.publish("dealers.replenishment.received", event)

    async def ownership_moved(
        self,
        move_id: str,
        reason: int,
        *,
        giver: str,
        taker: str,
        lines: list[tuple[str, int, int]],
        order_id: str = "",
        reference: str = "",
        location_id: str = "",
        unpriced: tuple[str, ...] = (),
    ) -> str:
        """What dealers publishes for goods that changed owner. giver/taker: dealer ids, "" for the brand;
        lines: (sku, quantity, wholesale unit price in fen)."""
        move = dealers_pb2.OwnershipMove(
            id=move_id,
            reason=reason,
            from_dealer_id=giver,
            to_dealer_id=taker,
            lines=[dealers_pb2.OwnershipMoveLine(sku=s, quantity=q, unit_price=cny(p)) for s, q, p in lines],
            total=cny(sum(q * p for _, q, p in lines)),
            order_id=order_id,
            reference=reference,
            location_id=location_id,
            unpriced_skus=list(unpriced),
        )
        return await self.publish("dealers.ownership.moved", dealer_events.OwnershipMoved(move=move))

    # --- what settlement publishes ----------------------------------------------------------------

    async def find_published(
        self, subject: str, message_type: type[M], match: Callable[[M], bool], within: float = 10.0
    ) -> M:
        """The first event on `subject` (SETTLEMENT stream, from the start) that `match`es."""
        sub = await self.js.pull_subscribe(subject, stream="SETTLEMENT")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        try:
            while loop.time() < deadline:
                try:
                    msgs = await sub.fetch(100, timeout=0.5)
                except TimeoutError:
                    continue
                for msg in msgs:
                    event = message_type.FromString(msg.data)
                    if msg.headers and msg.headers.get("Nats-Msg-Id") == event.meta.event_id and match(event):  # type: ignore[attr-defined]
                        return event
        finally:
            await sub.unsubscribe()
        raise AssertionError(f"no matching {message_type.__name__} on {subject} within {within}s")

    # --- waiting for the consumer -------------------------------------------------------------------

    async def delivered(self, durable: str, stream: str) -> int:
        """How many deliveries settlement's `durable` consumer of `stream` has made (redeliveries included)."""
        return int((await self.js.consumer_info(stream, f"settlement-{durable}")).delivered.consumer_seq)

    async def applied(self, durable: str, stream: str, within: float = 10.0) -> None:
        """Until settlement's `durable` consumer of `stream` has applied (acknowledged) all that was published."""

        async def backlog() -> int:
            info = await self.js.consumer_info(stream, f"settlement-{durable}")
            return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

        await self.eventually(backlog, lambda n: n == 0, within=within)

    @staticmethod
    async def eventually(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], within: float = 10.0) -> T:
        """Poll until the consumer has applied what the test published."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            value = await probe()
            if check(value):
                return value
            if loop.time() > deadline:
                raise AssertionError(f"condition not met within {within}s; last value: {value!r}")
            await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
async def settlement(stack: Any) -> Any:
    await stack.start("settlement")
    return stack.stub("settlement")


@pytest.fixture(scope="module")
async def bus(stack: Any, settlement: Any) -> AsyncIterator[Bus]:
    nc = await nats.connect(stack.nats_url)
    js = nc.jetstream()
    for service in ("orders", "channels", "dealers", "inventory"):
        await ensure_service_stream(js, service)
    yield Bus(js)
    await nc.close()
