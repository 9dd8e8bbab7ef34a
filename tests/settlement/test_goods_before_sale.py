"""Goods a dealer's shop gave up for a sale are held back from payouts until settlement has seen the sale final,
whichever of the two events it reads first (docs/settlement.md "Payouts hold back income of orders not final").

Settlement reads dealers' ownership moves and orders' sales on separate consumers. A brand web sale of
2 x 6 000 shipped from dealer D's shop (its return window open) moves the goods to the brand: D +8 000. Read
before the sale, the move's order had no settlement row yet, and a payout took "no row" for a lapsed presale
(final): CreatePayout(dealer:D) paid 8 000 with held_back 0, and once the sale was read the brand had paid out
goods a return could still bring back (audit F38). The same held for ever for a sale that was dead-lettered.
Such an order is now noted as awaiting its sale (orders_awaiting_sale) and held like an order not final; a kept
presale deposit (no sale: the order lapsed) is still paid out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.common.v1 import common_pb2
from onepool.dealers.v1 import dealers_pb2
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.testing.services import error_info

from tests.settlement.conftest import Bus

pytestmark = pytest.mark.asyncio


def now() -> Timestamp:
    out = Timestamp()
    out.FromDatetime(datetime.now(UTC))
    return out


async def balance(settlement: Any, md: Any, party: str) -> int:
    return int((await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=md)).balance.amount_minor)


async def payout(bus: Bus, settlement: Any, md: Any, party: str) -> pb.Payout | grpc.aio.AioRpcError:
    request = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=party, period_end=now())
    try:
        return (await settlement.CreatePayout(request, metadata=md)).payout
    except grpc.aio.AioRpcError as exc:
        return exc


def held(result: pb.Payout | grpc.aio.AioRpcError) -> str:
    """What the NOTHING_TO_PAY refusal says is held (fails on a payout or another refusal)."""
    assert isinstance(result, grpc.aio.AioRpcError), f"paid {result}"
    info = error_info(result)
    assert (result.code(), info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOTHING_TO_PAY"), result.details()
    return info.metadata["held"]


async def web_store(bus: Bus) -> str:
    web = bus.uid("WEB")
    await bus.channel_created(bus.channel(web, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    return web


def shipped_from_shop(bus: Bus, order_id: str, web: str, dealer: str, *, final: bool) -> facts_pb2.OrderFacts:
    """The brand's 2 x 6 000 web sale shipped from D's shop, as orders states it: not final while its return
    window is open, final once orders.order.return_window_closed says it closed."""
    f1 = bus.fulfillment("F1", f"SHOP-{dealer}", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    return bus.order(order_id, web, [("TEA", 2, 6_000)], fulfillments=[f1], is_final=final)


async def goods_moved(bus: Bus, dealer: str, order_id: str) -> None:
    """Dealers: D's shop gave up 2 x 4 000 (wholesale) of goods to the brand for the order."""
    await bus.ownership_moved(
        f"fulfillment:{order_id}:F1",
        dealers_pb2.OWNERSHIP_MOVE_REASON_FULFILLMENT,
        giver=dealer,
        taker="",
        lines=[("TEA", 2, 4_000)],
        order_id=order_id,
        location_id=f"SHOP-{dealer}",
    )


async def window_closed(bus: Bus, order: facts_pb2.OrderFacts) -> None:
    await bus.publish("orders.order.return_window_closed", order_events.OrderReturnWindowClosed(facts=order))


@pytest.mark.parametrize("move_first", [True, False], ids=["move_first", "sale_first"])
async def test_goods_given_up_for_an_open_sale_are_held_whichever_event_is_read_first(
    bus: Bus, settlement: Any, admin: Any, move_first: bool
) -> None:
    """Before: with the move read first the payout paid 8 000, held_back 0. Now nothing is paid while the order
    is open (8 000 held, then 8 600 with the fulfillment fee), and everything once its return window closed, as
    the sale read first always did."""
    dealer, web, order_id = bus.uid("D"), await web_store(bus), bus.uid("O")
    party = f"dealer:{dealer}"
    open_sale = shipped_from_shop(bus, order_id, web, dealer, final=False)

    async def sale() -> None:
        await bus.order_paid(open_sale)
        await bus.order_shipped(open_sale, "F1")

    first, second = (
        (goods_moved(bus, dealer, order_id), sale()) if move_first else (sale(), goods_moved(bus, dealer, order_id))
    )
    await first
    expected = 8_000 if move_first else 600  # the goods, or the fulfillment fee of the shipment
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == expected)
    assert held(await payout(bus, settlement, admin, party)) == str(expected)

    await second
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 8_600)
    assert held(await payout(bus, settlement, admin, party)) == "8600"

    await window_closed(bus, shipped_from_shop(bus, order_id, web, dealer, final=True))
    paid = await bus.eventually(
        lambda: payout(bus, settlement, admin, party), lambda r: isinstance(r, pb.Payout), within=15
    )
    assert isinstance(paid, pb.Payout)
    assert (paid.amount.amount_minor, paid.held_back.amount_minor) == (8_600, 0)
    assert await balance(settlement, admin, party) == 0


async def test_goods_given_up_for_a_sale_that_was_dead_lettered_stay_held(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """The sale's paid event can never be booked (a negative unit price: dead-lettered at once). The goods' 8 000
    are not paid out on the strength of a sale settlement never saw final (before: paid, held_back 0)."""
    dealer, web, order_id = bus.uid("D"), await web_store(bus), bus.uid("O")
    party = f"dealer:{dealer}"
    await goods_moved(bus, dealer, order_id)
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 8_000)

    broken = shipped_from_shop(bus, order_id, web, dealer, final=False)
    broken.lines[0].unit_price.amount_minor = -6_000
    await bus.order_paid(broken)
    # A later sale on the same stream booked: the broken one was read (and dead-lettered) before it.
    marker_dealer = bus.uid("D")
    marker = shipped_from_shop(bus, bus.uid("O"), web, marker_dealer, final=False)
    await bus.order_shipped(marker, "F1")
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{marker_dealer}"), lambda b: b == 600)

    assert held(await payout(bus, settlement, admin, party)) == "8000"
    assert await balance(settlement, admin, party) == 8_000


async def test_a_kept_presale_deposit_is_paid_out_without_a_sale(bus: Bus, settlement: Any, admin: Any) -> None:
    """A lapsed presale on a dealer's own channel whose deposit the dealer keeps: no sale is ever booked, and
    the kept 5 000 is final (the one income on an order without a sale that a payout pays)."""
    dealer, channel = bus.uid("D"), bus.uid("DCH")
    party = f"dealer:{dealer}"
    await bus.channel_created(bus.channel(channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer))
    lapsed = bus.order(bus.uid("O"), channel, [("TEA", 2, 10_000)], is_final=True)
    lapsed.paid.CopyFrom(common_pb2.Money(currency="CNY", amount_minor=5_000))
    lapsed.deposit.CopyFrom(common_pb2.Money(currency="CNY", amount_minor=5_000))
    lapsed.deposit_kept.CopyFrom(common_pb2.Money(currency="CNY", amount_minor=5_000))
    lapsed.is_paid = False
    lapsed.is_open = False
    await bus.order_cancelled(lapsed)
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 5_000)

    paid = await payout(bus, settlement, admin, party)
    assert isinstance(paid, pb.Payout), paid
    assert (paid.amount.amount_minor, paid.held_back.amount_minor) == (5_000, 0)


def free_order(bus: Bus, order_id: str, web: str, dealer: str, *, final: bool) -> facts_pb2.OrderFacts:
    """The same sale given away (a 100% discount): paid, of total 0. Settlement books no sale of nothing."""
    order = shipped_from_shop(bus, order_id, web, dealer, final=final)
    for line in order.lines:
        line.unit_price.amount_minor = line.line_total.amount_minor = 0
    order.total.amount_minor = order.paid.amount_minor = 0
    return order


async def orders_read(bus: Bus, settlement: Any, admin: Any, web: str) -> None:
    """Wait until settlement has read the orders events published so far: a later sale's fee on the same stream."""
    dealer = bus.uid("D")
    await bus.order_shipped(shipped_from_shop(bus, bus.uid("O"), web, dealer, final=False), "F1")
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{dealer}"), lambda b: b == 600)


@pytest.mark.parametrize("move_first", [True, False], ids=["move_first", "move_after_window_closed"])
async def test_goods_given_up_for_a_free_order_are_paid_once_its_return_window_closed(
    bus: Bus, settlement: Any, admin: Any, move_first: bool
) -> None:
    """A paid order of total 0 never has a sale booked, so nothing cleared its note as awaiting one: before, the
    8 000 of goods D gave up for it stayed held for ever, return window closed or not. Now they are held while
    its window is open, and paid once settlement read it final, whichever it read first."""
    dealer, web, order_id = bus.uid("D"), await web_store(bus), bus.uid("O")
    party = f"dealer:{dealer}"
    if move_first:
        await goods_moved(bus, dealer, order_id)
        await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 8_000)
        await bus.order_paid(free_order(bus, order_id, web, dealer, final=False))
        await bus.order_shipped(free_order(bus, order_id, web, dealer, final=False), "F1")
        await orders_read(bus, settlement, admin, web)
        assert held(await payout(bus, settlement, admin, party)) == "8000"
        await window_closed(bus, free_order(bus, order_id, web, dealer, final=True))
    else:
        await bus.order_paid(free_order(bus, order_id, web, dealer, final=False))
        await window_closed(bus, free_order(bus, order_id, web, dealer, final=True))
        await orders_read(bus, settlement, admin, web)
        await goods_moved(bus, dealer, order_id)
        await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 8_000)

    paid = await bus.eventually(
        lambda: payout(bus, settlement, admin, party), lambda r: isinstance(r, pb.Payout), within=15
    )
    assert isinstance(paid, pb.Payout)
    assert (paid.amount.amount_minor, paid.held_back.amount_minor) == (8_000, 0)
