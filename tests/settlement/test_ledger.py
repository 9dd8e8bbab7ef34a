"""Settlement through its gRPC API, fed by real JetStream events: sales are split, fees paid, returns and
cancellations reversed, replenishments owed, duplicates posted once, statements add up and the ledger sums
to zero."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.settlement.v1 import events_pb2 as ev
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import plain_url

pytestmark = pytest.mark.asyncio


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


async def all_entries(settlement: Any, md: Any, **filters: Any) -> list[pb.JournalLine]:
    lines: list[pb.JournalLine] = []
    token = ""
    while True:
        request = pb.ListEntriesRequest(page_size=7, page_token=token, **filters)
        page = await settlement.ListEntries(request, metadata=md)
        lines.extend(page.entries)
        token = page.next_page_token
        if not token:
            return lines


def by_party(lines: list[pb.JournalLine]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        out[line.party] += line.amount.amount_minor
    return {k: v for k, v in out.items() if v}


def by_entry(lines: list[pb.JournalLine]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for line in lines:
        out[line.entry_id] += line.amount.amount_minor
    return dict(out)


async def balance(settlement: Any, md: Any, party: str) -> int:
    response = await settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=md)
    return int(response.balance.amount_minor)


async def order_settled(bus: Any, settlement: Any, md: Any, order_id: str, rules: set[str]) -> list[pb.JournalLine]:
    """Wait until the order's entries include every rule named."""
    return await bus.eventually(
        lambda: all_entries(settlement, md, order_id=order_id), lambda ls: rules <= {ln.rule for ln in ls}
    )


async def test_a_marketplace_sale_pays_the_commission_to_the_channel_and_the_rest_to_the_brand(
    bus: Any, settlement: Any, admin: Any
) -> None:
    tmall, order_id = bus.uid("TMALL"), bus.uid("O")
    await bus.channel_created(bus.channel(tmall, 500))
    await bus.order_paid(bus.order(order_id, tmall, [("A", 2, 3_333), ("B", 1, 1)]))  # 6 667 fen

    lines = await order_settled(bus, settlement, admin, order_id, {"sale"})
    assert by_party(lines) == {"clearing": -6_667, f"channel:{tmall}": 333, "brand": 6_334}
    assert all(total == 0 for total in by_entry(lines).values())
    assert await balance(settlement, admin, f"channel:{tmall}") == 333
    assert {ln.source_subject for ln in lines} == {"orders.order.paid"}
    posted = await bus.find_published("settlement.entry.posted", ev.EntryPosted, lambda e: e.order_id == order_id)
    assert posted.rule == "sale" and sum(ln.amount.amount_minor for ln in posted.lines) == 0


async def test_the_same_event_delivered_twice_or_republished_posts_once(bus: Any, settlement: Any, admin: Any) -> None:
    web, order_id, later = bus.uid("WEB"), bus.uid("O"), bus.uid("O")
    await bus.channel_created(bus.channel(web, 0, type_=channels_pb2.CHANNEL_TYPE_ONLINE_STORE))
    paid = bus.order(order_id, web, [("A", 1, 10_000)])
    event_id = await bus.order_paid(paid)
    await bus.order_paid(paid, msg_id=event_id)  # same Nats-Msg-Id: JetStream drops it
    duplicate = bus.order(order_id, web, [("A", 1, 10_000)])
    await bus.order_paid(duplicate, header=False)  # no Nats-Msg-Id: the consumer dedupes by meta.event_id
    await bus.order_paid(duplicate, header=False)
    await bus.order_paid(bus.order(order_id, web, [("A", 1, 10_000)]))  # a new event for the same payment
    # Events are applied in stream order: once a later order is settled, the duplicates were seen.
    await bus.order_paid(bus.order(later, web, [("A", 1, 1)]))
    await order_settled(bus, settlement, admin, later, {"sale"})

    lines = await all_entries(settlement, admin, order_id=order_id)
    assert len({ln.entry_id for ln in lines}) == 1
    assert by_party(lines) == {"clearing": -10_000, "brand": 10_000}


async def test_a_dealer_shop_that_ships_earns_its_fee_and_a_return_reverses_every_part_in_proportion(
    bus: Any, settlement: Any, admin: Any
) -> None:
    douyin, order_id, shop_owner = bus.uid("DOUYIN"), bus.uid("O"), bus.uid("D")
    dealer = f"dealer:{shop_owner}"
    await bus.channel_created(bus.channel(douyin, 1000, type_=channels_pb2.CHANNEL_TYPE_SOCIAL_COMMERCE))
    shop = bus.fulfillment("F1", "SHOP-9", [("A", 4)], owner_dealer_id=shop_owner)
    order = bus.order(order_id, douyin, [("A", 4, 5_000)], fulfillments=[shop])  # 20 000 fen
    await bus.order_paid(order)
    order.fulfillments[0].has_left = True
    await bus.order_shipped(order, "F1")

    lines = await order_settled(bus, settlement, admin, order_id, {"sale", "fulfilment_fee"})
    # channel 10% = 2 000; the shop's dealer 5% of the 20 000 it shipped = 1 000, paid by the brand
    assert by_party(lines) == {"clearing": -20_000, f"channel:{douyin}": 2_000, dealer: 1_000, "brand": 17_000}

    order.refunded.CopyFrom(order.total)
    order.refunded.amount_minor = 5_000
    await bus.order_returned(order, bus.uid("R"), 5_000)  # a quarter
    lines = await order_settled(bus, settlement, admin, order_id, {"return"})
    assert by_party(lines) == {"clearing": -15_000, f"channel:{douyin}": 1_500, dealer: 750, "brand": 12_750}
    assert all(total == 0 for total in by_entry(lines).values())
    assert await balance(settlement, admin, dealer) == 750


async def test_a_dealer_channel_sale_goes_to_the_dealer_who_owes_the_brand_for_replenishment(
    bus: Any, settlement: Any, admin: Any
) -> None:
    dealer_id = bus.uid("D")
    dealer_channel, order_id = bus.uid("DCH"), bus.uid("O")
    await bus.channel_created(
        bus.channel(dealer_channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer_id)
    )
    await bus.order_paid(bus.order(order_id, dealer_channel, [("A", 1, 10_000)]))
    lines = await order_settled(bus, settlement, admin, order_id, {"sale"})
    assert by_party(lines) == {"clearing": -10_000, "brand": 3_000, f"dealer:{dealer_id}": 7_000}

    await bus.replenishment_received(bus.uid("RP"), dealer_id, 50_000)
    assert await bus.eventually(
        lambda: balance(settlement, admin, f"dealer:{dealer_id}"), lambda b: b == 7_000 - 50_000
    )


async def test_cancelling_a_paid_order_reverses_everything(bus: Any, settlement: Any, admin: Any) -> None:
    jd, order_id = bus.uid("JD"), bus.uid("O")
    await bus.channel_created(bus.channel(jd, 600))
    order = bus.order(order_id, jd, [("A", 3, 3_333)])
    await bus.order_paid(order)
    order.is_open = False  # cancelled after payment: still paid, all of it due back
    order.refunded.CopyFrom(order.paid)
    await bus.order_cancelled(order)
    lines = await order_settled(bus, settlement, admin, order_id, {"sale", "cancel"})
    assert by_party(lines) == {}
    assert await balance(settlement, admin, f"channel:{jd}") == 0


async def test_an_older_channel_version_never_replaces_a_newer_one(bus: Any, settlement: Any, admin: Any) -> None:
    channel_id, order_id = bus.uid("MKT"), bus.uid("O")
    await bus.channel_created(bus.channel(channel_id, 800, version=2))
    await bus.channel_updated(bus.channel(channel_id, 100, version=1))
    await bus.order_paid(bus.order(order_id, channel_id, [("A", 1, 10_000)]))
    lines = await order_settled(bus, settlement, admin, order_id, {"sale"})
    assert by_party(lines)[f"channel:{channel_id}"] == 800


async def test_a_sale_waits_for_its_channels_terms_instead_of_guessing_them(
    bus: Any, settlement: Any, admin: Any
) -> None:
    channel_id, order_id = bus.uid("LATE"), bus.uid("O")
    await bus.order_paid(bus.order(order_id, channel_id, [("A", 1, 10_000)]))
    await bus.channel_created(bus.channel(channel_id, 250))
    lines = await order_settled(bus, settlement, admin, order_id, {"sale"})
    assert by_party(lines)[f"channel:{channel_id}"] == 250


async def test_a_statement_opens_with_the_balance_before_and_its_lines_add_up_to_the_closing_balance(
    bus: Any, settlement: Any, admin: Any
) -> None:
    dealer_id, dealer_channel = bus.uid("D"), bus.uid("DCH")
    party = f"dealer:{dealer_id}"
    await bus.channel_created(
        bus.channel(dealer_channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer_id)
    )
    await bus.replenishment_received(bus.uid("RP"), dealer_id, 40_000)
    await bus.eventually(lambda: balance(settlement, admin, party), lambda b: b == -40_000)
    middle = datetime.now(UTC)
    first, second = bus.uid("O"), bus.uid("O")
    await bus.order_paid(bus.order(first, dealer_channel, [("A", 1, 10_000)]))
    await bus.order_paid(bus.order(second, dealer_channel, [("A", 3, 999)]))
    await order_settled(bus, settlement, admin, second, {"sale"})
    end = datetime.now(UTC) + timedelta(minutes=1)

    request = pb.GenerateStatementRequest(
        party=party, period_start=ts(middle), period_end=ts(end), request_id=bus.uid("stmt")
    )
    statement = (await settlement.GenerateStatement(request, metadata=admin)).statement
    assert statement.opening.amount_minor == -40_000
    assert [ln.entry.order_id for ln in statement.lines] == [first, second]
    running = statement.opening.amount_minor
    for line in statement.lines:
        running += line.entry.amount.amount_minor
        assert line.running_balance.amount_minor == running
    assert statement.closing.amount_minor == running == await balance(settlement, admin, party)
    assert statement.closing.amount_minor == -40_000 + 7_000 + 2_098  # 70% of 10 000 and of 2 997

    again = (await settlement.GenerateStatement(request, metadata=admin)).statement
    assert again.id == statement.id  # idempotent on request_id
    stored = (await settlement.GetStatement(pb.GetStatementRequest(id=statement.id), metadata=admin)).statement
    assert stored == statement
    announced = await bus.find_published(
        "settlement.statement.generated", ev.StatementGenerated, lambda e: e.statement.id == statement.id
    )
    assert announced.statement.closing == statement.closing and announced.statement.line_count == 2

    whole = (
        await settlement.GenerateStatement(
            pb.GenerateStatementRequest(party=party, period_start=ts(middle - timedelta(hours=1)), period_end=ts(end)),
            metadata=admin,
        )
    ).statement
    assert whole.opening.amount_minor == 0 and whole.line_count == 3
    assert whole.closing == statement.closing


async def test_reconcile_proves_the_ledger_sums_to_zero_and_lists_what_does_not_add_up(
    bus: Any, settlement: Any, admin: Any
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    channel_id, good, over = bus.uid("REC"), bus.uid("O"), bus.uid("O")
    await bus.channel_created(bus.channel(channel_id, 300))
    order = bus.order(good, channel_id, [("A", 2, 2_500)])
    await bus.order_paid(order)
    order.refunded.amount_minor = 2_500
    await bus.order_returned(order, bus.uid("R"), 2_500)
    bad = bus.order(over, channel_id, [("A", 1, 1_000)])
    await bus.order_paid(bad)
    bad.refunded.amount_minor = 1_500
    await bus.order_returned(bad, bus.uid("R"), 1_500)  # refunds more than was sold
    await order_settled(bus, settlement, admin, over, {"sale", "return"})
    await order_settled(bus, settlement, admin, good, {"sale", "return"})

    report = await settlement.Reconcile(
        pb.ReconcileRequest(period_start=ts(start), period_end=ts(datetime.now(UTC) + timedelta(seconds=1))),
        metadata=admin,
    )
    assert report.ledger_sum.amount_minor == 0
    assert report.orders_settled >= 2
    assert report.gross.amount_minor >= 6_000 and report.refunds.amount_minor >= 4_000
    kinds = {(d.order_id, d.kind) for d in report.discrepancies}
    assert (over, "refund_exceeds_sale") in kinds
    assert not any(order_id == good for order_id, _ in kinds)
    # the excess refund was charged to the brand, and the over-refunded order still balances
    lines = await all_entries(settlement, admin, order_id=over)
    assert by_party(lines) == {"clearing": 500, "brand": -500}


async def test_a_return_that_never_books_still_shows_in_reconcile(bus: Any, settlement: Any, admin: Any) -> None:
    """A return event settlement cannot settle is dead-lettered; what orders reported with it (refunded
    4 000) is kept all the same, so Reconcile names the refund the ledger does not hold. (It was written in the
    transaction that rolled back, and Reconcile listed nothing.)"""
    start = datetime.now(UTC) - timedelta(seconds=1)
    channel_id, lost, later = bus.uid("WEB"), bus.uid("O"), bus.uid("O")
    await bus.channel_created(bus.channel(channel_id, 0))
    order = bus.order(lost, channel_id, [("TEA", 2, 5_000)])
    await bus.order_paid(order)
    await order_settled(bus, settlement, admin, lost, {"sale"})
    order.refunded.amount_minor = 4_000
    await bus.order_returned(order, "not a return id!", 4_000)  # permanent: dead-lettered
    await bus.order_paid(bus.order(later, channel_id, [("TEA", 1, 1_000)]))
    await order_settled(bus, settlement, admin, later, {"sale"})  # the consumer went past it

    async def mismatches() -> list[str]:
        period = pb.ReconcileRequest(period_start=ts(start), period_end=ts(datetime.now(UTC) + timedelta(seconds=1)))
        report = await settlement.Reconcile(period, metadata=admin)
        return [d.detail for d in report.discrepancies if (d.order_id, d.kind) == (lost, "refund_mismatch")]

    assert await bus.eventually(mismatches, bool) == ["orders reports 4000 refunded, ledger 0"]
    assert {ln.rule for ln in await all_entries(settlement, admin, order_id=lost)} == {"sale"}


async def test_a_paid_order_whose_sale_never_books_shows_in_reconcile(bus: Any, settlement: Any, admin: Any) -> None:
    """A paid order's event settlement cannot settle is dead-lettered before its sale is booked: the ledger has
    no line of it, and Reconcile (which starts from the ledger's lines) listed nothing, so a lost sale was
    invisible. What orders reported is kept apart and Reconcile names the sale the ledger lacks."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    channel_id, lost, later = bus.uid("WEB"), bus.uid("O"), bus.uid("O")
    await bus.channel_created(bus.channel(channel_id, 0))
    order = bus.order(lost, channel_id, [("TEA", 2, 5_000)])
    order.lines[0].unit_price.amount_minor = 10**16  # above the kernel's bound: permanent, dead-lettered
    await bus.order_paid(order)
    await bus.order_paid(bus.order(later, channel_id, [("TEA", 1, 1_000)]))
    await order_settled(bus, settlement, admin, later, {"sale"})  # the consumer went past it

    async def missing() -> list[str]:
        period = pb.ReconcileRequest(period_start=ts(start), period_end=ts(datetime.now(UTC) + timedelta(seconds=1)))
        report = await settlement.Reconcile(period, metadata=admin)
        return [d.detail for d in report.discrepancies if (d.order_id, d.kind) == (lost, "missing_sale")]

    details = await bus.eventually(missing, bool)
    assert details == [
        "orders reports 10000 paid, the ledger has no sale (onepool.orders.v1.OrderPaid was dead-lettered)"
    ]
    assert await all_entries(settlement, admin, order_id=lost) == []


async def test_the_database_refuses_edits_and_unbalanced_entries_and_reconcile_finds_tampering(
    stack: Any, settlement: Any, admin: Any
) -> None:
    """Runs last and in USD, so the rows it forces in touch no other test."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    conn = await asyncpg.connect(plain_url(stack.database_url), server_settings={"search_path": "settlement"})
    try:
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await conn.execute("UPDATE journal_lines SET amount_minor = amount_minor + 1")
        with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
            await conn.execute("DELETE FROM journal_entries")

        unbalanced = """
            INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo)
            VALUES ($1, $1, 'sale', 'USD', 'TAMPERED', '', '', '')
            """
        line = """
            INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, balance_after, order_id)
            VALUES ($1, 'brand', 'sale', 'USD', 100, 100, 'TAMPERED')
            """
        with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
            async with conn.transaction():
                await conn.execute(unbalanced, "forged-1")
                await conn.execute(line, "forged-1")
        # Someone with superuser rights switches the triggers off and forges a line anyway.
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(unbalanced, "forged-2")
            await conn.execute(line, "forged-2")
    finally:
        await conn.close()

    report = await settlement.Reconcile(
        pb.ReconcileRequest(
            period_start=ts(start), period_end=ts(datetime.now(UTC) + timedelta(seconds=1)), currency="USD"
        ),
        metadata=admin,
    )
    assert report.ledger_sum.amount_minor == 100
    kinds = {(d.kind, d.entry_id) for d in report.discrepancies}
    assert ("unbalanced_entry", "forged-2") in kinds
    assert ("missing_settlement", "") in kinds
