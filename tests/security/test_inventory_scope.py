"""Inventory's tenant scope at its edges, against the real service (PostgreSQL, NATS, gRPC).

- A dealer registered before its first location reads availability: nothing, answered (it was INTERNAL: a
  placeholder location id with a NUL byte reached PostgreSQL).
- A token whose id claim is not an id (a NUL byte, null, a list) is UNAUTHENTICATED naming the claim; it was
  scoped to str(value), and a NUL gave INTERNAL.
- Receiving at one's own location on another tenant's expected receipt is PERMISSION_DENIED, as reading or
  cancelling that receipt is; it was INVALID_ARGUMENT naming the receipt's location, which leaked it.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import jwt
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.services import TEST_SECRET, metadata

from tests.support.orders import uid

pytestmark = pytest.mark.asyncio
NEXT_YEAR = 86_400 * 365


@pytest.fixture(scope="module")
async def inventory(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory")
    return stack.stub("inventory")


async def _code(call: Any) -> tuple[grpc.StatusCode, str]:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


async def _location(inventory: Any, admin: Any, type_: int, owner: str = "") -> str:
    location_id = uid("L")
    loc = ipb.Location(id=location_id, name="x", type=type_, owner_dealer_id=owner, ships=True)
    await inventory.UpsertLocation(ipb.UpsertLocationRequest(location=loc), metadata=admin)
    return location_id


async def _receipt(inventory: Any, admin: Any, location_id: str, sku: str) -> str:
    expected = ipb.ExpectReceiptRequest(
        request_id=uid("exp"), location_id=location_id, lines=[ipb.StockLine(sku=sku, quantity=2)]
    )
    expected.expected_at.FromSeconds(int(time.time()) + NEXT_YEAR)
    return str((await inventory.ExpectReceipt(expected, metadata=admin)).receipt.id)


def _receive(location_id: str, receipt_id: str, sku: str) -> ipb.ReceiveStockRequest:
    return ipb.ReceiveStockRequest(
        request_id=uid("r"), location_id=location_id, receipt_id=receipt_id, lines=[ipb.StockLine(sku=sku, quantity=1)]
    )


def _signed(**claims: Any) -> tuple[tuple[str, str], ...]:
    """A correctly signed token with whatever claims: what a buggy or hostile token issuer could hand out."""
    settings, now = ServiceSettings(jwt_secret=TEST_SECRET), int(time.time())
    base = {"sub": "x", "aud": settings.jwt_audience, "iss": settings.jwt_issuer, "iat": now, "exp": now + 600}
    return (("authorization", f"Bearer {jwt.encode({**base, **claims}, TEST_SECRET, algorithm='HS256')}"),)


async def test_a_dealer_without_locations_reads_nothing(inventory, admin) -> None:  # type: ignore[no-untyped-def]
    sku = uid("SKU")
    shop = await _location(inventory, admin, ipb.LOCATION_TYPE_DEALER_STORE, uid("DX"))
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(request_id=uid("r"), location_id=shop, lines=[ipb.StockLine(sku=sku, quantity=5)]),
        metadata=admin,
    )
    newcomer = metadata("dealer", dealer_id=uid("D"))
    reply = await inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[sku, sku]), metadata=newcomer)
    assert [(i.sku, i.on_hand, i.available, list(i.by_location)) for i in reply.items] == [(sku, 0, 0, [])]
    code, _ = await _code(
        inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=[sku], location_ids=[shop]), metadata=newcomer)
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "dealer", "dealer_id": "D\x00x"},
        {"role": "store", "location_id": "S\x00x"},
        {"role": "channel", "channel_id": "C\x00x"},
        {"role": "dealer", "dealer_id": None},
        {"role": "dealer", "dealer_id": ["D-1"]},
        {"role": "admin", "location_id": "S\x00x"},
    ],
    ids=["dealer-nul", "store-nul", "channel-nul", "dealer-null", "dealer-list", "admin-nul"],
)
async def test_an_id_claim_that_is_not_an_id_is_unauthenticated(inventory, claims) -> None:  # type: ignore[no-untyped-def]
    claim = next(name for name in claims if name != "role")
    for call in (
        inventory.ListLocations(ipb.ListLocationsRequest(), metadata=_signed(**claims)),
        inventory.GetAvailability(ipb.GetAvailabilityRequest(skus=["SKU-1"]), metadata=_signed(**claims)),
    ):
        code, details = await _code(call)
        assert (code, claim in details) == (grpc.StatusCode.UNAUTHENTICATED, True), (code, details)


async def test_receiving_on_another_tenants_receipt_is_denied_without_naming_its_location(inventory, admin) -> None:  # type: ignore[no-untyped-def]
    sku, dealer_a, dealer_b = uid("SKU"), uid("DA"), uid("DB")
    shop_a = await _location(inventory, admin, ipb.LOCATION_TYPE_DEALER_STORE, dealer_a)
    shop_b = await _location(inventory, admin, ipb.LOCATION_TYPE_DEALER_STORE, dealer_b)
    store_1 = await _location(inventory, admin, ipb.LOCATION_TYPE_STORE)
    receipt_b = await _receipt(inventory, admin, shop_b, sku)
    as_a, as_store = metadata("dealer", dealer_id=dealer_a), metadata("store", location_id=store_1)

    for token, own in ((as_a, shop_a), (as_store, store_1)):
        code, details = await _code(inventory.ReceiveStock(_receive(own, receipt_b, sku), metadata=token))
        assert code == grpc.StatusCode.PERMISSION_DENIED, (code, details)
        assert shop_b not in details, details
    found = await inventory.GetExpectedReceipt(ipb.GetExpectedReceiptRequest(receipt_id=receipt_b), metadata=admin)
    assert [line.received for line in found.receipt.lines] == [0]

    code, _ = await _code(inventory.ReceiveStock(_receive(shop_a, uid("nope"), sku), metadata=as_a))
    assert code == grpc.StatusCode.NOT_FOUND
    # Its own receipt at its own shop: received, as before.
    receipt_a = await _receipt(inventory, admin, shop_a, sku)
    received = await inventory.ReceiveStock(_receive(shop_a, receipt_a, sku), metadata=as_a)
    assert [line.received for line in received.receipt.lines] == [1]
