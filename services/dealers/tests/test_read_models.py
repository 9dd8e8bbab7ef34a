"""The overview is built from other services' events on JetStream: stale or repeated events change nothing,
and inventory's transfer events complete replenishments whoever moved the goods."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import events_pb2 as settlement_events
from onepool.settlement.v1 import settlement_pb2

from .conftest import cny, eventually

pytestmark = pytest.mark.asyncio


async def _overview(dealers, admin, dealer_id: str, **period) -> pb.GetDealerOverviewResponse:  # type: ignore[no-untyped-def]
    return await dealers.GetDealerOverview(pb.GetDealerOverviewRequest(dealer_id=dealer_id, **period), metadata=admin)


def _stock(sku: str, location_id: str, on_hand: int, version: int, owner: str = "") -> inventory_events.StockChanged:
    return inventory_events.StockChanged(
        level=inv.StockLevel(sku=sku, location_id=location_id, on_hand=on_hand, version=version),
        location_owner_dealer_id=owner,
    )


async def test_units_in_stock_follow_the_newest_level_of_each_dealer_location(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish
) -> None:
    dealer = await setup.dealer()
    store = await setup.store(dealer.id)
    await publish("inventory.stock.changed", _stock("A", store, 5, 1))
    await publish("inventory.stock.changed", _stock("B", store, 7, 3))
    await publish("inventory.stock.changed", _stock("A", store, 2, 4))
    await publish("inventory.stock.changed", _stock("A", store, 9, 2))  # stale: arrives after version 4
    await publish("inventory.stock.changed", _stock("A", "BRAND-WH", 100, 1))  # not a dealer location
    # A location added straight in inventory, carrying its owner on the event.
    await publish("inventory.stock.changed", _stock("C", "ELSEWHERE", 4, 1, owner=dealer.id))

    async def settled() -> bool:
        return (await _overview(dealers, admin, dealer.id)).units_in_stock == 2 + 7 + 4

    await eventually(settled)


async def test_open_orders_and_sales_in_period_come_from_order_events(dealers, admin, setup, publish) -> None:  # type: ignore[no-untyped-def]
    dealer = await setup.dealer()
    now = datetime.now(UTC)

    def order(
        order_id: str, is_open: bool, minutes: int, paid: int = 0, refunded: int = 0, **kw
    ) -> facts_pb2.OrderFacts:  # type: ignore[no-untyped-def]
        o = facts_pb2.OrderFacts(
            order_id=order_id,
            channel_id=kw.get("channel_id", ""),
            dealer_id=kw.get("dealer_id", dealer.id),
            is_open=is_open,
            is_paid=paid > 0,
            total=cny(1000),
            paid=cny(paid),
            refunded=cny(refunded),
        )
        o.created_at.FromDatetime(kw.get("created", now - timedelta(days=1)))
        o.updated_at.FromDatetime(now + timedelta(minutes=minutes))
        return o

    a, b, c, old = (setup.name("O") for _ in range(4))
    await publish("orders.order.placed", order_events.OrderPlaced(facts=order(a, True, 1)))
    await publish("orders.order.paid", order_events.OrderPaid(facts=order(a, True, 2, 1000)))
    await publish(  # the placed event redelivered late must not roll the order back
        "orders.order.placed", order_events.OrderPlaced(facts=order(a, True, 1))
    )
    await publish("orders.order.completed", order_events.OrderCompleted(facts=order(b, False, 3, 1000, 250)))
    # No dealer id on the order, but it came through the dealer's channel.
    await publish(
        "orders.order.cancelled",
        order_events.OrderCancelled(facts=order(c, False, 3, dealer_id="", channel_id=dealer.channel_id)),
    )
    await publish(
        "orders.order.paid",
        order_events.OrderPaid(facts=order(old, True, 3, 500, created=now - timedelta(days=90))),
    )

    async def settled() -> bool:
        o = await _overview(dealers, admin, dealer.id)
        return (o.open_orders, o.sales_in_period.amount_minor) == (2, 1000 + 750)

    await eventually(settled)
    period = {"period_start": _ts(now - timedelta(days=100)), "period_end": _ts(now)}
    assert (await _overview(dealers, admin, dealer.id, **period)).sales_in_period.amount_minor == 1000 + 750 + 500


def _ts(value: datetime):  # type: ignore[no-untyped-def]
    from google.protobuf.timestamp_pb2 import Timestamp

    out = Timestamp()
    out.FromDatetime(value)
    return out


async def test_settlement_nets_the_dealer_balance_but_wholesale_is_counted_once(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, fake_inventory
) -> None:
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-B": 10})
    rid = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-B": 4}), metadata=admin
        )
    ).replenishment.id
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)
    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    party = f"dealer:{dealer.id}"

    def entry(rule: str, amount: int) -> settlement_events.EntryPosted:
        return settlement_events.EntryPosted(
            entry_id=setup.name("E"),
            rule=rule,
            currency="CNY",
            lines=[
                settlement_pb2.JournalLine(party=party, amount=cny(amount)),
                settlement_pb2.JournalLine(party="brand", amount=cny(-amount)),
            ],
        )

    await publish("settlement.entry.posted", entry("wholesale", -3600))  # already counted by dealers
    await publish("settlement.entry.posted", entry("sale", 1000))  # the dealer's sale: the brand owes it
    duplicate = str(uuid.uuid4())
    await publish("settlement.entry.posted", entry("fulfilment_fee", 100), duplicate)
    await publish("settlement.entry.posted", entry("fulfilment_fee", 100), duplicate)

    async def settled() -> bool:
        o = await _overview(dealers, admin, dealer.id)
        return (o.balance.amount_minor, o.credit_available.amount_minor) == (3600 - 1100, 10_000 - 2500)

    await eventually(settled)


async def test_inventory_transfer_events_complete_a_replenishment(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, fake_inventory
) -> None:
    """A dealer may receive the replenishment's transfer in inventory directly; dealers follows inventory's
    event. Only the transfer the replenishment shipped with counts: one that merely cites it, before it ships
    (shipped and received) or going elsewhere, changes nothing."""
    dealer, store, warehouse = await setup.ready(limit=10_000, **{"SKU-E": 10})
    r = (
        await dealers.PlaceReplenishment(
            setup.place_request(dealer.id, warehouse, store, **{"SKU-E": 2}), metadata=admin
        )
    ).replenishment

    def transfer(transfer_id: str, to_location_id: str = store) -> inv.Transfer:
        return inv.Transfer(
            id=transfer_id,
            from_location_id=warehouse,
            to_location_id=to_location_id,
            reference=r.id,
            lines=[inv.StockLine(sku="SKU-E", quantity=2)],
        )

    citing = transfer(setup.name("T"))
    await publish("inventory.transfer.shipped", inventory_events.TransferShipped(transfer=citing))
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=citing))
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=r.id), metadata=admin)).replenishment
    assert shipped.transfer_id != citing.id
    stray = transfer(setup.name("T"), to_location_id="X")
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=stray))
    own = transfer(shipped.transfer_id)
    await publish("inventory.transfer.received", inventory_events.TransferReceived(transfer=own))

    async def received() -> bool:
        got = (await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=r.id), metadata=admin)).replenishment
        return got.status == pb.REPLENISHMENT_STATUS_RECEIVED and got.transfer_id == own.id

    await eventually(received)
    o = await _overview(dealers, admin, dealer.id)
    assert (o.balance.amount_minor, o.open_replenishments.amount_minor) == (1800, 0)


async def test_overview_counts_beyond_an_int32_are_reported_capped(  # type: ignore[no-untyped-def]
    dealers, admin, setup, publish, fake_inventory
) -> None:
    """2 x 2 000 000 000 units on hand, and 5 shipped replenishments of 500 SKUs x 1 000 000 units on their way:
    each total passes 2 147 483 647, which is what the overview answers instead of failing."""
    dealer = await setup.dealer(limit=10**15)
    store = await setup.store(dealer.id)
    for sku in ("BIG-1", "BIG-2"):
        await publish("inventory.stock.changed", _stock(sku, store, 2_000_000_000, 1))
    skus = [setup.name("BULK") for _ in range(500)]
    warehouse = fake_inventory.warehouse(**{sku: 5_000_000 for sku in skus})
    for sku in skus:
        await setup.price(sku, 1)
    for _ in range(5):
        request = setup.place_request(dealer.id, warehouse, store, **{sku: 1_000_000 for sku in skus})
        placed = (await dealers.PlaceReplenishment(request, metadata=admin)).replenishment
        await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=placed.id), metadata=admin)

    async def stocked() -> bool:
        return (await _overview(dealers, admin, dealer.id)).units_in_stock == 2**31 - 1

    await eventually(stocked)
    assert (await _overview(dealers, admin, dealer.id)).inbound_units == 2**31 - 1
