"""Presale deposit terms are fixed when the deposit is paid (docs/presale.md): a channel's deposit rule changed
after a customer paid a deposit applies to later deposits, not to that one. Inventory, orders and channels on
real PostgreSQL and NATS, everything through gRPC."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_orders.service_layer.balances import BalanceSweeper

from tests.support.orders import World, cny, eventually, uid
from tests.support.presale import availability, day, lines_of, presale_channel, presale_world, ts

pytestmark = pytest.mark.asyncio
PRICE = 10_000


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    return await presale_world(stack, admin, balance_sweep_interval_seconds=0.2)


async def pay(world: World, order_id: str, kind: int, amount: int) -> opb.Order:
    req = opb.PayOrderRequest(order_id=order_id, payment_ref=uid("PAY"), amount=cny(amount), kind=kind)
    return (await world.orders.PayOrder(req, metadata=world.admin)).order


async def test_a_deposit_paid_under_refund_terms_is_refunded_though_the_channel_switched_to_keep(world: World) -> None:
    sku = uid("PRE")
    wh = await world.location("WH", region="CN-SH")
    await world.stock(wh, {sku: 10})
    refund_terms = cpb.PresaleTerms(balance_due_seconds=6, deposit_rule=cpb.DEPOSIT_RULE_REFUND)
    channel = await presale_channel(world, wh, sku, 0, PRICE, presale=refund_terms)

    order = await world.place(channel, {sku: (2, PRICE)})
    deposited = await pay(world, order.id, opb.PAYMENT_KIND_DEPOSIT, 5_000)
    assert deposited.status == opb.ORDER_STATUS_DEPOSIT_PAID  # the customer paid under REFUND terms

    # The operator changes the channel's terms for future campaigns (also raising the minimum deposit, which
    # lets us see when orders has applied the change).
    keep_terms = cpb.PresaleTerms(balance_due_seconds=6, min_deposit_bps=5000, deposit_rule=cpb.DEPOSIT_RULE_KEEP)
    await world.channels.UpdateChannel(  # type: ignore[attr-defined]
        cpb.UpdateChannelRequest(
            channel=cpb.Channel(id=channel, presale=keep_terms), update_mask=FieldMask(paths=["presale"])
        ),
        metadata=world.admin,
    )

    async def probe_refused() -> bool:
        # A fresh probe each time: one whose 1-fen deposit was taken under the old terms is DEPOSIT_PAID, and
        # paying it again would be refused for its state, never for its amount.
        probe = await world.place(channel, {sku: (1, PRICE)})
        try:
            await pay(world, probe.id, opb.PAYMENT_KIND_DEPOSIT, 1)
        except grpc.aio.AioRpcError as e:
            return e.code() == grpc.StatusCode.INVALID_ARGUMENT
        await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=probe.id, reason="probe"), metadata=world.admin)
        return False

    await eventually(probe_refused, lambda ok: ok)

    lapsed = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED, within=20)
    # The terms the customer paid under apply: the deposit is refunded, nothing is kept.
    assert (lapsed.refunded.amount_minor, lapsed.deposit_kept.amount_minor) == (5_000, 0)


async def test_a_keeping_channel_refunds_the_deposit_when_the_seller_cancelled_the_goods_it_was_paid_for(
    world: World,
) -> None:
    """定金不退 binds a customer who walks away, not a seller who failed: the receipt the deposit's units counted
    on is cancelled, the customer does not pay the balance, and the deposit is refunded (it was kept before)."""
    sku = uid("PRE")
    wh = await world.location("WH", region="CN-SH")
    keep_terms = cpb.PresaleTerms(balance_due_seconds=4, deposit_rule=cpb.DEPOSIT_RULE_KEEP)
    channel = await presale_channel(world, wh, sku, 10, PRICE, presale=keep_terms)
    expected = await world.inventory.ExpectReceipt(
        ipb.ExpectReceiptRequest(
            request_id=uid("exp"), location_id=wh, lines=[ipb.StockLine(sku=sku, quantity=5)], expected_at=ts(day(3))
        ),
        metadata=world.admin,
    )
    await eventually(lambda: availability(world, sku, channel), lambda a: a.presale_sellable == 5)
    order = await world.place(channel, {sku: (2, PRICE)})
    assert lines_of(order)[sku][0] == 2  # both units wait for the receipt
    deposited = await pay(world, order.id, opb.PAYMENT_KIND_DEPOSIT, 5_000)
    assert deposited.status == opb.ORDER_STATUS_DEPOSIT_PAID

    await world.inventory.CancelExpectedReceipt(
        ipb.CancelExpectedReceiptRequest(receipt_id=expected.receipt.id, reason="supplier failed"),
        metadata=world.admin,
    )
    await eventually(lambda: world.get(order.id), lambda o: lines_of(o)[sku] == (2, None))

    lapsed = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED, within=20)
    assert (lapsed.refunded.amount_minor, lapsed.deposit_kept.amount_minor) == (5_000, 0)
    assert "refunded" in lapsed.status_reason, lapsed.status_reason


async def test_a_keeping_channel_refunds_the_deposit_when_the_goods_promised_before_the_deadline_never_came(
    world: World,
) -> None:
    """The receipt the deposit's unit counts on is due 2 s from now, the balance 6 s after the deposit; the
    goods never come and nobody reschedules the receipt, so no news moves the line's date. The customer could
    not have had the goods by the deadline: the seller failed, and the KEEP (定金不退) deposit is refunded (it
    was kept)."""
    sku = uid("PRE")
    wh = await world.location("WH", region="CN-SH")
    keep_terms = cpb.PresaleTerms(balance_due_seconds=6, min_deposit_bps=1000, deposit_rule=cpb.DEPOSIT_RULE_KEEP)
    channel = await presale_channel(world, wh, sku, 10, PRICE, presale=keep_terms)
    promised = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    await world.inventory.ExpectReceipt(
        ipb.ExpectReceiptRequest(
            request_id=uid("asn"), location_id=wh, lines=[ipb.StockLine(sku=sku, quantity=5)], expected_at=ts(promised)
        ),
        metadata=world.admin,
    )
    await eventually(lambda: availability(world, sku, channel), lambda a: a.presale_sellable == 5)
    order = await world.place(channel, {sku: (1, PRICE)})
    assert lines_of(order)[sku] == (1, promised)
    deposited = await pay(world, order.id, opb.PAYMENT_KIND_DEPOSIT, 2_000)
    assert promised < deposited.balance_due_at.ToDatetime(tzinfo=UTC)

    lapsed = await eventually(lambda: world.get(order.id), lambda o: o.status == opb.ORDER_STATUS_CANCELLED, within=20)
    assert lines_of(lapsed)[sku] == (1, promised)  # still waiting, on the date that passed
    assert (lapsed.refunded.amount_minor, lapsed.deposit_kept.amount_minor) == (2_000, 0), lapsed.status_reason
    assert "had not come" in lapsed.status_reason, lapsed.status_reason
    # Its place in the line and its presale allowance went back.
    await eventually(lambda: availability(world, sku, channel), lambda a: a.presale_sellable == 5)


async def test_a_cancellation_after_the_balance_deadline_lapses_the_order_as_the_sweeper_would(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline passed and the sweeper has not run yet (held back here): a CancelOrder then is the lapse it
    would have made, so a KEEP (定金不退) deposit is kept; what the seller keeps does not depend on who comes
    first. Before the deadline the same cancellation refunds it (docs/presale.md)."""

    async def not_yet(self: BalanceSweeper) -> int:
        return 0

    monkeypatch.setattr(BalanceSweeper, "run_once", not_yet)
    sku = uid("PRE")
    wh = await world.location("WH", region="CN-SH")
    keep_terms = cpb.PresaleTerms(balance_due_seconds=1, deposit_rule=cpb.DEPOSIT_RULE_KEEP)
    channel = await presale_channel(world, wh, sku, 0, PRICE, presale=keep_terms)
    await world.stock(wh, {sku: 10})
    order = await world.place(channel, {sku: (3, PRICE)})
    deposited = await pay(world, order.id, opb.PAYMENT_KIND_DEPOSIT, 6_000)
    assert deposited.status == opb.ORDER_STATUS_DEPOSIT_PAID
    await asyncio.sleep(1.5)  # past balance_due_at

    with pytest.raises(grpc.aio.AioRpcError) as late:
        await pay(world, order.id, opb.PAYMENT_KIND_BALANCE, 24_000)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # BALANCE_OVERDUE: it lapsed
    cancelled = (
        await world.orders.CancelOrder(opb.CancelOrderRequest(order_id=order.id, reason="buyer"), metadata=world.admin)
    ).order

    assert cancelled.status == opb.ORDER_STATUS_CANCELLED
    assert (cancelled.refunded.amount_minor, cancelled.deposit_kept.amount_minor) == (0, 6_000)
    assert cancelled.status_reason.endswith("deposit kept"), cancelled.status_reason
    await eventually(lambda: world.reserved(sku), lambda n: n == 0)  # its units went back to the pool
