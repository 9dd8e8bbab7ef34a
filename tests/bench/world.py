"""The data every row needs, laid out through the services' public APIs: one warehouse, one channel created
through the channels service (inventory and settlement learn it from its event), a hot SKU, and the spread
SKUs, each stocked deep enough that no row ever runs out. Also the paid-order events for the settlement row,
built with the contracts' own classes exactly as the orders service publishes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import events_pb2 as oev
from onepool.orders.v1 import facts_pb2 as ofx
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.validation import MAX_LINES, MAX_QUANTITY

from tests.bench.stack import BenchStack
from tests.support.channels import wait_until_inventory_knows

UNIT_PRICE = 1999  # fen


def cny(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount_minor)


@dataclass
class World:
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    location: str = ""
    channel: str = ""
    hot_sku: str = ""
    spread: list[str] = field(default_factory=list)

    async def stock_up(self, stack: BenchStack, spread_skus: int) -> None:
        """The warehouse, the hot SKU and the spread SKUs, each as deep as one receipt line may go."""
        inventory, admin = stack.stub("inventory"), stack.admin
        self.location = f"WH-{self.run}"
        self.hot_sku = f"HOT-{self.run}"
        self.spread = [f"S{self.run}-{i:05d}" for i in range(spread_skus)]
        await inventory.UpsertLocation(
            ipb.UpsertLocationRequest(
                location=ipb.Location(
                    id=self.location, name="bench", type=ipb.LOCATION_TYPE_WAREHOUSE, region="CN-SH", ships=True
                )
            ),
            metadata=admin,
        )
        skus = [self.hot_sku, *self.spread]
        for start in range(0, len(skus), MAX_LINES):
            chunk = skus[start : start + MAX_LINES]
            await inventory.ReceiveStock(
                ipb.ReceiveStockRequest(
                    request_id=f"bench-stock-{self.run}-{start}",
                    location_id=self.location,
                    lines=[ipb.StockLine(sku=sku, quantity=MAX_QUANTITY) for sku in chunk],
                ),
                metadata=admin,
                timeout=120,
            )

    async def open_channel(self, stack: BenchStack) -> None:
        """A channel created through the channels service (every location); inventory and settlement learn
        it from its event."""
        reply = await stack.stub("channels").CreateChannel(
            cpb.CreateChannelRequest(
                code=f"bench-{self.run}",
                name="bench",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                fee_rate_bps=500,
                currency="CNY",
                request_id=f"bench-channel-{self.run}",
                catalogue=cpb.CATALOGUE_POOL,  # the bench sells stocked SKUs without listing them
            ),
            metadata=stack.admin,
        )
        self.channel = reply.channel.id
        await wait_until_inventory_knows(stack.stub("inventory"), stack.admin, self.channel, within=60)

    def place_request(self, tag: str, i: int, sku: str) -> opb.PlaceOrderRequest:
        return opb.PlaceOrderRequest(
            channel_id=self.channel,
            external_order_id=f"{tag}-{i}",
            customer=opb.Customer(phone=f"138{i % 100_000_000:08d}"),
            lines=[opb.OrderLine(sku=sku, quantity=1, unit_price=cny(UNIT_PRICE))],
            fulfillment=opb.FulfillmentPreference(
                mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="1 Nanjing Rd"
            ),
        )

    def paid_event(self, order_id: str, sku: str) -> oev.OrderPaid:
        """orders.order.paid for a one-line order on the bench channel, as the orders service publishes it
        (the facts settlement reads, and the deprecated API resource still written beside them)."""
        line = {"sku": sku, "quantity": 1, "unit_price": cny(UNIT_PRICE), "line_total": cny(UNIT_PRICE)}
        event = oev.OrderPaid(
            order=opb.Order(
                id=order_id,
                channel_id=self.channel,
                external_order_id=order_id,
                status=opb.ORDER_STATUS_PAID,
                lines=[opb.OrderLine(**line)],
                total=cny(UNIT_PRICE),
                paid=cny(UNIT_PRICE),
                refunded=cny(0),
            ),
            facts=ofx.OrderFacts(
                order_id=order_id,
                channel_id=self.channel,
                lines=[ofx.OrderLineFacts(**line)],
                total=cny(UNIT_PRICE),
                paid=cny(UNIT_PRICE),
                refunded=cny(0),
                is_open=True,
                is_paid=True,
            ),
        )
        event.meta.event_id = str(uuid.uuid4())
        event.meta.source = "orders"
        event.meta.type = event.DESCRIPTOR.full_name
        event.meta.occurred_at.GetCurrentTime()
        return event
