"""Audit Y item 1: a currency code must be one ISO 4217 has, wherever a currency enters, through the real gRPC
APIs. `ZZZ` has the shape of a code and was taken as a currency by every service (a channel selling in it, a
price, an order, a dealer's credit, a payment); it is now INVALID_ARGUMENT naming the field, and the refused
call changes nothing stored. The one check is onepool_runtime.validation.check_currency, over the kernel's
table (onepool_kernel.currencies).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_channels.adapters.formats import parse
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.testing.services import field_violations

from tests.support.hostile import PARKED_TIMERS, Seeded, Snapshots, diff, seed, uid

UNKNOWN = "ZZZ"


def zzz(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(currency=UNKNOWN, amount_minor=amount_minor)


@pytest.fixture(scope="module")
async def world(stack, admin, database_url):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement", **PARKED_TIMERS)
    seeded = await seed(stack, admin)
    snapshots = Snapshots(database_url)
    await snapshots.quiesce()
    yield stack, seeded, snapshots
    await snapshots.close()


def _period() -> dict[str, Timestamp]:
    return {"period_start": Timestamp(seconds=1_700_000_000), "period_end": Timestamp(seconds=1_700_086_400)}


def _generic(w: Seeded) -> str:
    return json.dumps(
        {
            "external_order_id": uid("G"),
            "currency": UNKNOWN,
            "lines": [{"channel_sku": f"c-{w.skus[0]}", "quantity": 1, "unit_price": "1.00"}],
        }
    )


def _shopify(w: Seeded) -> str:
    return json.dumps(
        {
            "id": 7,
            "currency": UNKNOWN.lower(),  # Shopify's codes are read upper-cased
            "line_items": [{"sku": f"c-{w.skus[0]}", "quantity": 1, "price": "1.00"}],
            "total_price": "1.00",
            "shipping_address": {"country_code": "CN"},
        }
    )


Case = tuple[str, str, str, Callable[[Seeded], Any]]
CASES: list[Case] = [
    (
        "channels",
        "CreateChannel",
        "currency",
        lambda w: cpb.CreateChannelRequest(
            code=uid("c").lower(), name="Z", type=cpb.CHANNEL_TYPE_ONLINE_STORE, currency=UNKNOWN, request_id=uid("r")
        ),
    ),
    (
        "channels",
        "UpsertListing",
        "price.currency",
        lambda w: cpb.UpsertListingRequest(channel_id=w.channel_id, sku=w.skus[0], channel_sku="c-z", price=zzz(1)),
    ),
    (  # also refused later, as not the channel's currency: the format's own check is tested below
        "channels",
        "ImportOrder",
        "payload.currency",
        lambda w: cpb.ImportOrderRequest(channel_id=w.channel_id, format="generic", payload=_generic(w)),
    ),
    (
        "channels",
        "ImportOrder",
        "payload.currency",
        lambda w: cpb.ImportOrderRequest(channel_id=w.channel_id, format="shopify", payload=_shopify(w)),
    ),
    (
        "orders",
        "PlaceOrder",
        "lines[0].unit_price.currency",
        lambda w: opb.PlaceOrderRequest(
            channel_id=w.channel_id,
            external_order_id=uid("E"),
            lines=[opb.OrderLine(sku=w.skus[2], quantity=1, unit_price=zzz(100))],
            fulfillment=opb.FulfillmentPreference(mode=opb.FULFILLMENT_MODE_SHIP),
        ),
    ),
    (
        "orders",
        "PayOrder",
        "amount.currency",
        lambda w: opb.PayOrderRequest(
            order_id=w.order.id, payment_ref=uid("p"), amount=zzz(w.order.total.amount_minor)
        ),
    ),
    (
        "dealers",
        "RegisterDealer",
        "credit_limit.currency",
        lambda w: dpb.RegisterDealerRequest(
            name="Z", tier=dpb.DEALER_TIER_GOLD, credit_limit=zzz(1_000), region="CN-SH", request_id=uid("d")
        ),
    ),
    (
        "dealers",
        "UpdateDealer",
        "dealer.credit_limit.currency",
        lambda w: dpb.UpdateDealerRequest(
            dealer=dpb.Dealer(id=w.dealer_id, credit_limit=zzz(1_000)), update_mask=FieldMask(paths=["credit_limit"])
        ),
    ),
    (
        "dealers",
        "SetWholesalePrice",
        "list_price.currency",
        lambda w: dpb.SetWholesalePriceRequest(sku=w.skus[0], list_price=zzz(80)),
    ),
    ("settlement", "GetBalance", "currency", lambda w: spb.GetBalanceRequest(party="brand", currency=UNKNOWN)),
    ("settlement", "ListEntries", "currency", lambda w: spb.ListEntriesRequest(party="brand", currency=UNKNOWN)),
    (
        "settlement",
        "GenerateStatement",
        "currency",
        lambda w: spb.GenerateStatementRequest(party="brand", currency=UNKNOWN, **_period()),
    ),
    ("settlement", "Reconcile", "currency", lambda w: spb.ReconcileRequest(currency=UNKNOWN, **_period())),
    (
        "settlement",
        "RecordPayment",
        "amount.currency",
        lambda w: spb.RecordPaymentRequest(
            request_id=uid("pay"), from_party=f"dealer:{w.dealer_id}", to_party="brand", amount=zzz(100)
        ),
    ),
    (
        "settlement",
        "CreatePayout",
        "currency",
        lambda w: spb.CreatePayoutRequest(
            request_id=uid("po"), party=f"dealer:{w.dealer_id}", currency=UNKNOWN, period_end=Timestamp(seconds=1)
        ),
    ),
    (
        "settlement",
        "SettleUnpricedMove",
        "value.currency",
        lambda w: spb.SettleUnpricedMoveRequest(request_id=uid("s"), move_id="move-1", value=zzz(0)),
    ),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("service", "rpc", "path", "build"), CASES, ids=[f"{c[1]}.{c[2]}" for c in CASES])
async def test_an_unknown_currency_code_is_invalid_argument_and_changes_nothing(
    world, admin, service, rpc, path, build
) -> None:  # type: ignore[no-untyped-def]
    stack, seeded, snapshots = world
    before = await snapshots.take()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await getattr(stack.stub(service), rpc)(build(seeded), metadata=admin, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert path in field_violations(refused.value), refused.value.details()
    assert diff(before, await snapshots.take()) == {}


@pytest.mark.parametrize(("format_", "build"), [("generic", _generic), ("shopify", _shopify)])
def test_an_imported_payload_in_an_unknown_currency_is_refused_by_its_format(format_: str, build: Any) -> None:
    """Before the channel's currency is compared (which a channel created in ZZZ before this check would pass)."""
    w = Seeded("WH", "SHOP", ["SKU-1"], "CH", "D", "DWH", "R", opb.Order(), "RES")
    with pytest.raises(InvalidArgument) as refused:
        parse(format_, build(w))
    assert "payload.currency" in [v.field for v in refused.value.violations]
