"""A payout holds back a party's income from orders not final (docs/settlement.md "Payouts hold back income of
orders not final"): settlement pays it out once an orders event shows the order final (`OrderFacts.is_final`
as orders states it: cancelled, wholly refunded, or its return window closed; goods that left are not
enough), as dealers counts it towards credit only then. The fake events here state `is_final` as orders does.

Before, a dealer owing 8 000 was paid out 6 000 of its own channel's open sale; the sale was then cancelled
and the dealer owed 14 000 with the 6 000 already in cash (audit D)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import facts_pb2
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_cli.services import SERVICES
from onepool_runtime.db import create_engine
from onepool_runtime.migrations import downgrade_sync, upgrade
from onepool_runtime.testing.services import error_info
from onepool_settlement.adapters.repository import SettlementRepository
from sqlalchemy import text

from tests.settlement.conftest import Bus

pytestmark = pytest.mark.asyncio


def now() -> Timestamp:
    out = Timestamp()
    out.FromDatetime(datetime.now(UTC))
    return out


async def balance(settlement: Any, md: Any, party: str) -> int:
    return int((await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=md)).balance.amount_minor)


async def payout(bus: Bus, settlement: Any, md: Any, party: str) -> pb.Payout | grpc.aio.AioRpcError:
    """A payout of everything owed up to now: the payout, or the refusal."""
    request = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=party, period_end=now())
    try:
        return (await settlement.CreatePayout(request, metadata=md)).payout
    except grpc.aio.AioRpcError as exc:
        return exc


def nothing_to_pay(result: pb.Payout | grpc.aio.AioRpcError) -> dict[str, str]:
    """The NOTHING_TO_PAY refusal's metadata (fails on anything else)."""
    assert isinstance(result, grpc.aio.AioRpcError), f"paid {result}"
    assert result.code() == grpc.StatusCode.FAILED_PRECONDITION, result.details()
    info = error_info(result)
    assert info.reason == "NOTHING_TO_PAY"
    return dict(info.metadata)


async def dealer_owing(bus: Bus, settlement: Any, md: Any, owed: int) -> tuple[str, str]:
    """A dealer with a channel of its own, owing the brand `owed` for stock: (dealer id, its channel id)."""
    dealer, channel = bus.uid("D"), bus.uid("DCH")
    await bus.channel_created(bus.channel(channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer))
    await bus.replenishment_received(bus.uid("RP"), dealer, owed)
    await bus.eventually(lambda: balance(settlement, md, f"dealer:{dealer}"), lambda b: b == -owed)
    return dealer, channel


def own_sale(
    bus: Bus, order_id: str, channel: str, dealer: str, *, shipped: bool = False, final: bool = False
) -> facts_pb2.OrderFacts:
    """The dealer's 2 x 10 000 sale on its own channel, shipped from its shop: 14 000 is the dealer's share.
    `final` as orders states it: once the return window closed (shipped is not enough)."""
    shop = bus.fulfillment("F1", f"SHOP-{dealer}", [("TEA", 2)], owner_dealer_id=dealer, shipped=shipped)
    return bus.order(order_id, channel, [("TEA", 2, 10_000)], fulfillments=[shop], is_final=final)


async def window_closed(bus: Bus, order: facts_pb2.OrderFacts) -> None:
    """orders.order.return_window_closed: the order's facts just after its return window closed (final)."""
    await bus.publish("orders.order.return_window_closed", order_events.OrderReturnWindowClosed(facts=order))


async def test_a_payout_holds_back_an_open_sale_and_pays_it_once_its_return_window_closed(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """The audit's dealer: owes 8 000, its own sale of 20 000 is paid (+14 000: ledger +6 000). While the sale
    is not final nothing is paid (was 6 000), and the refusal says 14 000 is held, also once its goods left (a
    return could still refund it); once its return window closed, the payout pays the 6 000 and holds
    nothing."""
    dealer, channel = await dealer_owing(bus, settlement, admin, 8_000)
    party, order_id = f"dealer:{dealer}", bus.uid("O")
    await bus.order_paid(own_sale(bus, order_id, channel, dealer))
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 6_000)

    refused = nothing_to_pay(await payout(bus, settlement, admin, party))
    assert (refused["held"], refused["owed"]) == ("14000", "-8000")
    assert await balance(settlement, admin, party) == 6_000

    await bus.order_shipped(own_sale(bus, order_id, channel, dealer, shipped=True), "F1")
    await window_closed(bus, own_sale(bus, order_id, channel, dealer, shipped=True, final=True))
    paid = await bus.eventually(
        lambda: payout(bus, settlement, admin, party), lambda r: isinstance(r, pb.Payout), within=15
    )
    assert isinstance(paid, pb.Payout)
    assert (paid.amount.amount_minor, paid.held_back.amount_minor) == (6_000, 0)
    assert await balance(settlement, admin, party) == 0


async def test_a_sale_shipped_by_an_orders_build_that_did_not_state_finality_is_paid_once_the_goods_left(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Audit U: an OrderShipped written before orders stated `is_final` (facts_version 0, the fact reads false)
    of a paid order whose goods all left. Read as false, the dealer's 14 000 stayed held until someone completed
    the order (POS pickups never are); orders' rule over the event's facts says final, as orders meant it."""
    dealer, channel = await dealer_owing(bus, settlement, admin, 8_000)
    party, order_id = f"dealer:{dealer}", bus.uid("O")
    await bus.order_paid(own_sale(bus, order_id, channel, dealer))
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 6_000)

    shipped = own_sale(bus, order_id, channel, dealer, shipped=True)
    shipped.ClearField("is_final")
    shipped.ClearField("facts_version")
    await bus.order_shipped(shipped, "F1")
    paid = await bus.eventually(
        lambda: payout(bus, settlement, admin, party), lambda r: isinstance(r, pb.Payout), within=15
    )
    assert isinstance(paid, pb.Payout)
    assert (paid.amount.amount_minor, paid.held_back.amount_minor) == (6_000, 0)


async def test_a_cancelled_sales_share_is_never_paid_out(bus: Bus, settlement: Any, admin: Any) -> None:
    """The same sale cancelled while open: the payout before was refused, the cancellation takes the 14 000
    back, and the dealer owes its 8 000 as before, having been paid nothing."""
    dealer, channel = await dealer_owing(bus, settlement, admin, 8_000)
    party, order_id = f"dealer:{dealer}", bus.uid("O")
    sale = own_sale(bus, order_id, channel, dealer)
    await bus.order_paid(sale)
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 6_000)
    assert nothing_to_pay(await payout(bus, settlement, admin, party))["held"] == "14000"

    cancelled = own_sale(bus, order_id, channel, dealer)
    cancelled.is_open = False
    cancelled.is_final = True  # as orders states a cancelled order (settlement no longer infers it from is_open)
    cancelled.refunded.CopyFrom(cancelled.paid)
    cancelled.fulfillments[0].is_cancelled = True
    await bus.order_cancelled(cancelled)
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == -8_000)
    assert nothing_to_pay(await payout(bus, settlement, admin, party)) | {"party": party} == {
        "party": party,
        "owed": "-8000",
        "held": "0",
        "currency": "CNY",
    }
    listed = await settlement.ListPayouts(pb.ListPayoutsRequest(party=party), metadata=admin)
    assert list(listed.payouts) == []


async def test_a_payout_pays_income_of_final_orders_and_holds_the_rest(bus: Bus, settlement: Any, admin: Any) -> None:
    """A dealer owed a 1 000 fulfillment fee of a brand sale whose return window closed (final), and 14 000 of its own
    open sale: paid 1 000, 14 000 held back (and kept with the payout). An order final first and shown open by
    a later (older, redelivered) event stays final: its share is paid by the next payout."""
    dealer, channel = bus.uid("D"), bus.uid("DCH")
    party = f"dealer:{dealer}"
    await bus.channel_created(bus.channel(channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer))
    store = bus.uid("WEB")
    await bus.channel_created(bus.channel(store, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    shipped = bus.fulfillment("F1", f"SHOP-{dealer}", [("TEA", 2)], owner_dealer_id=dealer, shipped=True)
    brand_sale = bus.order(bus.uid("O"), store, [("TEA", 2, 10_000)], fulfillments=[shipped], is_final=True)
    await bus.order_shipped(brand_sale, "F1")
    open_sale = bus.uid("O")
    await bus.order_paid(own_sale(bus, open_sale, channel, dealer))
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 15_000)

    first = await payout(bus, settlement, admin, party)
    assert isinstance(first, pb.Payout), first
    assert (first.amount.amount_minor, first.held_back.amount_minor) == (1_000, 14_000)
    got = await settlement.GetPayout(pb.GetPayoutRequest(id=first.id), metadata=admin)
    assert got.payout == first

    # Its return window closed (final), then a stale paid event shows it open again. The consumer reads the
    # stream in order: once a later sale is booked, both were read.
    await window_closed(bus, own_sale(bus, open_sale, channel, dealer, shipped=True, final=True))
    await bus.order_paid(own_sale(bus, open_sale, channel, dealer))
    marker, marker_dealer = bus.uid("O"), bus.uid("D")
    marker_channel = bus.uid("DCH")
    await bus.channel_created(
        bus.channel(marker_channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=marker_dealer)
    )
    await bus.order_paid(own_sale(bus, marker, marker_channel, marker_dealer))
    await bus.eventually(lambda: balance(settlement, admin, f"dealer:{marker_dealer}"), lambda b: b == 14_000)

    second = await payout(bus, settlement, admin, party)
    assert isinstance(second, pb.Payout), second
    assert (second.amount.amount_minor, second.held_back.amount_minor) == (14_000, 0)
    assert await balance(settlement, admin, party) == 0


async def test_a_sale_committed_while_a_payout_reads_is_held_back_too(
    bus: Bus, settlement: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payout reads the party's balance now and what of it is held in one statement. Before, it read what
    is held first and the balances after it (READ COMMITTED: each statement sees what has committed by then):
    an open sale committed in between counted in the balance, not in what is held, and was paid out (14 000,
    held_back 0; once that sale was cancelled the dealer owed 14 000 with the cash gone). The payout here is
    paused after its first read while that sale commits (audit Z)."""
    dealer, channel = bus.uid("D"), bus.uid("DCH")
    party = f"dealer:{dealer}"
    await bus.channel_created(bus.channel(channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer))
    final_sale = own_sale(bus, bus.uid("O"), channel, dealer, shipped=True, final=True)  # window closed
    await bus.order_shipped(final_sale, "F1")  # final: +14 000
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 14_000)
    period_end = now()
    await bus.replenishment_received(bus.uid("RP"), dealer, 14_000)  # after period_end: owed nothing on balance
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 0)

    first_read, go = asyncio.Event(), asyncio.Event()

    def pausing(name: str) -> None:
        read = getattr(SettlementRepository, name, None)
        if read is None:  # the reads of the payout as written before or after the fix
            return

        async def paused(self: Any, p: str, currency: str) -> Any:
            value = await read(self, p, currency)
            if p == party and not first_read.is_set():
                first_read.set()
                await go.wait()
            return value

        monkeypatch.setattr(SettlementRepository, name, paused)

    for name in ("held_income", "balance_and_held"):
        pausing(name)
    request = pb.CreatePayoutRequest(request_id=bus.uid("payout"), party=party, period_end=period_end)
    call = asyncio.ensure_future(settlement.CreatePayout(request, metadata=admin))
    await first_read.wait()
    await bus.order_paid(own_sale(bus, bus.uid("O"), channel, dealer))  # open: +14 000, to be held back
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == 14_000)
    go.set()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call
    assert error_info(refused.value).reason == "NOTHING_TO_PAY"


async def test_orders_settled_before_the_migration_are_final(database_url: str) -> None:
    """Migration 0010: an order settled before it is paid out as before (final_at is the migration's time:
    nothing says whether it is still open); an order settled after starts not final."""
    (spec,) = [s for s in SERVICES if s.name == "settlement"]
    schema = f"holds_{uuid.uuid4().hex[:8]}"
    row = (
        "INSERT INTO order_settlements (order_id, currency, channel_id, seller, fee_rate_bps, brand_share_bps, "
        "cancelled) VALUES (:id, 'CNY', 'WEB', 'brand', 0, 0, false)"
    )
    engine = create_engine(database_url, schema)
    try:
        await upgrade(spec.migrations, database_url, schema, "0009")
        async with engine.begin() as conn:
            await conn.execute(text(row), {"id": "BEFORE"})
        await upgrade(spec.migrations, database_url, schema)
        async with engine.begin() as conn:
            await conn.execute(text(row), {"id": "AFTER"})
            final = dict(
                (await conn.execute(text("SELECT order_id, final_at IS NOT NULL FROM order_settlements"))).all()
            )
            held = (await conn.execute(text("SELECT held FROM payouts LIMIT 1"))).all()
        assert final == {"BEFORE": True, "AFTER": False}
        assert held == []
        # Down and up again: every order there then counts as final (settled before the migration ran).
        await asyncio.to_thread(downgrade_sync, spec.migrations, database_url, schema, "0009")
        await upgrade(spec.migrations, database_url, schema)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        await engine.dispose()
