"""A dealer's replenishment in transit is expected stock for its own channel (issue 17, docs/presale.md), across
the real inventory, channels, orders and dealers services: once shipped it is an expected receipt at the
dealer's store, which the dealer's channel may presell and no other channel sees; the transfer's arrival fills
the waiting order, and the receipt is closed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from typing import Any

import pytest
from onepool.channels.v1 import channels_pb2 as ch
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime.testing.services import metadata

from tests.support.channels import wait_until_orders_knows, wait_until_orders_lists

pytestmark = pytest.mark.asyncio
PRICE = 10_000


def cny(amount: int) -> common_pb2.Money:
    return common_pb2.Money(currency="CNY", amount_minor=amount)


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def eventually(probe: Any, check: Any, within: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await probe()
        if check(value):
            return value
        assert loop.time() < deadline, f"condition not reached in time; last value: {value}"
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers")
    return stack


async def availability(inventory: Any, admin: Any, sku: str, **kw: Any) -> inv.Availability:
    reply = await inventory.GetAvailability(inv.GetAvailabilityRequest(skus=[sku], **kw), metadata=admin)
    return reply.items[0]


async def expected_receipt(inventory: Any, admin: Any, receipt_id: str) -> inv.ExpectedReceipt:
    reply = await inventory.GetExpectedReceipt(inv.GetExpectedReceiptRequest(receipt_id=receipt_id), metadata=admin)
    return reply.receipt


async def test_a_shipped_replenishment_is_presold_by_the_dealers_own_channel_only(services, admin) -> None:  # type: ignore[no-untyped-def]
    dealers, channels = services.stub("dealers"), services.stub("channels")
    inventory, orders = services.stub("inventory"), services.stub("orders")
    sku = name("TEA")
    warehouse = name("WH")
    await inventory.UpsertLocation(
        inv.UpsertLocationRequest(location=inv.Location(id=warehouse, name="DC", type=inv.LOCATION_TYPE_WAREHOUSE)),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        inv.ReceiveStockRequest(
            request_id=name("rcv"), location_id=warehouse, lines=[inv.StockLine(sku=sku, quantity=5)]
        ),
        metadata=admin,
    )
    dealer = (
        await dealers.RegisterDealer(
            pb.RegisterDealerRequest(
                request_id=name("reg"), name="Dealer", tier=pb.DEALER_TIER_GOLD, credit_limit=cny(1_000_000)
            ),
            metadata=admin,
        )
    ).dealer
    store = name("DS")
    await dealers.AddDealerLocation(
        pb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=inv.Location(id=store, name="Shop", type=inv.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )
    await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku=sku, list_price=cny(PRICE)), metadata=admin)
    # The dealer's channel presells the SKU; a brand channel selling the brand's locations lists it too.
    brand = (
        await channels.CreateChannel(
            ch.CreateChannelRequest(
                code=name("brand").lower(),
                name="Brand store",
                type=ch.CHANNEL_TYPE_ONLINE_STORE,
                allocation=ch.AllocationPolicy(location_types=[inv.LOCATION_TYPE_WAREHOUSE, inv.LOCATION_TYPE_STORE]),
            ),
            metadata=admin,
        )
    ).channel
    for channel_id in (dealer.channel_id, brand.id):
        await channels.UpsertListing(
            ch.UpsertListingRequest(
                channel_id=channel_id, sku=sku, channel_sku=f"C-{sku}", price=cny(PRICE), active=True, presale_units=5
            ),
            metadata=admin,
        )

    replenishment = (
        await dealers.PlaceReplenishment(
            pb.PlaceReplenishmentRequest(
                request_id=name("po"),
                dealer_id=dealer.id,
                from_location_id=warehouse,
                to_location_id=store,
                lines=[pb.ReplenishmentLine(sku=sku, quantity=5)],
            ),
            metadata=admin,
        )
    ).replenishment
    await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=replenishment.id), metadata=admin)

    at_store = await availability(inventory, admin, sku, location_ids=[store])
    assert (at_store.on_hand, at_store.expected) == (0, 5)
    [coming] = at_store.expected_by_date
    receipt = (
        await inventory.GetExpectedReceipt(inv.GetExpectedReceiptRequest(receipt_id=coming.receipt_id), metadata=admin)
    ).receipt
    assert (receipt.reference, receipt.location_id) == (replenishment.id, store)
    own = await eventually(
        lambda: availability(inventory, admin, sku, channel_id=dealer.channel_id), lambda a: a.presale_units == 5
    )
    assert own.presale_sellable == 5
    other = await eventually(
        lambda: availability(inventory, admin, sku, channel_id=brand.id), lambda a: a.presale_units == 5
    )
    assert other.presale_sellable == 0  # the dealer's store is not the brand channel's

    await wait_until_orders_knows(orders, admin, dealer.channel_id)
    await wait_until_orders_lists(orders, admin, dealer.channel_id, sku, cny(PRICE))
    order = (
        await orders.PlaceOrder(
            opb.PlaceOrderRequest(
                channel_id=dealer.channel_id,
                external_order_id=name("EXT"),
                customer=opb.Customer(phone="13800000000"),
                lines=[opb.OrderLine(sku=sku, quantity=3, unit_price=cny(PRICE))],
                fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP, region="CN-ZJ", address="x"),
            ),
            metadata=admin,
        )
    ).order
    assert order.reservation_id  # accepted: its units are reserved, waiting for the replenishment
    assert order.lines[0].awaiting_quantity == 3
    assert order.lines[0].promised_at.ToDatetime(tzinfo=UTC) == coming.expected_at.ToDatetime(tzinfo=UTC)

    await dealers.ReceiveReplenishment(pb.ReceiveReplenishmentRequest(id=replenishment.id), metadata=admin)
    filled = await eventually(
        lambda: orders.GetOrder(opb.GetOrderRequest(order_id=order.id), metadata=admin),
        lambda r: r.order.lines[0].awaiting_quantity == 0,
    )
    assert filled.order.lines[0].stock_state == opb.LINE_STOCK_STATE_ALLOCATED
    after = await availability(inventory, admin, sku, location_ids=[store])
    assert (after.on_hand, after.reserved, after.expected) == (5, 3, 0)
    closed = (
        await inventory.GetExpectedReceipt(inv.GetExpectedReceiptRequest(receipt_id=receipt.id), metadata=admin)
    ).receipt
    assert closed.status == inv.EXPECTED_RECEIPT_STATUS_CANCELLED


async def test_a_replenishment_received_in_inventory_directly_stops_being_expected(services, admin) -> None:  # type: ignore[no-untyped-def]
    """The dealer's shop receives the transfer in inventory (ReceiveTransfer), not through dealers: dealers
    follows inventory's event to RECEIVED and cancels the expected receipt right after (its recovery loop only
    if that fails), so the units that arrived are not also expected (and presold) a second time."""
    dealers, inventory = services.stub("dealers"), services.stub("inventory")
    sku, warehouse, store = name("TEA"), name("WH"), name("DS")
    await inventory.UpsertLocation(
        inv.UpsertLocationRequest(location=inv.Location(id=warehouse, name="DC", type=inv.LOCATION_TYPE_WAREHOUSE)),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        inv.ReceiveStockRequest(
            request_id=name("rcv"), location_id=warehouse, lines=[inv.StockLine(sku=sku, quantity=4)]
        ),
        metadata=admin,
    )
    dealer = (
        await dealers.RegisterDealer(
            pb.RegisterDealerRequest(request_id=name("reg"), name="Dealer", credit_limit=cny(1_000_000)),
            metadata=admin,
        )
    ).dealer
    await dealers.AddDealerLocation(
        pb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=inv.Location(id=store, name="Shop", type=inv.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )
    await dealers.SetWholesalePrice(pb.SetWholesalePriceRequest(sku=sku, list_price=cny(PRICE)), metadata=admin)
    placed = await dealers.PlaceReplenishment(
        pb.PlaceReplenishmentRequest(
            request_id=name("po"),
            dealer_id=dealer.id,
            from_location_id=warehouse,
            to_location_id=store,
            lines=[pb.ReplenishmentLine(sku=sku, quantity=4)],
        ),
        metadata=admin,
    )
    rid = placed.replenishment.id
    shipped = (await dealers.ShipReplenishment(pb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment
    [coming] = (await availability(inventory, admin, sku, location_ids=[store])).expected_by_date

    await inventory.ReceiveTransfer(
        inv.ReceiveTransferRequest(transfer_id=shipped.transfer_id), metadata=metadata("dealer", dealer_id=dealer.id)
    )
    receipt = await eventually(
        lambda: expected_receipt(inventory, admin, coming.receipt_id),
        lambda r: r.status == inv.EXPECTED_RECEIPT_STATUS_CANCELLED,
    )
    assert receipt.reference == rid
    got = await dealers.GetReplenishment(pb.GetReplenishmentRequest(id=rid), metadata=admin)
    assert got.replenishment.status == pb.REPLENISHMENT_STATUS_RECEIVED
    at_store = await availability(inventory, admin, sku, location_ids=[store])
    assert (at_store.on_hand, at_store.expected) == (4, 0)
