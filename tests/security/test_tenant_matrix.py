"""The tenant matrix: a token bound to one dealer, channel or store can neither read nor change another's.

One world of two tenants of each kind (dealers A and B with their DEALER channels and shops, brand channels
C1 and C2, brand stores S1 and S2) with orders, reservations, a replenishment, transfers and statements owned
by the victims (B, C2, S2). The attackers are dealer A, channel C1 and store S1. For every RPC of every
service there is a row: either the RPC is admin/service only (the auth matrix proves those refuse every
scoped role), or one case per scoped role the RPC admits, each naming the victim's dealer, channel, location
or resource. A case is refused with PERMISSION_DENIED (the convention throughout: NOT_FOUND only ever means
the thing does not exist), or, for list RPCs that silently narrow to the caller's own scope, answers without
a trace of the victim. After every row, nothing in the world has changed. A new RPC without a row, or a row
missing a role the RPC's policy admits, fails `test_every_rpc_has_a_row_covering_every_scoped_role`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.testing.services import metadata

from tests.security.test_auth_matrix import ALL, IDS
from tests.support.channels import wait_until_inventory_knows, wait_until_orders_knows
from tests.support.dealers import dealer_with_a_shop
from tests.support.orders import cny, eventually, pickup_at, ship_to, uid

DENIED = grpc.StatusCode.PERMISSION_DENIED
SCOPED = ("channel", "dealer", "store")
PRICE = 10_000


class World:
    """Ids of everything the matrix attacks, filled in by the `world` fixture."""

    sku: str
    warehouse: str
    s1: str
    s2: str
    a: dpb.Dealer
    b: dpb.Dealer
    shop_a: str
    shop_b: str
    c1: str
    c2: str
    b_reserved: opb.Order
    b_paid: opb.Order
    c2_reserved: opb.Order
    c2_pickup: opb.Order
    c2_shipped: opb.Order
    replenishment: dpb.Replenishment
    allocation_b: str
    transfer_b: str
    transfer_s2: str
    receipt_b: str
    statement_b: str
    statement_c2: str
    payout_b: str
    stack: Any
    admin: Any

    def tokens(self) -> dict[str, Any]:
        return {
            "dealer": metadata("dealer", dealer_id=self.a.id),
            "channel": metadata("channel", channel_id=self.c1),
            "store": metadata("store", location_id=self.s1),
        }


Build = Callable[[World], Message]
Expect = grpc.StatusCode | Callable[[World, Any], bool]


@dataclass(frozen=True)
class Case:
    role: str  # the attacker: dealer A, channel C1 or store S1
    request: Build
    expect: Expect = DENIED
    why: str = ""


@dataclass(frozen=True)
class Row:
    cases: tuple[Case, ...] = ()
    # Scoped roles the RPC admits that have nothing of another tenant's to name, with the reason.
    exempt: tuple[tuple[str, str], ...] = ()
    admin_only: bool = False


ADMIN_ONLY = Row(admin_only=True)


def _tomorrow() -> Timestamp:
    at = Timestamp()
    at.GetCurrentTime()
    at.seconds += 86_400
    return at


def _ids(items: Any) -> set[str]:
    return {getattr(i, "id", "") or getattr(i, "location_id", "") for i in items}


def _only_party(kind: str, attacker: str) -> Expect:
    def own_lines_only(w: World, reply: spb.ListEntriesResponse) -> bool:
        who = getattr(w, attacker)
        party = f"{kind}:{getattr(who, 'id', who)}"
        return all(e.party == party for e in reply.entries)

    return own_lines_only


def _at_only(reply: ipb.GetAvailabilityResponse, location_id: str) -> bool:
    return {b.location_id for i in reply.items for b in i.by_location} <= {location_id}


def _channel_counters(reply: ipb.GetAvailabilityResponse) -> list[int]:
    """A channel's SKU-wide sales and presale counters (what it sold, not what the caller's locations hold)."""
    counters = ("sales_counted", "sales_cap_units", "presale_counted", "presale_units")
    return [getattr(i, name) for i in reply.items for name in counters if getattr(i, name)]


def _no_orders_of_victims(w: World, reply: opb.ListOrdersResponse) -> bool:
    victims = {o.id for o in (w.b_reserved, w.b_paid, w.c2_reserved, w.c2_pickup, w.c2_shipped)}
    return not victims & {o.id for o in reply.orders}


def _return(w: World, location_id: str) -> opb.ReturnItemsRequest:
    return opb.ReturnItemsRequest(
        request_id=uid("ret"),
        order_id=w.c2_shipped.id,
        lines=[opb.ReturnLine(sku=w.sku, quantity=1)],
        return_location_id=location_id,
        reason="attack",
    )


def _order(channel_id: str, w: World, **fields: Any) -> opb.PlaceOrderRequest:
    return opb.PlaceOrderRequest(
        channel_id=channel_id,
        external_order_id=uid("EXT"),
        customer=opb.Customer(phone="13800000000"),
        lines=[opb.OrderLine(sku=w.sku, quantity=1, unit_price=cny(PRICE))],
        fulfillment=ship_to(),
        **fields,
    )


def _statement(party: str) -> spb.GenerateStatementRequest:
    request = spb.GenerateStatementRequest(party=party, request_id=uid("st"))
    request.period_start.FromSeconds(946684800)  # 2000-01-01
    request.period_end.GetCurrentTime()
    return request


def _other_channels(request_type: type[Message]) -> tuple[Case, ...]:
    """Dealer A naming B's channel, channel C1 naming C2."""
    return (
        Case("dealer", lambda w: request_type(channel_id=w.b.channel_id)),
        Case("channel", lambda w: request_type(channel_id=w.c2)),
    )


def _replenish(w: World, dealer_id: str, to_location_id: str) -> dpb.PlaceReplenishmentRequest:
    return dpb.PlaceReplenishmentRequest(
        request_id=uid("po"),
        dealer_id=dealer_id,
        from_location_id=w.warehouse,
        to_location_id=to_location_id,
        lines=[dpb.ReplenishmentLine(sku=w.sku, quantity=1)],
    )


def _dedicate(w: World, channel_id: str, location_id: str) -> ipb.CreateChannelAllocationRequest:
    return ipb.CreateChannelAllocationRequest(
        request_id=uid("ded"), channel_id=channel_id, location_id=location_id, sku=w.sku, quantity=1
    )


def _first_fulfillment(request_type: type[Message], order: opb.Order) -> Message:
    return request_type(order_id=order.id, fulfillment_id=order.fulfillments[0].id)


def _move(order: opb.Order) -> opb.ChangeDeliveryAddressRequest:
    return opb.ChangeDeliveryAddressRequest(request_id=uid("addr"), order_id=order.id, address="1 Attacker Rd")


def _reprice(order: opb.Order) -> opb.RepriceOrderRequest:
    free = common_pb2.Money(currency=order.total.currency, amount_minor=0)
    return opb.RepriceOrderRequest(
        request_id=uid("reprice"),
        order_id=order.id,
        lines=[opb.RepriceLine(sku=line.sku, discount=free) for line in order.lines],
        shipping_fee=free,
    )


def _refund(order: opb.Order) -> opb.RefundOrderRequest:
    amount = common_pb2.Money(currency=order.total.currency, amount_minor=1)
    return opb.RefundOrderRequest(request_id=uid("refund"), order_id=order.id, amount=amount, reason="attack")


def _pay(order: opb.Order) -> opb.PayOrderRequest:
    return opb.PayOrderRequest(order_id=order.id, payment_ref=uid("PAY"), amount=order.total)


ORD, INV, CHN, DLR, STL = (
    "onepool.orders.v1.OrderService",
    "onepool.inventory.v1.InventoryService",
    ("onepool.channels.v1.ChannelService"),
    "onepool.dealers.v1.DealerService",
    "onepool.settlement.v1.SettlementService",
)

ROWS: dict[str, Row] = {
    # --- orders ------------------------------------------------------------------------------------------
    f"/{ORD}/PlaceOrder": Row(
        cases=(
            Case("dealer", lambda w: _order(w.b.channel_id, w, dealer_id=w.a.id), why="B's channel, naming A"),
            Case("dealer", lambda w: _order(w.b.channel_id, w), why="B's channel, naming nobody"),
            Case("dealer", lambda w: _order(w.c2, w), why="a brand channel"),
            Case("channel", lambda w: _order(w.c2, w), why="another channel"),
            Case("channel", lambda w: _order(w.c1, w, dealer_id=w.b.id), why="its channel binds no dealer"),
        )
    ),
    f"/{ORD}/GetOrder": Row(
        cases=(
            Case("dealer", lambda w: opb.GetOrderRequest(order_id=w.b_paid.id)),
            Case("channel", lambda w: opb.GetOrderRequest(order_id=w.c2_reserved.id)),
            Case("store", lambda w: opb.GetOrderRequest(order_id=w.c2_pickup.id)),
        )
    ),
    f"/{ORD}/ListOrders": Row(
        cases=(
            Case("dealer", lambda w: opb.ListOrdersRequest(dealer_id=w.b.id)),
            Case("dealer", lambda w: opb.ListOrdersRequest(channel_id=w.b.channel_id), _no_orders_of_victims),
            Case("dealer", lambda w: opb.ListOrdersRequest(location_id=w.shop_b), _no_orders_of_victims),
            Case("channel", lambda w: opb.ListOrdersRequest(channel_id=w.c2)),
            Case("channel", lambda w: opb.ListOrdersRequest(), _no_orders_of_victims),
            Case("store", lambda w: opb.ListOrdersRequest(location_id=w.s2)),
            Case("store", lambda w: opb.ListOrdersRequest(channel_id=w.c2), _no_orders_of_victims),
        )
    ),
    f"/{ORD}/PayOrder": Row(
        cases=(
            Case("dealer", lambda w: _pay(w.b_reserved)),
            Case("channel", lambda w: _pay(w.c2_reserved)),
        )
    ),
    f"/{ORD}/CancelOrder": Row(
        cases=(
            Case("dealer", lambda w: opb.CancelOrderRequest(order_id=w.b_paid.id, reason="attack")),
            Case("channel", lambda w: opb.CancelOrderRequest(order_id=w.c2_reserved.id, reason="attack")),
        )
    ),
    f"/{ORD}/ChangeDeliveryAddress": Row(
        cases=(
            Case("dealer", lambda w: _move(w.b_paid), why="B's sale"),
            Case("channel", lambda w: _move(w.c2_reserved), why="another channel's order"),
        )
    ),
    f"/{ORD}/RepriceOrder": Row(
        cases=(
            Case("dealer", lambda w: _reprice(w.b_reserved), why="B's sale, unpaid"),
            Case("channel", lambda w: _reprice(w.c2_reserved), why="another channel's order"),
        )
    ),
    f"/{ORD}/RefundOrder": Row(
        cases=(
            Case("dealer", lambda w: _refund(w.b_paid), why="B's sale"),
            Case("channel", lambda w: _refund(w.c2_shipped), why="another channel's order"),
        )
    ),
    f"/{ORD}/ShipFulfillment": Row(
        cases=(
            Case("dealer", lambda w: _first_fulfillment(opb.ShipFulfillmentRequest, w.b_paid)),
            Case("store", lambda w: _first_fulfillment(opb.ShipFulfillmentRequest, w.c2_pickup)),
        )
    ),
    f"/{ORD}/ConfirmPickup": Row(
        cases=(
            Case("dealer", lambda w: _first_fulfillment(opb.ConfirmPickupRequest, w.b_paid)),
            Case("store", lambda w: _first_fulfillment(opb.ConfirmPickupRequest, w.c2_pickup)),
        )
    ),
    f"/{ORD}/CompleteOrder": Row(
        cases=(
            Case("dealer", lambda w: opb.CompleteOrderRequest(order_id=w.b_paid.id)),
            Case("channel", lambda w: opb.CompleteOrderRequest(order_id=w.c2_shipped.id)),
        )
    ),
    f"/{ORD}/ReturnItems": Row(
        cases=(
            Case("channel", lambda w: _return(w, w.s2), why="another channel's order"),
            Case("store", lambda w: _return(w, w.s2), why="received at another store"),
            Case("dealer", lambda w: _return(w, w.shop_b), why="received at another dealer's shop"),
            Case("dealer", lambda w: _return(w, w.s2), why="received at a brand store"),
        )
    ),
    # --- inventory ---------------------------------------------------------------------------------------
    f"/{INV}/UpsertLocation": ADMIN_ONLY,
    f"/{INV}/ListLocations": Row(
        cases=(
            Case(
                "dealer",
                lambda w: ipb.ListLocationsRequest(owner_dealer_id=w.b.id),
                lambda w, r: w.shop_b not in _ids(r.locations),
            ),
            Case("store", lambda w: ipb.ListLocationsRequest(), lambda w, r: _ids(r.locations) == {w.s1}),
        ),
        exempt=(("channel", "the pool's locations belong to no channel; a channel lists them to offer pickup"),),
    ),
    f"/{INV}/ReceiveStock": Row(
        cases=(
            Case(
                "dealer",
                lambda w: ipb.ReceiveStockRequest(
                    request_id=uid("r"), location_id=w.shop_b, lines=[ipb.StockLine(sku=w.sku, quantity=1)]
                ),
            ),
            Case(
                "store",
                lambda w: ipb.ReceiveStockRequest(
                    request_id=uid("r"), location_id=w.s2, lines=[ipb.StockLine(sku=w.sku, quantity=1)]
                ),
            ),
        )
    ),
    f"/{INV}/ExpectReceipt": Row(
        cases=(
            Case(
                "dealer",
                lambda w: ipb.ExpectReceiptRequest(
                    request_id=uid("exp"),
                    location_id=w.shop_b,
                    lines=[ipb.StockLine(sku=w.sku, quantity=1)],
                    expected_at=_tomorrow(),
                ),
            ),
        ),
    ),
    f"/{INV}/CancelExpectedReceipt": Row(
        cases=(Case("dealer", lambda w: ipb.CancelExpectedReceiptRequest(receipt_id=w.receipt_b, reason="attack")),),
    ),
    f"/{INV}/RescheduleExpectedReceipt": Row(
        cases=(
            Case(
                "dealer",
                lambda w: ipb.RescheduleExpectedReceiptRequest(receipt_id=w.receipt_b, expected_at=_tomorrow()),
            ),
        ),
    ),
    f"/{INV}/GetExpectedReceipt": Row(
        cases=(
            Case("dealer", lambda w: ipb.GetExpectedReceiptRequest(receipt_id=w.receipt_b)),
            Case("store", lambda w: ipb.GetExpectedReceiptRequest(receipt_id=w.receipt_b)),
        ),
    ),
    f"/{INV}/ListExpectedReceipts": Row(
        cases=(
            Case("dealer", lambda w: ipb.ListExpectedReceiptsRequest(location_id=w.shop_b)),
            Case("dealer", lambda w: ipb.ListExpectedReceiptsRequest(), grpc.StatusCode.INVALID_ARGUMENT),
            Case("store", lambda w: ipb.ListExpectedReceiptsRequest(location_id=w.shop_b)),
        ),
    ),
    f"/{INV}/AdjustStock": Row(
        cases=(
            Case(
                "dealer",
                lambda w: ipb.AdjustStockRequest(
                    request_id=uid("a"), location_id=w.shop_b, sku=w.sku, delta=-1, reason="attack"
                ),
            ),
            Case(
                "store",
                lambda w: ipb.AdjustStockRequest(
                    request_id=uid("a"), location_id=w.s2, sku=w.sku, delta=-1, reason="x"
                ),
            ),
        )
    ),
    f"/{INV}/SetSafetyStock": ADMIN_ONLY,
    f"/{INV}/GetAvailability": Row(
        cases=(
            Case("dealer", lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], location_ids=[w.shop_b])),
            Case("dealer", lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=w.b.channel_id)),
            Case("channel", lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=w.c2)),
            Case("store", lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], location_ids=[w.s2])),
            Case(
                "store",
                lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=w.b.channel_id),
                why="a dealer's channel carries its sales counters; a brand store uses brand channels only",
            ),
            Case(
                "dealer",
                lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=w.c2),
                lambda w, r: _at_only(r, w.shop_a) and not _channel_counters(r),
                why="a brand channel's view of A's own shop, without the channel's own sales counters",
            ),
            Case(
                "store",
                lambda w: ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=w.c2),
                lambda w, r: _at_only(r, w.s1) and not _channel_counters(r),
                why="a channel filter narrows the store's own location further",
            ),
        )
    ),
    f"/{INV}/Reserve": Row(
        cases=(
            Case(
                "channel",
                lambda w: ipb.ReserveRequest(
                    request_id=uid("rsv"),
                    order_id=uid("o"),
                    channel_id=w.c2,
                    lines=[ipb.ReserveLine(sku=w.sku, quantity=1)],
                ),
            ),
        )
    ),
    f"/{INV}/GetReservation": ADMIN_ONLY,
    f"/{INV}/CommitReservation": ADMIN_ONLY,
    f"/{INV}/ReleaseReservation": ADMIN_ONLY,
    f"/{INV}/FulfillReservation": ADMIN_ONLY,
    f"/{INV}/TransferStock": ADMIN_ONLY,
    f"/{INV}/ReceiveTransfer": Row(
        cases=(
            Case("dealer", lambda w: ipb.ReceiveTransferRequest(transfer_id=w.transfer_b)),
            Case("store", lambda w: ipb.ReceiveTransferRequest(transfer_id=w.transfer_s2)),
        )
    ),
    f"/{INV}/GetTransfer": Row(
        cases=(
            Case("dealer", lambda w: ipb.GetTransferRequest(transfer_id=w.transfer_b)),
            Case("store", lambda w: ipb.GetTransferRequest(transfer_id=w.transfer_s2)),
        )
    ),
    f"/{INV}/ListMovements": Row(
        cases=(
            Case("dealer", lambda w: ipb.ListMovementsRequest(location_id=w.shop_b)),
            Case("store", lambda w: ipb.ListMovementsRequest(location_id=w.s2)),
        )
    ),
    f"/{INV}/CreateChannelAllocation": Row(
        cases=(
            Case("dealer", lambda w: _dedicate(w, w.b.channel_id, w.shop_b), why="B's channel at B's shop"),
            Case("dealer", lambda w: _dedicate(w, w.a.channel_id, w.shop_b), why="A's channel at B's shop"),
            Case("dealer", lambda w: _dedicate(w, w.c2, w.shop_a), why="a brand channel, A's own shop"),
        )
    ),
    f"/{INV}/ReleaseChannelAllocation": Row(
        cases=(Case("dealer", lambda w: ipb.ReleaseChannelAllocationRequest(allocation_id=w.allocation_b)),)
    ),
    f"/{INV}/ListChannelAllocations": Row(
        cases=(
            Case("dealer", lambda w: ipb.ListChannelAllocationsRequest(channel_id=w.b.channel_id)),
            Case("channel", lambda w: ipb.ListChannelAllocationsRequest(channel_id=w.b.channel_id)),
        )
    ),
    f"/{INV}/ListStockLevels": Row(
        cases=(
            Case("dealer", lambda w: ipb.ListStockLevelsRequest(location_id=w.shop_b)),
            Case("store", lambda w: ipb.ListStockLevelsRequest(location_id=w.s2)),
        )
    ),
    # --- channels ----------------------------------------------------------------------------------------
    f"/{CHN}/CreateChannel": ADMIN_ONLY,
    f"/{CHN}/UpdateChannel": ADMIN_ONLY,
    f"/{CHN}/UpsertListing": ADMIN_ONLY,
    f"/{CHN}/GetChannel": Row(cases=_other_channels(cpb.GetChannelRequest)),
    f"/{CHN}/ListChannels": Row(
        cases=(
            Case("dealer", lambda w: cpb.ListChannelsRequest(owner_dealer_id=w.b.id)),
            Case("dealer", lambda w: cpb.ListChannelsRequest(), lambda w, r: _ids(r.channels) == {w.a.channel_id}),
            Case("channel", lambda w: cpb.ListChannelsRequest(), lambda w, r: _ids(r.channels) == {w.c1}),
        )
    ),
    f"/{CHN}/ListListings": Row(cases=_other_channels(cpb.ListListingsRequest)),
    f"/{CHN}/GetChannelStock": Row(cases=_other_channels(cpb.GetChannelStockRequest)),
    f"/{CHN}/WatchChannelStock": Row(cases=_other_channels(cpb.WatchChannelStockRequest)),
    f"/{CHN}/ImportOrder": Row(
        cases=(
            Case(
                "channel",
                lambda w: cpb.ImportOrderRequest(channel_id=w.c2, format="generic", payload='{"order_id": "X"}'),
            ),
        )
    ),
    # --- dealers -----------------------------------------------------------------------------------------
    f"/{DLR}/RegisterDealer": ADMIN_ONLY,
    f"/{DLR}/GetDealer": Row(cases=(Case("dealer", lambda w: dpb.GetDealerRequest(dealer_id=w.b.id)),)),
    f"/{DLR}/ListDealers": Row(
        cases=(Case("dealer", lambda w: dpb.ListDealersRequest(), lambda w, r: _ids(r.dealers) == {w.a.id}),)
    ),
    f"/{DLR}/UpdateDealer": ADMIN_ONLY,
    f"/{DLR}/AddDealerLocation": ADMIN_ONLY,
    f"/{DLR}/SetWholesalePrice": ADMIN_ONLY,
    f"/{DLR}/PlaceReplenishment": Row(
        cases=(
            Case("dealer", lambda w: _replenish(w, w.b.id, w.shop_b), why="for B"),
            Case(
                "dealer",
                lambda w: _replenish(w, w.a.id, w.shop_b),
                grpc.StatusCode.FAILED_PRECONDITION,
                why="A's own, delivered into B's shop: NOT_DEALER_LOCATION, as for any id not A's, so A cannot "
                "tell B's location ids from unknown ones",
            ),
        )
    ),
    f"/{DLR}/GetReplenishment": Row(
        cases=(Case("dealer", lambda w: dpb.GetReplenishmentRequest(id=w.replenishment.id)),)
    ),
    f"/{DLR}/ListReplenishments": Row(
        cases=(
            Case("dealer", lambda w: dpb.ListReplenishmentsRequest(dealer_id=w.b.id)),
            Case(
                "dealer",
                lambda w: dpb.ListReplenishmentsRequest(),
                lambda w, r: w.replenishment.id not in _ids(r.replenishments),
            ),
        )
    ),
    f"/{DLR}/ShipReplenishment": ADMIN_ONLY,
    f"/{DLR}/ReceiveReplenishment": Row(
        cases=(Case("dealer", lambda w: dpb.ReceiveReplenishmentRequest(id=w.replenishment.id)),)
    ),
    f"/{DLR}/RejectReplenishment": Row(
        cases=(Case("dealer", lambda w: dpb.RejectReplenishmentRequest(id=w.replenishment.id, reason="attack")),)
    ),
    f"/{DLR}/GetDealerOverview": Row(cases=(Case("dealer", lambda w: dpb.GetDealerOverviewRequest(dealer_id=w.b.id)),)),
    # --- settlement --------------------------------------------------------------------------------------
    f"/{STL}/GetBalance": Row(
        cases=(
            Case("dealer", lambda w: spb.GetBalanceRequest(party=f"dealer:{w.b.id}")),
            Case("dealer", lambda w: spb.GetBalanceRequest(party=f"channel:{w.b.channel_id}")),
            Case("channel", lambda w: spb.GetBalanceRequest(party=f"channel:{w.c2}")),
            Case("channel", lambda w: spb.GetBalanceRequest(party="brand")),
        )
    ),
    f"/{STL}/ListEntries": Row(
        cases=(
            Case("dealer", lambda w: spb.ListEntriesRequest(party=f"dealer:{w.b.id}")),
            # Naming no party reads the caller's own: none of the victim's lines.
            Case("dealer", lambda w: spb.ListEntriesRequest(order_id=w.b_paid.id), expect=_only_party("dealer", "a")),
            Case("channel", lambda w: spb.ListEntriesRequest(party=f"channel:{w.c2}")),
            Case(
                "channel",
                lambda w: spb.ListEntriesRequest(order_id=w.c2_shipped.id),
                expect=_only_party("channel", "c1"),
            ),
        )
    ),
    f"/{STL}/GenerateStatement": Row(
        cases=(
            Case("dealer", lambda w: _statement(f"dealer:{w.b.id}")),
            Case("channel", lambda w: _statement(f"channel:{w.c2}")),
        )
    ),
    f"/{STL}/GetStatement": Row(
        cases=(
            Case("dealer", lambda w: spb.GetStatementRequest(id=w.statement_b)),
            Case("channel", lambda w: spb.GetStatementRequest(id=w.statement_c2)),
        )
    ),
    f"/{STL}/Reconcile": ADMIN_ONLY,
    f"/{STL}/RecordPayment": ADMIN_ONLY,
    f"/{STL}/CreatePayout": ADMIN_ONLY,
    f"/{STL}/ClosePeriod": ADMIN_ONLY,
    f"/{STL}/SettleUnpricedMove": ADMIN_ONLY,
    f"/{STL}/GetPayout": Row(
        cases=(
            Case("dealer", lambda w: spb.GetPayoutRequest(id=w.payout_b)),
            Case("channel", lambda w: spb.GetPayoutRequest(id=w.payout_b)),
        )
    ),
    f"/{STL}/ListPayouts": Row(
        cases=(
            Case("dealer", lambda w: spb.ListPayoutsRequest(party=f"dealer:{w.b.id}")),
            Case("channel", lambda w: spb.ListPayoutsRequest(party=f"channel:{w.c2}")),
            Case("dealer", lambda w: spb.ListPayoutsRequest(), expect=lambda w, r: w.payout_b not in _ids(r.payouts)),
        )
    ),
    f"/{STL}/ListPeriods": Row(
        exempt=(
            ("dealer", "closed periods are the brand's calendar, the same for every party"),
            ("channel", "closed periods are the brand's calendar, the same for every party"),
        )
    ),
    f"/{STL}/ExportStatement": Row(
        cases=(
            Case(
                "dealer",
                lambda w: spb.ExportStatementRequest(statement_id=w.statement_b, format=spb.STATEMENT_FORMAT_CSV),
            ),
            Case(
                "channel",
                lambda w: spb.ExportStatementRequest(statement_id=w.statement_c2, format=spb.STATEMENT_FORMAT_CSV),
            ),
        )
    ),
}


def _path(descriptor: Any, method: Any) -> str:
    return f"/{descriptor.full_name}/{method.name}"


def _policy(service: str) -> Any:
    return importlib.import_module(f"onepool_{service}.entrypoints.policies").POLICY


def test_every_rpc_has_a_row_covering_every_scoped_role() -> None:
    for service, descriptor, method in ALL:
        path = _path(descriptor, method)
        assert path in ROWS, f"{path} has no row in the tenant matrix"
        row = ROWS[path]
        scoped = set(_policy(service)[path]) & set(SCOPED)
        if row.admin_only:
            assert not scoped, f"{path} is marked admin-only but its policy admits {sorted(scoped)}"
            continue
        covered = {c.role for c in row.cases} | {role for role, _ in row.exempt}
        assert scoped <= covered, f"{path}: no case for {sorted(scoped - covered)}"
        assert {c.role for c in row.cases} <= scoped, f"{path}: a case for a role its policy refuses anyway"
    assert set(ROWS) == {_path(d, m) for _, d, m in ALL}, "a row names an RPC that no longer exists"


# --- the world -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "dealers", "settlement")
    inventory, channels, orders = stack.stub("inventory"), stack.stub("channels"), stack.stub("orders")
    dealers, settlement = stack.stub("dealers"), stack.stub("settlement")
    w = World()
    w.sku = uid("SKU")

    async def location(prefix: str, type_: int) -> str:
        location_id = uid(prefix)
        loc = ipb.Location(id=location_id, name=prefix, type=type_, ships=True, pickup=type_ == ipb.LOCATION_TYPE_STORE)
        await inventory.UpsertLocation(ipb.UpsertLocationRequest(location=loc), metadata=admin)
        return location_id

    async def stock(location_id: str, quantity: int) -> None:
        await inventory.ReceiveStock(
            ipb.ReceiveStockRequest(
                request_id=uid("rcv"), location_id=location_id, lines=[ipb.StockLine(sku=w.sku, quantity=quantity)]
            ),
            metadata=admin,
        )

    w.warehouse = await location("WH", ipb.LOCATION_TYPE_WAREHOUSE)
    w.s1, w.s2 = await location("S1", ipb.LOCATION_TYPE_STORE), await location("S2", ipb.LOCATION_TYPE_STORE)
    for loc, qty in ((w.warehouse, 50), (w.s1, 10), (w.s2, 10)):
        await stock(loc, qty)

    w.a, w.shop_a = await dealer_with_a_shop(stack, admin, w.sku, 10)
    w.b, w.shop_b = await dealer_with_a_shop(stack, admin, w.sku, 10)

    async def brand_channel(store: str) -> str:
        created = await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("web"),
                name="web",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                fee_rate_bps=500,
                allocation=cpb.AllocationPolicy(location_ids=[store]),
                request_id=uid("req"),
                catalogue=cpb.CATALOGUE_POOL,  # orders here name SKUs without listings
            ),
            metadata=admin,
        )
        return str(created.channel.id)

    w.c1, w.c2 = await brand_channel(w.s1), await brand_channel(w.s2)
    for channel_id in (w.c1, w.c2, w.a.channel_id, w.b.channel_id):  # listed, and known to inventory and orders
        await channels.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel_id, sku=w.sku, channel_sku=w.sku, price=cny(PRICE), active=True
            ),
            metadata=admin,
        )
        await wait_until_inventory_knows(inventory, admin, channel_id)
        await wait_until_orders_knows(orders, admin, channel_id)

    b_token, c2_token = metadata("dealer", dealer_id=w.b.id), metadata("channel", channel_id=w.c2)

    async def place(token: Any, request: opb.PlaceOrderRequest) -> opb.Order:
        order = (await orders.PlaceOrder(request, metadata=token)).order
        assert order.status == opb.ORDER_STATUS_RESERVED, order
        return order

    async def pay(order: opb.Order) -> opb.Order:
        return (await orders.PayOrder(_pay(order), metadata=admin)).order

    w.b_reserved = await place(b_token, _order(w.b.channel_id, w))
    w.b_paid = await pay(await place(b_token, _order(w.b.channel_id, w)))
    w.c2_reserved = await place(c2_token, _order(w.c2, w))
    pickup = _order(w.c2, w)
    pickup.fulfillment.CopyFrom(pickup_at(w.s2))
    w.c2_pickup = await pay(await place(c2_token, pickup))
    shipped = await pay(await place(c2_token, _order(w.c2, w)))
    w.c2_shipped = (
        await orders.ShipFulfillment(
            opb.ShipFulfillmentRequest(order_id=shipped.id, fulfillment_id=shipped.fulfillments[0].id),
            metadata=admin,
        )
    ).order

    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=w.sku, list_price=cny(5_000)), metadata=admin)
    placed = await dealers.PlaceReplenishment(_replenish(w, w.b.id, w.shop_b), metadata=b_token)
    w.replenishment = (
        await dealers.ShipReplenishment(dpb.ShipReplenishmentRequest(id=placed.replenishment.id), metadata=admin)
    ).replenishment
    w.transfer_b = w.replenishment.transfer_id
    transfer = await inventory.TransferStock(
        ipb.TransferStockRequest(
            request_id=uid("tr"),
            from_location_id=w.warehouse,
            to_location_id=w.s2,
            lines=[ipb.StockLine(sku=w.sku, quantity=1)],
        ),
        metadata=admin,
    )
    w.transfer_s2 = transfer.transfer.id
    w.receipt_b = (
        await inventory.ExpectReceipt(
            ipb.ExpectReceiptRequest(
                request_id=uid("exp"),
                location_id=w.shop_b,
                lines=[ipb.StockLine(sku=w.sku, quantity=2)],
                expected_at=_tomorrow(),
            ),
            metadata=admin,
        )
    ).receipt.id
    await wait_until_inventory_knows(inventory, admin, w.b.channel_id)
    dedicated = await inventory.CreateChannelAllocation(_dedicate(w, w.b.channel_id, w.shop_b), metadata=admin)
    w.allocation_b = dedicated.allocation.id

    # Settlement has booked every paid order before statements are drawn and the world is fingerprinted.
    async def booked() -> set[str]:
        found: set[str] = set()
        for party in (f"dealer:{w.b.id}", f"channel:{w.c2}"):
            reply = await settlement.ListEntries(spb.ListEntriesRequest(party=party, page_size=500), metadata=admin)
            found |= {e.entry_id for e in reply.entries}
        return found

    await eventually(booked, lambda entries: len(entries) >= 3)
    w.statement_b = (await settlement.GenerateStatement(_statement(f"dealer:{w.b.id}"), metadata=admin)).statement.id
    w.statement_c2 = (await settlement.GenerateStatement(_statement(f"channel:{w.c2}"), metadata=admin)).statement.id
    # A payout of B's: B paid the brand (so it is owed), then the brand paid it out.
    paid = spb.RecordPaymentRequest(
        request_id=uid("pay"), from_party=f"dealer:{w.b.id}", to_party="brand", amount=cny(1_000_000), reference="t"
    )
    await settlement.RecordPayment(paid, metadata=admin)
    payout = spb.CreatePayoutRequest(request_id=uid("payout"), party=f"dealer:{w.b.id}")
    payout.period_end.GetCurrentTime()
    w.payout_b = (await settlement.CreatePayout(payout, metadata=admin)).payout.id
    w.stack, w.admin = stack, admin
    return w


async def _fingerprint(w: World) -> Any:
    """Everything an attack could have changed, read with an admin token (concurrently: it runs per row)."""
    stack, admin = w.stack, w.admin
    inventory, channels, orders = stack.stub("inventory"), stack.stub("channels"), stack.stub("orders")
    dealers, settlement = stack.stub("dealers"), stack.stub("settlement")
    locations = [w.warehouse, w.s1, w.s2, w.shop_a, w.shop_b]
    reads: list[Any] = [
        inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[w.sku], location_ids=locations), metadata=admin)
    ]
    for channel_id in (w.a.channel_id, w.b.channel_id, w.c1, w.c2):
        reads.append(orders.ListOrders(opb.ListOrdersRequest(channel_id=channel_id, page_size=500), metadata=admin))
        reads.append(channels.GetChannel(cpb.GetChannelRequest(channel_id=channel_id), metadata=admin))
        reads.append(channels.ListListings(cpb.ListListingsRequest(channel_id=channel_id), metadata=admin))
    for location_id in locations:
        reads.append(
            inventory.ListMovements(ipb.ListMovementsRequest(location_id=location_id, page_size=500), metadata=admin)
        )
    for transfer_id in (w.transfer_b, w.transfer_s2):
        reads.append(inventory.GetTransfer(ipb.GetTransferRequest(transfer_id=transfer_id), metadata=admin))
    reads.append(
        inventory.ListChannelAllocations(ipb.ListChannelAllocationsRequest(include_closed=True), metadata=admin)
    )
    reads.append(inventory.ListExpectedReceipts(ipb.ListExpectedReceiptsRequest(include_closed=True), metadata=admin))
    for dealer in (w.a, w.b):
        reads.append(dealers.GetDealer(dpb.GetDealerRequest(dealer_id=dealer.id), metadata=admin))
        reads.append(dealers.ListReplenishments(dpb.ListReplenishmentsRequest(dealer_id=dealer.id), metadata=admin))
    for party in (f"dealer:{w.a.id}", f"dealer:{w.b.id}", f"channel:{w.c1}", f"channel:{w.c2}", "brand"):
        reads.append(settlement.ListEntries(spb.ListEntriesRequest(party=party, page_size=500), metadata=admin))
    return [reply.SerializeToString(deterministic=True) for reply in await asyncio.gather(*reads)]


async def _call(w: World, service: str, descriptor: Any, method: Any, request: Message, md: Any) -> Any:
    channel = w.stack.channel(service)
    path = _path(descriptor, method)
    reply_type = getattr(importlib.import_module(type(request).__module__), method.output_type.name)
    if method.server_streaming:
        call = channel.unary_stream(
            path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=reply_type.FromString
        )
        async for first in call(request, metadata=md, timeout=5):
            return first
        return None
    call = channel.unary_unary(
        path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=reply_type.FromString
    )
    return await call(request, metadata=md, timeout=5)


SCOPED_ROWS = [(s, d, m) for s, d, m in ALL if not ROWS.get(_path(d, m), ADMIN_ONLY).admin_only]


@pytest.mark.parametrize(("service", "descriptor", "method"), SCOPED_ROWS, ids=[IDS[ALL.index(r)] for r in SCOPED_ROWS])
async def test_another_tenants_token_is_refused_and_changes_nothing(world, service, descriptor, method) -> None:  # type: ignore[no-untyped-def]
    row = ROWS[_path(descriptor, method)]
    tokens = world.tokens()
    before = await _fingerprint(world)
    for case in row.cases:
        label = (case.role, case.why)
        try:
            reply = await _call(world, service, descriptor, method, case.request(world), tokens[case.role])
        except grpc.aio.AioRpcError as exc:
            assert not callable(case.expect), (label, exc.code(), exc.details())
            assert exc.code() == case.expect, (label, exc.code(), exc.details())
        else:
            assert callable(case.expect), (label, "was answered", reply)
            assert case.expect(world, reply), (label, "leaked another tenant's data", reply)
    assert await _fingerprint(world) == before


async def test_a_channels_sales_counters_are_for_the_brand_the_channel_and_its_owning_dealer(world) -> None:  # type: ignore[no-untyped-def]
    """The counters of a channel's view count the whole channel's sales. A dealer or store may look at a brand
    channel's view of its own locations (the matrix above), but its counters are the channel's business:
    channels refuses those tokens GetChannelStock, and inventory answers them unset."""
    w = world
    inventory = w.stack.stub("inventory")

    async def counted(channel_id: str, token: Any) -> int:
        request = ipb.GetAvailabilityRequest(skus=[w.sku], channel_id=channel_id)
        return (await inventory.GetAvailability(request, metadata=token)).items[0].sales_counted

    assert await counted(w.c2, w.admin) == 3  # the three orders placed on C2
    assert await counted(w.c2, metadata("channel", channel_id=w.c2)) == 3
    assert await counted(w.b.channel_id, metadata("dealer", dealer_id=w.b.id)) == 2  # B's own channel
    assert await counted(w.c2, metadata("dealer", dealer_id=w.b.id)) == 0
    for role, token in w.tokens().items():
        if role != "channel":
            assert await counted(w.c2, token) == 0, role
