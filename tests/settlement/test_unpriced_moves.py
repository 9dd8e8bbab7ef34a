"""Goods that changed owner with SKUs dealers could not price (docs/settlement.md "Goods that change owner"):
settlement keeps each such move once and Reconcile lists it, in the move's currency and a period containing it,
as `unpriced_move` until the brand settles it by hand (SettleUnpricedMove). Before, a move with no priced SKU
booked nothing and a partly priced one named its unpriced SKUs in a memo only: goods changed owner with nothing
in the ledger and nothing in Reconcile."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.dealers.v1 import events_pb2 as dealer_events
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.db import create_engine
from onepool_runtime.idempotency import purge
from onepool_runtime.testing.services import error_info, field_violations, metadata
from onepool_settlement.adapters.repository import unpriced_moves_query
from sqlalchemy.dialects.postgresql import dialect as postgresql_dialect

from tests.settlement.conftest import Bus, cny

pytestmark = pytest.mark.asyncio

TRANSFER = dpb.OWNERSHIP_MOVE_REASON_TRANSFER


def ts(value: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(value)
    return out


def move(
    move_id: str,
    *,
    giver: str,
    taker: str,
    priced: list[tuple[str, int, int]],
    unpriced: list[tuple[str, int]],
    currency: str = "CNY",
    reference: str = "",
) -> dealer_events.OwnershipMoved:
    """dealers.ownership.moved as dealers publishes it: priced (sku, units, unit price), unpriced (sku, units)."""
    return dealer_events.OwnershipMoved(
        move=dpb.OwnershipMove(
            id=move_id,
            reason=TRANSFER,
            from_dealer_id=giver,
            to_dealer_id=taker,
            lines=[
                dpb.OwnershipMoveLine(sku=s, quantity=q, unit_price={"currency": currency, "amount_minor": p})
                for s, q, p in priced
            ],
            total={"currency": currency, "amount_minor": sum(q * p for _, q, p in priced)},
            reference=reference,
            location_id="DS-1",
            unpriced_skus=[s for s, _ in unpriced],
            unpriced_lines=[dpb.OwnershipMoveLine(sku=s, quantity=q) for s, q in unpriced],
        )
    )


async def publish(bus: Bus, event: dealer_events.OwnershipMoved) -> None:
    """A new event id each time: what settlement sees when dealers' outbox delivers a move again."""
    again = dealer_events.OwnershipMoved()
    again.CopyFrom(event)
    again.meta.event_id = str(uuid.uuid4())
    await bus.publish("dealers.ownership.moved", again)


async def reconcile(settlement: Any, admin: Any, start: datetime, *, currency: str = "CNY") -> pb.ReconcileResponse:
    end = datetime.now(UTC) + timedelta(seconds=1)
    request = pb.ReconcileRequest(period_start=ts(start), period_end=ts(end), currency=currency)
    return await settlement.Reconcile(request, metadata=admin)


async def listed(settlement: Any, admin: Any, start: datetime, move_id: str, **kw: Any) -> list[pb.Discrepancy]:
    report = await reconcile(settlement, admin, start, **kw)
    return [d for d in report.discrepancies if d.kind == "unpriced_move" and d.move_id == move_id]


async def lines_of(settlement: Any, admin: Any, party: str) -> list[pb.JournalLine]:
    reply = await settlement.ListEntries(pb.ListEntriesRequest(party=party, page_size=100), metadata=admin)
    return list(reply.entries)


async def test_a_move_with_nothing_priced_is_listed_by_reconcile(bus: Bus, settlement: Any, admin: Any) -> None:
    """The brand's goods go to dealer D's shop and no SKU has a CNY list price: nothing is booked, and Reconcile
    names the move, its parties and the units taken for nothing (before: nothing anywhere)."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    dealer, transfer = bus.uid("D"), bus.uid("T")
    move_id = f"transfer:{transfer}"
    await publish(
        bus, move(move_id, giver="", taker=dealer, priced=[], unpriced=[("MUG", 3), ("POT", 1)], reference=transfer)
    )

    [found] = await bus.eventually(lambda: listed(settlement, admin, start, move_id), bool)
    assert (found.order_id, found.entry_id) == ("", "")
    assert found.detail == (
        f"transfer {transfer} at DS-1: brand's goods taken over by dealer:{dealer}; 3 x MUG, 1 x POT not priced in "
        "CNY (the ledger holds 0 for the rest of the move): value them with SettleUnpricedMove"
    )
    assert await lines_of(settlement, admin, f"dealer:{dealer}") == []
    # Reconcile's period is the move's: one that ended before it, or another currency, does not list it.
    before = pb.ReconcileRequest(period_start=ts(start - timedelta(hours=1)), period_end=ts(start))
    assert not [d for d in (await settlement.Reconcile(before, metadata=admin)).discrepancies if d.move_id == move_id]
    assert await listed(settlement, admin, start, move_id, currency="USD") == []


async def test_a_partly_priced_move_redelivered_is_booked_and_listed_once(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    """Dealer A's goods go to dealer B: 2 TEA at 8 500 are booked (17 000), 4 MUG have no price. Delivered three
    times, the move is booked once and listed once, naming the entry of its priced part."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    a, b, transfer = bus.uid("DA"), bus.uid("DB"), bus.uid("T")
    move_id = f"transfer:{transfer}"
    event = move(move_id, giver=a, taker=b, priced=[("TEA", 2, 8_500)], unpriced=[("MUG", 4)], reference=transfer)
    for _ in range(3):
        await publish(bus, event)

    [found] = await bus.eventually(lambda: listed(settlement, admin, start, move_id), bool)
    [line] = await lines_of(settlement, admin, f"dealer:{b}")
    assert (line.rule, line.amount.amount_minor, found.entry_id) == ("ownership", -17_000, line.entry_id)
    assert "4 x MUG not priced in CNY (the ledger holds 17000 for the rest of the move)" in found.detail
    await asyncio.sleep(0.5)  # the later deliveries have been read too
    assert len(await listed(settlement, admin, start, move_id)) == 1
    assert len(await lines_of(settlement, admin, f"dealer:{b}")) == 1


@pytest.fixture
async def engine(stack: Any, settlement: Any) -> AsyncIterator[Any]:
    engine = create_engine(stack.database_url, "settlement")
    yield engine
    await engine.dispose()


async def test_settling_a_move_by_hand_books_its_value_and_clears_it_from_reconcile(
    bus: Bus, settlement: Any, admin: Any, engine: Any
) -> None:
    """The brand values D's 3 MUG at 6 000: D owes the brand 6 000 (as if dealers had priced them) and Reconcile
    no longer lists the move. The same request again (also after its stored answer was purged) gets the move as
    settled; another request cannot settle it again, nor reuse the request_id for another move."""
    start = datetime.now(UTC) - timedelta(seconds=1)
    dealer, transfer, other = bus.uid("D"), bus.uid("T"), bus.uid("T")
    move_id = f"transfer:{transfer}"
    await publish(bus, move(move_id, giver="", taker=dealer, priced=[], unpriced=[("MUG", 3)], reference=transfer))
    await publish(bus, move(f"transfer:{other}", giver="", taker=dealer, priced=[], unpriced=[("CUP", 1)]))
    for waited in (move_id, f"transfer:{other}"):
        await bus.eventually(lambda m=waited: listed(settlement, admin, start, m), bool)

    request = pb.SettleUnpricedMoveRequest(request_id=bus.uid("settle"), move_id=move_id, value=cny(6_000))
    settled = (await settlement.SettleUnpricedMove(request, metadata=admin)).move
    assert (settled.id, settled.from_party, settled.to_party) == (move_id, "brand", f"dealer:{dealer}")
    assert [(ln.sku, ln.quantity) for ln in settled.lines] == [("MUG", 3)]
    assert settled.settled_value == cny(6_000) and settled.HasField("settled_at")
    [line] = await lines_of(settlement, admin, f"dealer:{dealer}")
    assert (line.rule, line.account, line.amount.amount_minor) == ("ownership", "ownership", -6_000)
    assert (line.entry_id, line.reference) == (settled.settled_entry_id, move_id)
    assert await listed(settlement, admin, start, move_id) == []

    assert (await settlement.SettleUnpricedMove(request, metadata=admin)).move == settled
    await asyncio.sleep(0.01)
    await purge(engine, 0.0)  # the stored answers' retention (30 days) is over
    assert (await settlement.SettleUnpricedMove(request, metadata=admin)).move == settled
    again = pb.SettleUnpricedMoveRequest(request_id=bus.uid("settle"), move_id=move_id, value=cny(1))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await settlement.SettleUnpricedMove(again, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(caught.value)
    assert info is not None and (info.reason, info.metadata["settled_value"]) == ("MOVE_ALREADY_SETTLED", "6000")
    reused = pb.SettleUnpricedMoveRequest(request_id=request.request_id, move_id=f"transfer:{other}", value=cny(0))
    await purge(engine, 0.0)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await settlement.SettleUnpricedMove(reused, metadata=admin)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(caught.value) == ["request_id"]
    assert len(await lines_of(settlement, admin, f"dealer:{dealer}")) == 1

    # Zero: the goods were given (or the owners settled between themselves): cleared, nothing booked.
    given = pb.SettleUnpricedMoveRequest(request_id=bus.uid("settle"), move_id=f"transfer:{other}", value=cny(0))
    assert (await settlement.SettleUnpricedMove(given, metadata=admin)).move.settled_entry_id == ""
    assert await listed(settlement, admin, start, f"transfer:{other}") == []
    assert len(await lines_of(settlement, admin, f"dealer:{dealer}")) == 1


async def test_settling_by_hand_refuses_what_it_cannot_do_and_changes_nothing(
    bus: Bus, settlement: Any, admin: Any
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    dealer, transfer = bus.uid("D"), bus.uid("T")
    move_id = f"transfer:{transfer}"
    await publish(bus, move(move_id, giver=dealer, taker="", priced=[], unpriced=[("MUG", 1)], reference=transfer))
    await bus.eventually(lambda: listed(settlement, admin, start, move_id), bool)

    def request(**kw: Any) -> pb.SettleUnpricedMoveRequest:
        fields: dict[str, Any] = {"request_id": bus.uid("settle"), "move_id": move_id, "value": cny(100), **kw}
        return pb.SettleUnpricedMoveRequest(**{k: v for k, v in fields.items() if v is not None})

    async def refused(req: pb.SettleUnpricedMoveRequest, md: Any = admin) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await settlement.SettleUnpricedMove(req, metadata=md)
        return caught.value

    for kw, fields in (
        ({"request_id": ""}, ["request_id"]),
        ({"move_id": ""}, ["move_id"]),
        ({"value": None}, ["value"]),
        ({"value": cny(-1)}, ["value.amount_minor"]),
        ({"value": cny(10**18)}, ["value.amount_minor"]),
        ({"value": {"currency": "cny", "amount_minor": 1}}, ["value.currency"]),
    ):
        error = await refused(request(**kw))
        assert (error.code(), field_violations(error)) == (grpc.StatusCode.INVALID_ARGUMENT, fields), kw
    assert (await refused(request(move_id=f"transfer:{bus.uid('T')}"))).code() == grpc.StatusCode.NOT_FOUND
    error = await refused(request(value={"currency": "USD", "amount_minor": 100}))
    info = error_info(error)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert info is not None and (info.reason, info.metadata["move_currency"]) == ("CURRENCY_MISMATCH", "CNY")
    own = metadata("dealer", dealer_id=dealer)
    assert (await refused(request(), own)).code() == grpc.StatusCode.PERMISSION_DENIED
    assert len(await listed(settlement, admin, start, move_id)) == 1
    assert await lines_of(settlement, admin, f"dealer:{dealer}") == []


# Moves over a year from now on (dated ahead), nearly all settled by hand; one in 50 still open.
_MOVES_OVER_A_YEAR = """
INSERT INTO unpriced_moves (move_id, reason, giver, taker, currency, lines, entry_id, order_id, reference,
                            location_id, created_at, settled_at, settled_entry_id)
SELECT 'plan-' || $1 || '-' || n, 'TRANSFER', 'brand', 'dealer:PL', 'CNY', '[{"sku": "MUG", "quantity": 1}]', '',
       '', '', '', now() + (n % 12) * interval '30 days', CASE WHEN n % 50 = 0 THEN NULL ELSE now() END, ''
  FROM generate_series(1, $2) AS n
"""


async def test_reconciles_unpriced_moves_are_a_range_of_the_open_ones(stack: Any, settlement: Any) -> None:
    """Reconcile reads the period's moves still open (repository.unpriced_moves_query) as a range of the partial
    index `unpriced_moves_open`: never the moves settled, nor those of other periods. In a transaction rolled
    back."""
    tag = uuid.uuid4().hex[:6]
    conn = await asyncpg.connect(stack.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET search_path = settlement")
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(_MOVES_OVER_A_YEAR, tag, 20_000)
            await conn.execute("ANALYZE unpriced_moves")
            start = await conn.fetchval("SELECT now() + interval '150 days' - interval '1 hour'")
            query = unpriced_moves_query("CNY", start, start + timedelta(days=30))
            sql = str(query.compile(dialect=postgresql_dialect(), compile_kwargs={"literal_binds": True}))
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN (COSTS OFF) {sql}"))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    assert "Seq Scan" not in plan and "unpriced_moves_open" in plan, plan
