"""Hypothesis drives random sales, returns, payments, payouts and period closes through the real service
(events on JetStream, RPCs over gRPC, PostgreSQL) and then checks what must always hold:

- every entry sums to zero;
- each party's statement (from the beginning to now) closes at its balance;
- nothing posts into a closed period: the lines dated before a period's end are exactly those that existed
  when it closed, and its statements, generated again at the end, are the same;
- redelivering every event (the same ids again, and copies re-published under new ids) leaves the ledger
  unchanged.

Its own module: it closes periods for every test sharing the service.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onepool.channels.v1 import channels_pb2
from onepool.settlement.v1 import settlement_pb2 as pb

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


# An operation: ("sale", order index, amount, by the dealer?), ("return", order index, share in %, received
# at the dealer's shop (else the brand's warehouse)?),
# ("pay", dealer?, amount), ("payout",), ("close",), ("checkpoint",): the balance checkpoints are written now.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("sale"), st.integers(0, 3), st.integers(1, 50_000), st.booleans()),
        st.tuples(st.just("return"), st.integers(0, 3), st.integers(1, 100), st.booleans()),
        st.tuples(st.just("pay"), st.booleans(), st.integers(1, 20_000)),
        st.tuples(st.just("payout")),
        st.tuples(st.just("close")),
        st.tuples(st.just("checkpoint")),
    ),
    min_size=1,
    max_size=10,
)


@dataclass
class World:
    """One example's parties and what it published."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    fee_bps: int = 0
    events: list[tuple[str, Message]] = field(default_factory=list)
    orders: dict[int, dict[str, int]] = field(default_factory=dict)  # index -> {"total", "refunded"}
    closes: list[tuple[datetime, set[int], dict[str, bytes]]] = field(default_factory=list)
    cuts: list[datetime] = field(default_factory=list)  # just after each checkpoint and close

    @property
    def market(self) -> str:
        return f"M-{self.tag}"

    @property
    def dealer(self) -> str:
        return f"D-{self.tag}"

    @property
    def dealer_channel(self) -> str:
        return f"DC-{self.tag}"

    def parties(self) -> list[str]:
        return [
            "brand",
            "clearing",
            f"dealer:{self.dealer}",
            f"channel:{self.market}",
            f"channel:{self.dealer_channel}",
        ]

    def order_id(self, i: int) -> str:
        return f"O-{self.tag}-{i}"


class Driver:
    def __init__(self, bus: Bus, settlement: Any, admin: Any, stack: Any) -> None:
        self.bus, self.settlement, self.admin = bus, settlement, admin
        self.checkpoint = stack.hosts["settlement"].parts.components["balance_checkpoint"]

    async def publish(self, w: World, subject: str, event: Message) -> None:
        await self.bus.publish(subject, event)
        w.events.append((subject, event))

    async def entries(self, **filters: Any) -> list[pb.JournalLine]:
        lines: list[pb.JournalLine] = []
        token = ""
        while True:
            page = await self.settlement.ListEntries(
                pb.ListEntriesRequest(page_size=500, page_token=token, **filters), metadata=self.admin
            )
            lines.extend(page.entries)
            token = page.next_page_token
            if not token:
                return lines

    async def posted(self, order_id: str, count: int) -> None:
        """Wait until the order has at least `count` entries."""

        async def probe() -> int:
            return len({ln.entry_id for ln in await self.entries(order_id=order_id)})

        await self.bus.eventually(probe, lambda n: n >= count, within=20)

    async def statements(self, w: World, start: datetime, end: datetime) -> dict[str, bytes]:
        out = {}
        for party in w.parties():
            request = pb.GenerateStatementRequest(party=party, period_start=ts(start), period_end=ts(end))
            s = (await self.settlement.GenerateStatement(request, metadata=self.admin)).statement
            out[party] = pb.Statement(
                opening=s.opening, closing=s.closing, lines=s.lines, final=s.final, line_count=s.line_count
            ).SerializeToString(deterministic=True)
        return out

    async def run(self, w: World, ops: list[tuple[Any, ...]]) -> None:
        bus = self.bus
        await self.publish(w, "channels.channel.created", _created(bus.channel(w.market, w.fee_bps)))
        dealer_channel = bus.channel(
            w.dealer_channel, 0, type_=channels_pb2.CHANNEL_TYPE_DEALER, owner_dealer_id=w.dealer
        )
        await self.publish(w, "channels.channel.created", _created(dealer_channel))
        for location, owner in ((f"SHOP-{w.tag}", w.dealer), (f"WH-{w.tag}", "")):
            await self.publish(w, "inventory.location.upserted", _location(location, owner))
        for op in ops:
            kind = op[0]
            if kind == "sale" and op[1] not in w.orders:
                i, amount, by_dealer = op[1], op[2], op[3]
                channel = w.dealer_channel if by_dealer else w.market
                w.orders[i] = {"total": amount, "refunded": 0, "by_dealer": int(by_dealer)}
                facts = bus.order(w.order_id(i), channel, [("SKU", 1, amount)])
                await self.publish(w, "orders.order.paid", _paid(facts))
                await self.posted(w.order_id(i), 1)
            elif kind == "return" and op[1] in w.orders:
                o = w.orders[op[1]]
                refund = (o["total"] - o["refunded"]) * op[2] // 100
                if refund <= 0:
                    continue
                o["refunded"] += refund
                channel = w.dealer_channel if o["by_dealer"] else w.market
                facts = bus.order(w.order_id(op[1]), channel, [("SKU", 1, o["total"])], refunded=o["refunded"])
                before = len({ln.entry_id for ln in await self.entries(order_id=w.order_id(op[1]))})
                where = f"SHOP-{w.tag}" if op[3] else f"WH-{w.tag}"
                returned = _returned(facts, f"R-{uuid.uuid4().hex[:8]}", refund, where)
                await self.publish(w, "orders.order.returned", returned)
                await self.posted(w.order_id(op[1]), before + 1)
            elif kind == "pay":
                payer = f"dealer:{w.dealer}" if op[1] else f"channel:{w.market}"
                request = pb.RecordPaymentRequest(
                    request_id=uuid.uuid4().hex, from_party=payer, to_party="brand", amount=cny(op[2])
                )
                if not op[1]:
                    request.fee_retained.CopyFrom(cny(op[2] * w.fee_bps // 10_000))
                await self.settlement.RecordPayment(request, metadata=self.admin)
            elif kind == "payout":
                request = pb.CreatePayoutRequest(
                    request_id=uuid.uuid4().hex, party=f"dealer:{w.dealer}", period_end=ts(datetime.now(UTC))
                )
                try:
                    payout = (await self.settlement.CreatePayout(request, metadata=self.admin)).payout
                    assert payout.amount.amount_minor > 0
                except grpc.aio.AioRpcError as exc:
                    assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION, exc.details()
            elif kind == "close":
                end = datetime.now(UTC)
                await self.settlement.ClosePeriod(pb.ClosePeriodRequest(period_end=ts(end)), metadata=self.admin)
                ids = {ln.id for ln in await self.entries()}
                w.closes.append((end, ids, await self.statements(w, EPOCH, end)))
                w.cuts.append(end)
            elif kind == "checkpoint":
                await self.checkpoint()
                w.cuts.append(datetime.now(UTC))

    async def ledger(self) -> list[bytes]:
        return sorted(ln.SerializeToString(deterministic=True) for ln in await self.entries())

    async def check(self, w: World) -> None:
        lines = await self.entries()
        per_entry: dict[str, int] = defaultdict(int)
        for ln in lines:
            per_entry[ln.entry_id] += ln.amount.amount_minor
        assert set(per_entry.values()) <= {0}, "an entry does not balance"

        now = datetime.now(UTC) + timedelta(seconds=1)
        for party in w.parties():
            request = pb.GenerateStatementRequest(party=party, period_start=ts(EPOCH), period_end=ts(now))
            statement = (await self.settlement.GenerateStatement(request, metadata=self.admin)).statement
            balance = (await self.settlement.GetBalance(pb.GetBalanceRequest(party=party), metadata=self.admin)).balance
            assert statement.closing == balance, party
            # A statement opening at a cut opens at the balance then (read from the checkpoint or snapshot at or
            # before it), which is where one from the beginning closes.
            for cut in w.cuts[-2:]:  # the last two: each costs two statements per party
                request = pb.GenerateStatementRequest(party=party, period_start=ts(EPOCH), period_end=ts(cut))
                until = (await self.settlement.GenerateStatement(request, metadata=self.admin)).statement
                request = pb.GenerateStatementRequest(party=party, period_start=ts(cut), period_end=ts(now))
                since = (await self.settlement.GenerateStatement(request, metadata=self.admin)).statement
                assert until.closing == since.opening, (party, cut)

        for end, ids, statements in w.closes:
            dated_before = {ln.id for ln in lines if ln.created_at.ToDatetime(UTC) < end}
            assert dated_before <= ids, "a line posted into a closed period"
            assert await self.statements(w, EPOCH, end) == statements, "a closed period's statement changed"

        # Redeliver everything: the same events again, and copies under new ids. Then a sentinel sale, which
        # the consumers reach only after the redeliveries (each stream is consumed in order).
        before = await self.ledger()
        for subject, event in w.events:
            await self.bus.publish(subject, event, msg_id=str(uuid.uuid4()))
            copy = type(event).FromString(event.SerializeToString())
            copy.meta.event_id = str(uuid.uuid4())  # type: ignore[attr-defined]
            await self.bus.publish(subject, copy)
        sentinel = w.order_id(99)
        await self.publish(w, "orders.order.paid", _paid(self.bus.order(sentinel, w.market, [("SKU", 1, 100)])))
        await self.posted(sentinel, 1)
        await asyncio.sleep(0.2)  # the channels stream too: its redeliveries change nothing either way
        after = [line for line in await self.ledger() if sentinel.encode() not in line]
        assert after == before, "redelivered events changed the ledger"


def _created(channel: Any) -> Message:
    from onepool.channels.v1 import events_pb2 as ev

    return ev.ChannelCreated(channel=channel)


def _paid(facts: Any) -> Message:
    from onepool.orders.v1 import events_pb2 as ev

    return ev.OrderPaid(facts=facts)


def _returned(facts: Any, return_id: str, refund: int, location_id: str) -> Message:
    from onepool.orders.v1 import events_pb2 as ev
    from onepool.orders.v1 import facts_pb2

    lines = [facts_pb2.StockLineFacts(sku="SKU", quantity=1)]
    ret = facts_pb2.ReturnFacts(return_id=return_id, refund=cny(refund), location_id=location_id, lines=lines)
    return ev.OrderReturned(facts=facts, returned=ret)


def _location(location_id: str, owner_dealer_id: str) -> Message:
    from onepool.inventory.v1 import events_pb2 as ev
    from onepool.inventory.v1 import inventory_pb2

    return ev.LocationUpserted(location=inventory_pb2.Location(id=location_id, owner_dealer_id=owner_dealer_id))


def _property(loop: asyncio.AbstractEventLoop, driver: Driver, examples: int) -> Any:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=300)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(ops=operations, fee_bps=st.sampled_from([0, 500, 1234]))
    def holds(ops: list[tuple[Any, ...]], fee_bps: int) -> None:
        w = World(fee_bps=fee_bps)
        run(driver.run(w, ops))
        run(driver.check(w))

    return holds


async def test_random_sales_returns_payments_payouts_and_closes_keep_the_ledger_whole(
    bus: Bus, settlement: Any, admin: Any, stack: Any
) -> None:
    driver = Driver(bus, settlement, admin, stack)
    await asyncio.to_thread(_property(asyncio.get_running_loop(), driver, examples=8))


@pytest.mark.slow
@pytest.mark.timeout(3600)  # far beyond the suite's 300 s default on a loaded machine
async def test_long_random_ledger_histories_keep_the_ledger_whole(
    bus: Bus, settlement: Any, admin: Any, stack: Any
) -> None:
    driver = Driver(bus, settlement, admin, stack)
    await asyncio.to_thread(_property(asyncio.get_running_loop(), driver, examples=60))
