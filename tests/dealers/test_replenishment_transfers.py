"""Which inventory transfer is a replenishment's own, and what its arrival does, across the real inventory,
channels, dealers and settlement services.

- Only the transfer a replenishment asked for (TransferStock under its request id, recorded when it shipped)
  is its shipment. An operator's transfer that cites the replenishment as its reference, before it ships or
  after, is goods changing owner like any transfer: it neither ships nor receives the replenishment.
- Likewise only the expected receipt a replenishment's shipment made (ExpectReceipt under its request id) is
  its own: an operator's receipt at the dealer's shop citing the replenishment stays open when it is received.
- Goods received in inventory directly (ReceiveTransfer by the dealer's shop, not ReceiveReplenishment) stop
  counting as expected at once: dealers cancels the expected receipt when it follows the event, not at its
  recovery loop's next pass (set to an hour here, so it never runs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.protobuf import ts
from onepool_runtime.testing.services import metadata

from tests.support.orders import cny, eventually, uid

pytestmark = pytest.mark.asyncio
LIST_PRICE = 10_000
SILVER_PRICE = 8_500  # a SILVER dealer pays 85% of the list price


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "settlement")
    await stack.start("dealers", recovery_interval_seconds=3600)
    return stack


async def dealer_and_warehouse(services: Any, admin: Any, sku: str, stock: int) -> tuple[dpb.Dealer, str, str]:
    """(a SILVER dealer, its shop, a brand warehouse holding `stock` units of `sku`), the SKU priced."""
    dealers, inventory = services.stub("dealers"), services.stub("inventory")
    warehouse, shop = uid("WH"), uid("DS")
    await inventory.UpsertLocation(
        ipb.UpsertLocationRequest(location=ipb.Location(id=warehouse, name="DC", type=ipb.LOCATION_TYPE_WAREHOUSE)),
        metadata=admin,
    )
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(
            request_id=uid("rcv"), location_id=warehouse, lines=[ipb.StockLine(sku=sku, quantity=stock)]
        ),
        metadata=admin,
    )
    dealer = (
        await dealers.RegisterDealer(
            dpb.RegisterDealerRequest(
                request_id=uid("reg"), name="D", tier=dpb.DEALER_TIER_SILVER, credit_limit=cny(1_000_000)
            ),
            metadata=admin,
        )
    ).dealer
    await dealers.AddDealerLocation(
        dpb.AddDealerLocationRequest(
            dealer_id=dealer.id,
            location=ipb.Location(id=shop, name="Shop", type=ipb.LOCATION_TYPE_DEALER_STORE, ships=True),
        ),
        metadata=admin,
    )
    await dealers.SetWholesalePrice(dpb.SetWholesalePriceRequest(sku=sku, list_price=cny(LIST_PRICE)), metadata=admin)
    return dealer, shop, warehouse


async def place(services: Any, admin: Any, dealer_id: str, warehouse: str, shop: str, sku: str, quantity: int) -> str:
    placed = await services.stub("dealers").PlaceReplenishment(
        dpb.PlaceReplenishmentRequest(
            request_id=uid("po"),
            dealer_id=dealer_id,
            from_location_id=warehouse,
            to_location_id=shop,
            lines=[dpb.ReplenishmentLine(sku=sku, quantity=quantity)],
        ),
        metadata=admin,
    )
    return str(placed.replenishment.id)


async def operators_transfer(
    services: Any, admin: Any, sku: str, quantity: int, source: str, target: str, ref: str
) -> str:
    """An operator moves stock citing the replenishment as the document behind it, and the shop receives it."""
    inventory = services.stub("inventory")
    sent = await inventory.TransferStock(
        ipb.TransferStockRequest(
            request_id=uid("tr"),
            from_location_id=source,
            to_location_id=target,
            lines=[ipb.StockLine(sku=sku, quantity=quantity)],
            reason="topping up the shop",
            reference=ref,
        ),
        metadata=admin,
    )
    await inventory.ReceiveTransfer(ipb.ReceiveTransferRequest(transfer_id=sent.transfer.id), metadata=admin)
    return str(sent.transfer.id)


async def ownership_lines(services: Any, admin: Any, dealer_id: str, reference: str) -> list[spb.JournalLine]:
    reply = await services.stub("settlement").ListEntries(
        spb.ListEntriesRequest(party=f"dealer:{dealer_id}", page_size=500), metadata=admin
    )
    return [ln for ln in reply.entries if ln.rule == "ownership" and ln.reference == reference]


async def replenishment(services: Any, admin: Any, rid: str) -> dpb.Replenishment:
    reply = await services.stub("dealers").GetReplenishment(dpb.GetReplenishmentRequest(id=rid), metadata=admin)
    return reply.replenishment


async def test_a_transfer_citing_a_replenishment_is_not_its_shipment_unless_it_asked_for_it(
    services: Any, admin: Any
) -> None:
    dealers, sku = services.stub("dealers"), uid("TEA")
    dealer, shop, warehouse = await dealer_and_warehouse(services, admin, sku, 10)
    rid = await place(services, admin, dealer.id, warehouse, shop, sku, 2)

    # Before it ships: the same route, the same goods, the replenishment's id as reference; still not its own.
    early = await operators_transfer(services, admin, sku, 2, warehouse, shop, rid)

    async def heard() -> tuple[int, int]:
        got = await replenishment(services, admin, rid)
        return got.status, len(await ownership_lines(services, admin, dealer.id, early))

    status, moved = await eventually(heard, lambda s: s[0] != dpb.REPLENISHMENT_STATUS_PLACED or s[1] > 0)
    assert status == dpb.REPLENISHMENT_STATUS_PLACED, "someone else's transfer shipped the replenishment"
    assert moved == 1  # the dealer owes the brand for the goods as for any transfer into its shop

    shipped = (await dealers.ShipReplenishment(dpb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment
    assert shipped.status == dpb.REPLENISHMENT_STATUS_SHIPPED and shipped.transfer_id not in ("", early)

    # After it shipped: a second transfer citing it does not receive it either.
    late = await operators_transfer(services, admin, sku, 1, warehouse, shop, rid)
    await eventually(lambda: ownership_lines(services, admin, dealer.id, late), lambda lines: len(lines) == 1)
    assert (await replenishment(services, admin, rid)).status == dpb.REPLENISHMENT_STATUS_SHIPPED

    received = await dealers.ReceiveReplenishment(dpb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    assert received.replenishment.status == dpb.REPLENISHMENT_STATUS_RECEIVED
    # Each movement of goods is owed once: 2 + 1 units by transfer, 2 by the replenishment (wholesale).
    settlement = services.stub("settlement")

    async def balance() -> int:
        got = await settlement.GetBalance(spb.GetBalanceRequest(party=f"dealer:{dealer.id}"), metadata=admin)
        return int(got.balance.amount_minor)

    await eventually(balance, lambda b: b == -5 * SILVER_PRICE)
    on_hand = await services.stub("inventory").GetAvailability(
        ipb.GetAvailabilityRequest(skus=[sku], location_ids=[shop]), metadata=admin
    )
    assert on_hand.items[0].on_hand == 5


async def test_goods_received_in_inventory_directly_stop_being_expected_without_waiting_for_the_loop(
    services: Any, admin: Any
) -> None:
    dealers, inventory, sku = services.stub("dealers"), services.stub("inventory"), uid("TEA")
    dealer, shop, warehouse = await dealer_and_warehouse(services, admin, sku, 4)
    rid = await place(services, admin, dealer.id, warehouse, shop, sku, 4)
    shipped = (await dealers.ShipReplenishment(dpb.ShipReplenishmentRequest(id=rid), metadata=admin)).replenishment

    async def at_shop() -> tuple[int, int]:
        reply = await inventory.GetAvailability(
            ipb.GetAvailabilityRequest(skus=[sku], location_ids=[shop]), metadata=admin
        )
        return reply.items[0].on_hand, reply.items[0].expected

    assert await at_shop() == (0, 4)
    await inventory.ReceiveTransfer(
        ipb.ReceiveTransferRequest(transfer_id=shipped.transfer_id), metadata=metadata("dealer", dealer_id=dealer.id)
    )
    await eventually(
        lambda: replenishment(services, admin, rid), lambda r: r.status == dpb.REPLENISHMENT_STATUS_RECEIVED
    )
    # The units are on hand and no longer expected: a few seconds at most, never the loop's hour.
    assert await eventually(at_shop, lambda n: n[1] == 0, within=5.0) == (4, 0)


async def receipts_citing(services: Any, admin: Any, shop: str, rid: str, *, closed: bool = False) -> list[str]:
    """Ids of the shop's expected receipts whose reference is `rid`, in the order inventory lists them."""
    reply = await services.stub("inventory").ListExpectedReceipts(
        ipb.ListExpectedReceiptsRequest(location_id=shop, include_closed=closed, page_size=500), metadata=admin
    )
    return [r.id for r in reply.receipts if r.reference == rid]


async def test_an_operators_receipt_citing_a_replenishment_stays_open_when_the_replenishment_is_received(
    services: Any, admin: Any
) -> None:
    dealers, inventory, sku = services.stub("dealers"), services.stub("inventory"), uid("TEA")
    dealer, shop, warehouse = await dealer_and_warehouse(services, admin, sku, 40)
    # The operator records an advance shipping notice citing the replenishment, with the very same goods, before
    # the replenishment ships. Inventory lists receipts in id order (random ids): a try counts only when the
    # operator's is listed first, ahead of the replenishment's own, as a lookup by reference would find it.
    for _ in range(20):
        rid = await place(services, admin, dealer.id, warehouse, shop, sku, 2)
        operators = await inventory.ExpectReceipt(
            ipb.ExpectReceiptRequest(
                request_id=uid("asn"),
                location_id=shop,
                lines=[ipb.StockLine(sku=sku, quantity=2)],
                expected_at=ts(datetime.now(UTC) + timedelta(days=2)),
                reference=rid,
            ),
            metadata=admin,
        )
        await dealers.ShipReplenishment(dpb.ShipReplenishmentRequest(id=rid), metadata=admin)
        listed = await receipts_citing(services, admin, shop, rid)
        assert len(listed) == 2
        if listed[0] == operators.receipt.id:
            break
    else:
        pytest.fail("the operator's receipt was never listed first")
    (own,) = [i for i in listed if i != operators.receipt.id]

    await dealers.ReceiveReplenishment(dpb.ReceiveReplenishmentRequest(id=rid), metadata=admin)
    assert await receipts_citing(services, admin, shop, rid) == [operators.receipt.id]
    got = await inventory.GetExpectedReceipt(ipb.GetExpectedReceiptRequest(receipt_id=own), metadata=admin)
    assert got.receipt.status == ipb.EXPECTED_RECEIPT_STATUS_CANCELLED
