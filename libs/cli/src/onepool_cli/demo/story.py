"""The brief's ten flows, run against the sample brand, returning every number the story shows.

`run_story` places, pays, ships, cancels, returns and replenishes through the public APIs, then waits until the
read models have caught up (reservations settled, the return restocked, each channel's feed equal to what
inventory says it may sell, settlement's entries posted for every order) before it takes the closing numbers:
stock per location, each channel's sellable numbers, every party's statement for the run (they sum to zero) and
a reconciliation of the run's period.

Failure modes: an RPC refused (grpc.aio.AioRpcError), an order not in the state a flow expects (DemoFailed), or
a read model that never catches up (world.DemoStalled).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb

from onepool_cli.demo.world import CURRENCY, DEALER_SHOP, PRODUCTS, Brand, Clients, cny, until

Progress = Callable[[str], None]


class DemoFailed(AssertionError):
    """An order did not end in the state its flow expects."""


@dataclass(frozen=True)
class OrderStep:
    """One order of a flow, as the story tells it."""

    label: str
    order_id: str
    status: str  # ORDER_STATUS_* without the prefix
    total_minor: int
    lines: str  # "2 x TEE, 1 x CAP"
    locations: tuple[str, ...]  # labels of the locations that hold or shipped it


@dataclass
class Flow:
    number: int
    title: str
    orders: list[OrderStep] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)  # one line each, numbers included


@dataclass(frozen=True)
class Level:
    on_hand: int
    reserved: int
    available: int


@dataclass(frozen=True)
class Statement:
    opening_minor: int
    change_minor: int  # the sum of the period's lines
    closing_minor: int
    lines: int


@dataclass
class Story:
    brand: Brand
    flows: list[Flow] = field(default_factory=list)
    stock_before: dict[tuple[str, str], Level] = field(default_factory=dict)  # (location label, sku label)
    stock_after: dict[tuple[str, str], Level] = field(default_factory=dict)
    sellable_before: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel label, sku label)
    sellable_after: dict[tuple[str, str], int] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)  # party label
    ledger_sum_minor: int = 0
    orders_settled: int = 0
    discrepancies: int = 0

    @property
    def statements_sum_minor(self) -> int:
        return sum(s.change_minor for s in self.statements.values())


def _status(order: opb.Order) -> str:
    return str(opb.OrderStatus.Name(order.status)).removeprefix("ORDER_STATUS_")


class StoryRun:
    def __init__(self, c: Clients, brand: Brand, progress: Progress) -> None:
        self.c, self.brand, self.progress = c, brand, progress
        self.md = c.metadata
        self.settled: dict[str, set[str]] = {}  # order id -> the settlement rules its entries must show
        self.reservations: dict[str, tuple[str, ...]] = {}  # reservation id -> statuses it must reach
        self.restocked: list[tuple[str, str]] = []  # (location id, order id) of returns
        self.fee_orders: list[str] = []  # orders whose dealer-shop fulfillment earns the dealer a fee

    # --- orders ---------------------------------------------------------------------------------------------

    def _step(self, label: str, order: opb.Order) -> OrderStep:
        lines = ", ".join(f"{ln.quantity} x {self.brand.sku_label(ln.sku)}" for ln in order.lines)
        places = tuple(self.brand.location_label(f.location_id) for f in order.fulfillments)
        return OrderStep(label, order.id, _status(order), order.total.amount_minor, lines, places)

    async def place(
        self, channel: str, lines: dict[str, int], fulfillment: opb.FulfillmentPreference, ext: str, **fields: Any
    ) -> opb.Order:
        request = opb.PlaceOrderRequest(
            channel_id=self.brand.channels[channel],
            external_order_id=f"{ext}-{self.brand.run}",
            customer=opb.Customer(phone="13800138000", name="Li Lei"),
            lines=[
                opb.OrderLine(sku=self.brand.skus[s], quantity=q, unit_price=cny(PRODUCTS[s][1]))
                for s, q in lines.items()
            ],
            fulfillment=fulfillment,
            **fields,
        )
        order = (await self.c.orders.PlaceOrder(request, metadata=self.md)).order
        if order.status != opb.ORDER_STATUS_RESERVED:
            raise DemoFailed(f"{ext}: expected RESERVED, got {_status(order)} ({order.status_reason})")
        return order

    async def pay(self, order: opb.Order) -> opb.Order:
        request = opb.PayOrderRequest(
            order_id=order.id, payment_ref=f"PAY-{order.external_order_id}", amount=order.total
        )
        paid = (await self.c.orders.PayOrder(request, metadata=self.md)).order
        self.settled.setdefault(paid.id, set()).add("sale")
        return paid

    async def ship_all(self, order: opb.Order) -> opb.Order:
        for f in order.fulfillments:
            request = opb.ShipFulfillmentRequest(order_id=order.id, fulfillment_id=f.id, tracking_no=f"SF{f.id[:8]}")
            order = (await self.c.orders.ShipFulfillment(request, metadata=self.md)).order
            if f.location_owner_dealer_id and f.location_owner_dealer_id != order.dealer_id:
                self.fee_orders.append(order.id)  # a dealer shipped someone else's sale: it earns a fee
        self.reservations[order.reservation_id] = ("RESERVATION_STATUS_FULFILLED",)
        return order

    async def complete(self, order: opb.Order) -> opb.Order:
        return (await self.c.orders.CompleteOrder(opb.CompleteOrderRequest(order_id=order.id), metadata=self.md)).order

    # --- the flows ------------------------------------------------------------------------------------------

    async def flow1(self) -> Flow:
        flow = Flow(1, "Online order, shipped from the best location")
        beijing = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-BJ", address="1 Chang'an Ave")
        order = await self.place("web", {"TEE": 2, "CAP": 1}, beijing, "WEB-1001")
        flow.facts.append(f"a Beijing customer's order is reserved at {self._step('', order).locations[0]}")
        order = await self.complete(await self.ship_all(await self.pay(order)))
        flow.orders.append(self._step("web order, Beijing", order))
        self.first_order = order
        hangzhou = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-ZJ", address="8 West Lake Rd")
        order = await self.ship_all(await self.pay(await self.place("web", {"TEE": 1}, hangzhou, "WEB-1002")))
        flow.orders.append(self._step("web order, Hangzhou", order))
        flow.facts.append(
            "the Hangzhou order ships from the dealer's shop: settlement pays the dealer a fulfillment fee, "
            "and the brand buys the dealer's tee at its GOLD price"
        )
        return flow

    async def flow2(self) -> Flow:
        flow = Flow(2, "Buy online, pick up in store")
        pickup = opb.FulfillmentPreference(
            mode=opb.FULFILLMENT_MODE_PICKUP_IN_STORE, pickup_location_id=self.brand.locations["SHOP-SH"]
        )
        order = await self.pay(await self.place("web", {"TEE": 1}, pickup, "WEB-1003"))
        ready = _status(order)
        request = opb.ConfirmPickupRequest(order_id=order.id, fulfillment_id=order.fulfillments[0].id)
        order = await self.complete((await self.c.orders.ConfirmPickup(request, metadata=self.md)).order)
        self.reservations[order.reservation_id] = ("RESERVATION_STATUS_FULFILLED",)
        flow.orders.append(self._step("pickup at the Nanjing Road shop", order))
        flow.facts.append(f"after payment the order is {ready}; the shop hands it over")
        return flow

    async def flow3(self) -> Flow:
        flow = Flow(3, "Endless aisle")
        ship = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="99 Huaihai Rd")
        order = await self.ship_all(await self.pay(await self.place("pos", {"CAP": 1}, ship, "POS-2001")))
        flow.orders.append(self._step("shop POS sells a cap it does not stock", order))
        flow.facts.append(
            f"the Nanjing Road shop holds no caps; the pool ships it from {order.fulfillments[0].location_id}"
        )
        return flow

    async def flow4(self) -> Flow:
        flow = Flow(4, "Dealer sale from the pool")
        delivery = opb.FulfillmentPreference(
            mode=opb.FULFILLMENT_MODE_DEALER_DELIVERY, region="CN-ZJ", address="12 Hefang St"
        )
        order = await self.place("dealer", {"TEE": 2}, delivery, "DLR-3001", dealer_id=self.brand.dealer_id)
        order = await self.ship_all(await self.pay(order))
        flow.orders.append(self._step("dealer's own channel", order))
        flow.facts.append("the dealer's own shop fills its own sale first; settlement credits the dealer its share")
        return flow

    async def flow5(self) -> Flow:
        flow = Flow(5, "Marketplace import")
        payload = json.dumps(
            {
                "external_order_id": f"TM-880001-{self.brand.run}",
                "currency": CURRENCY,
                "payment_ref": f"ALIPAY-880001-{self.brand.run}",
                "customer": {"id": "tmall-buyer-7", "phone": "13800138000", "name": "Li Lei"},
                "lines": [
                    {"channel_sku": self.brand.channel_skus["marketplace"]["TEE"], "quantity": 2, "unit_price": "99.00"}
                ],
                "total": "198.00",
                "fulfillment": {"mode": "SHIP", "region": "CN-SH", "address": "100 Century Ave"},
            }
        )
        request = cpb.ImportOrderRequest(
            channel_id=self.brand.channels["marketplace"], format="generic", payload=payload
        )
        first = (await self.c.channels.ImportOrder(request, metadata=self.md)).order
        again = (await self.c.channels.ImportOrder(request, metadata=self.md)).order
        if again.id != first.id:
            raise DemoFailed(f"importing the same marketplace order twice made two orders: {first.id}, {again.id}")
        self.settled.setdefault(first.id, set()).add("sale")
        order = await self.ship_all(first)
        flow.orders.append(self._step("Tmall order (imported twice)", order))
        flow.facts.append(f"imported twice, one order: {first.id}; it arrived paid ({_status(first)})")
        return flow

    async def flow6(self) -> Flow:
        flow = Flow(6, "Unpaid orders expire")
        ship = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="5 Fuzhou Rd")
        order = await self.place("web", {"TEE": 1}, ship, "WEB-1004", payment_ttl_seconds=1)
        self.progress("flow 6: waiting for the unpaid order's reservation to expire")
        order = await until(
            lambda: self._get(order.id),
            lambda o: o.status == opb.ORDER_STATUS_CANCELLED,
            "the unpaid order is cancelled when its reservation expires",
        )
        self.reservations[order.reservation_id] = ("RESERVATION_STATUS_EXPIRED",)
        flow.orders.append(self._step("web order never paid (1 s to pay)", order))
        flow.facts.append(f"cancelled: {order.status_reason}")
        return flow

    async def flow7(self) -> Flow:
        flow = Flow(7, "Cancel and return anywhere")
        ship = opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-SH", address="7 Julu Rd")
        order = await self.pay(await self.place("web", {"CAP": 1}, ship, "WEB-1005"))
        request = opb.CancelOrderRequest(order_id=order.id, reason="customer changed their mind")
        order = (await self.c.orders.CancelOrder(request, metadata=self.md)).order
        self.settled[order.id].add("cancel")
        self.reservations[order.reservation_id] = ("RESERVATION_STATUS_RELEASED",)
        flow.orders.append(self._step("paid, then cancelled", order))
        flow.facts.append(f"refunded {order.refunded.amount_minor} of {order.paid.amount_minor} paid; the cap is back")
        tee = self.brand.skus["TEE"]
        shop = self.brand.locations["SHOP-SH"]
        reply = await self.c.orders.ReturnItems(
            opb.ReturnItemsRequest(
                request_id=f"demo-{self.brand.run}-return",
                order_id=self.first_order.id,
                lines=[opb.ReturnLine(sku=tee, quantity=1)],
                return_location_id=shop,
                reason="too small",
            ),
            metadata=self.md,
        )
        self.settled[self.first_order.id].add("return")
        self.restocked.append((shop, self.first_order.id))  # restocks name the order
        flow.orders.append(self._step("Beijing order, one tee returned in Shanghai", reply.order))
        flow.facts.append(
            "the Beijing customer returns 1 tee at the Nanjing Road shop: refund "
            f"{reply.order_return.refund.amount_minor}"
        )
        return flow

    async def flow8(self) -> Flow:
        flow = Flow(8, "Dealer replenishment")
        reply = await self.c.dealers.PlaceReplenishment(
            dpb.PlaceReplenishmentRequest(
                request_id=f"demo-{self.brand.run}-replenishment",
                dealer_id=self.brand.dealer_id,
                from_location_id=self.brand.locations["WH-EAST"],
                to_location_id=self.brand.locations[DEALER_SHOP],
                lines=[dpb.ReplenishmentLine(sku=self.brand.skus["TEE"], quantity=10)],
            ),
            metadata=self.md,
        )
        placed = reply.replenishment
        shipped = (
            await self.c.dealers.ShipReplenishment(dpb.ShipReplenishmentRequest(id=placed.id), metadata=self.md)
        ).replenishment
        received = (
            await self.c.dealers.ReceiveReplenishment(dpb.ReceiveReplenishmentRequest(id=placed.id), metadata=self.md)
        ).replenishment
        self.replenishment_total = placed.total.amount_minor
        unit = placed.lines[0].unit_price.amount_minor
        flow.facts.append(
            f"10 tees at the GOLD price {unit} each = {placed.total.amount_minor}: "
            f"{dpb.ReplenishmentStatus.Name(placed.status).removeprefix('REPLENISHMENT_STATUS_')} -> "
            f"{dpb.ReplenishmentStatus.Name(shipped.status).removeprefix('REPLENISHMENT_STATUS_')} -> "
            f"{dpb.ReplenishmentStatus.Name(received.status).removeprefix('REPLENISHMENT_STATUS_')}"
        )
        return flow

    async def _get(self, order_id: str) -> opb.Order:
        return (await self.c.orders.GetOrder(opb.GetOrderRequest(order_id=order_id), metadata=self.md)).order

    # --- numbers --------------------------------------------------------------------------------------------

    async def stock(self) -> dict[tuple[str, str], Level]:
        reply = await self.c.inventory.GetAvailability(
            ipb.GetAvailabilityRequest(
                skus=list(self.brand.skus.values()), location_ids=list(self.brand.locations.values())
            ),
            metadata=self.md,
        )
        found = {(b.location_id, item.sku): b for item in reply.items for b in item.by_location}
        levels = {}
        for loc_label, loc in self.brand.locations.items():
            for sku_label, sku in self.brand.skus.items():
                b = found.get((loc, sku))
                levels[(loc_label, sku_label)] = Level(b.on_hand, b.reserved, b.available) if b else Level(0, 0, 0)
        return levels

    async def sellable(self) -> dict[tuple[str, str], int]:
        """Each channel's sellable numbers, once its stock feed says what inventory says it may sell."""
        numbers: dict[tuple[str, str], int] = {}
        for label, channel_id in self.brand.channels.items():
            skus = list(self.brand.skus.values())

            async def both(
                channel_id: str = channel_id, skus: list[str] = skus
            ) -> tuple[dict[str, int], dict[str, int]]:
                feed = await self.c.channels.GetChannelStock(
                    cpb.GetChannelStockRequest(channel_id=channel_id, skus=skus), metadata=self.md
                )
                pool = await self.c.inventory.GetAvailability(
                    ipb.GetAvailabilityRequest(skus=skus, channel_id=channel_id), metadata=self.md
                )
                return {i.sku: i.sellable for i in feed.items}, {i.sku: i.available for i in pool.items}

            feed, _ = await until(both, lambda fp: fp[0] == fp[1], f"channel {label}'s stock feed is up to date")
            for sku_label, sku in self.brand.skus.items():
                numbers[(label, sku_label)] = feed[sku]
        return numbers

    async def settle(self) -> None:
        """Wait until every movement the story started has landed: reservations, restocks and ledger entries."""
        for reservation_id, statuses in self.reservations.items():
            await self._reservation_reaches(reservation_id, statuses)
        for location_id, order_id in self.restocked:
            await self._restocked(location_id, order_id)
        for order_id, rules in self.settled.items():
            await self._entries("clearing", order_id, rules)
        dealer = f"dealer:{self.brand.dealer_id}"
        for order_id in self.fee_orders:
            # The dealer earns a fee for the work and is paid for its goods (an ownership move at its tier price).
            await self._entries(dealer, order_id, {"fulfilment_fee", "ownership"})
        await until(
            lambda: self.c.settlement.ListEntries(
                spb.ListEntriesRequest(party=dealer, page_size=500), metadata=self.md
            ),
            lambda reply: any(e.rule == "wholesale" for e in reply.entries),
            "settlement booked the dealer's wholesale debt",
        )

    async def _reservation_reaches(self, reservation_id: str, statuses: tuple[str, ...]) -> None:
        request = ipb.GetReservationRequest(reservation_id=reservation_id)
        await until(
            lambda: self.c.inventory.GetReservation(request, metadata=self.md),
            lambda reply: ipb.ReservationStatus.Name(reply.reservation.status) in statuses,
            f"reservation {reservation_id} is {' or '.join(statuses)}",
        )

    async def _restocked(self, location_id: str, order_id: str) -> None:
        request = ipb.ListMovementsRequest(location_id=location_id, page_size=500)
        await until(
            lambda: self.c.inventory.ListMovements(request, metadata=self.md),
            lambda reply: any(m.kind == ipb.MOVEMENT_KIND_RETURN and m.reference == order_id for m in reply.movements),
            f"the return of order {order_id} is restocked at {location_id}",
        )

    async def _entries(self, party: str, order_id: str, rules: set[str]) -> None:
        await until(
            lambda: self.c.settlement.ListEntries(
                spb.ListEntriesRequest(party=party, order_id=order_id, page_size=500), metadata=self.md
            ),
            lambda reply: rules <= {e.rule for e in reply.entries},
            f"settlement posted {sorted(rules)} for order {order_id}",
        )

    async def statements(self, start: datetime, end: datetime) -> dict[str, Statement]:
        found = {}
        for label, party in self.brand.parties.items():
            request = spb.GenerateStatementRequest(
                party=party, period_start=_ts(start), period_end=_ts(end), currency=CURRENCY
            )
            s = (await self.c.settlement.GenerateStatement(request, metadata=self.md)).statement
            change = sum(line.entry.amount.amount_minor for line in s.lines)
            found[label] = Statement(s.opening.amount_minor, change, s.closing.amount_minor, s.line_count)
        return found


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment)
    return ts


async def run_story(c: Clients, brand: Brand, started: datetime, progress: Progress = lambda _: None) -> Story:
    """Run the ten flows on a seeded brand; `started` (before seeding) opens the statements' period."""
    run = StoryRun(c, brand, progress)
    story = Story(brand)
    progress("stock and channel numbers before")
    story.stock_before = await run.stock()
    story.sellable_before = await run.sellable()
    for number in range(1, 9):
        progress(f"flow {number}")
        story.flows.append(await getattr(run, f"flow{number}")())
    progress("waiting for every service to catch up")
    await run.settle()
    story.stock_after = await run.stock()
    progress("flow 10: each channel's sellable numbers")
    story.sellable_after = await run.sellable()
    progress("flow 9: statements")
    end = datetime.now(UTC) + timedelta(seconds=1)
    story.statements = await run.statements(started, end)
    report = await c.settlement.Reconcile(
        spb.ReconcileRequest(period_start=_ts(started), period_end=_ts(end), currency=CURRENCY), metadata=c.metadata
    )
    story.ledger_sum_minor = report.ledger_sum.amount_minor
    story.orders_settled = report.orders_settled
    story.discrepancies = len(report.discrepancies)
    statements = Flow(9, "Statements")
    statements.facts.append(
        f"{len(story.statements)} parties' statements for the run sum to {story.statements_sum_minor}; "
        f"the ledger sums to {story.ledger_sum_minor}"
    )
    feed = Flow(10, "Channel stock feed")
    feed.facts.append("each channel's feed equals what inventory says it may sell (see the table)")
    story.flows += [statements, feed]
    return story
