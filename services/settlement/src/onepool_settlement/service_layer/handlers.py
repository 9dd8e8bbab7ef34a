"""Settlement use cases. Each runs inside the caller's unit of work (an RPC's transaction or a consumed
event's transaction together with its inbox row) and never commits.

Every orders event first makes sure the order's sale is posted (if the order is paid): an event that
overtook a delayed orders.order.paid still finds the sale in place, and the sale's key keeps it single.

Every posting lands in the first open period. An entry whose fact (its event's time, or the sale it
corrects) lies in a closed period is marked late, naming the sale it corrects and that period's end.

A sale is split at the channel's terms of the version orders says it was paid under (OrderFacts
.channel_version), not at those settlement holds when it reads the event: a backlog or a replay never
re-prices a sale. Facts without a version (older events) use the newest terms held. The brand's rates (settings)
are read once per order, with its sale, and recorded with it: every fulfillment fee of the order is priced at
the order's rate (docs/settlement.md "The brand's rates an order is priced at").

Failure modes: ChannelNotKnownYet (a NotYet: the event waits, uncounted); NotFound (an
unknown statement or payout); FailedPrecondition NOTHING_TO_PAY (a payout of a party owed nothing),
CURRENCY_REQUIRED (a payout naming no currency of a party owed in another one, a statement naming none of a
party with lines in several), CURRENCY_MISMATCH (a payment from or to a channel in a currency the channel does
not sell in),
MOVE_ALREADY_SETTLED (an unpriced move settled by another request), PERIOD_NOT_OVER / PERIOD_ALREADY_CLOSED
(periods.py), BALANCE_LIMIT (a payment or payout taking a balance
beyond the ledger's bound) and BALANCE_OUT_OF_RANGE (a balance or total that left int64: limits.py);
InvalidArgument (a payment that cannot be one; a request_id whose payment or payout is already in the ledger
for a different request: the idempotency key that would have caught it was purged after its retention, and
the ledger's key is forever).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from onepool_runtime.commit_order import read_page
from onepool_runtime.consumer import NotYet
from onepool_runtime.errors import FailedPrecondition, InvalidArgument, found

from onepool_settlement.domain import commands, deposits, limits, parties, periods, rules, unpriced
from onepool_settlement.domain.model import (
    ChannelTerms,
    GoodsMoved,
    JournalEntry,
    JournalLine,
    OrderFacts,
    OrderSettlement,
    Payment,
    Payout,
    ReturnedGoods,
    Rule,
    Source,
)
from onepool_settlement.domain.reconciliation import (
    ReconciliationReport,
    UnsettledOrder,
    combine,
    find_discrepancies,
)
from onepool_settlement.domain.statements import Statement, build_statement
from onepool_settlement.domain.unpriced import UnpricedMove
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork


class ChannelNotKnownYet(NotYet):
    """A sale on a channel whose terms (at the version the order was paid under) have not arrived yet: the
    CHANNELS consumer runs independently of the ORDERS one. The event waits on the consumer's back-off without
    counting toward dead-lettering (a plain exception was dead-lettered after max_deliver, and the sale never
    booked). Bounded: orders only sells on channels it heard of from channels' own events, which channels'
    outbox delivers to settlement too; a wait shows as the consumer's `not_yet` outcome."""

    def __init__(self, channel_id: str, version: int = 0) -> None:
        at = f" at version {version}" if version else ""
        super().__init__(f"channel {channel_id!r}{at} is not known yet; waiting for its channel event")
        self.channel_id = channel_id
        self.version = version


_PAYOUT_IDS = uuid.UUID("5e771e00-0000-4000-8000-000000000001")


async def post(uow: SettlementUnitOfWork, entry: JournalEntry, *, order_id: str = "") -> list[JournalLine] | None:
    """Post one entry (see post_many)."""
    return (await post_many(uow, [(entry, order_id)]))[0]


async def post_many(
    uow: SettlementUnitOfWork, entries: Sequence[tuple[JournalEntry, str]]
) -> list[list[JournalLine] | None]:
    """Post (entry, order id) pairs into the first open period, in one statement, each once per key: its lines
    as written, or None where the key was posted before. An entry is marked late if its fact (its event's
    time or, for an order's later entries, the order's sale) belongs to a closed period.

    This is the one way into the ledger: every rule's entries (and the presale's deposits, when they come)
    go through here, so period locking, late marking, idempotency by key and the EntryPosted events are the
    same for all of them."""
    closed = await uow.repo.closed_through()
    if closed is not None:
        heads = await uow.repo.entry_heads([f"sale:{order_id}" for _, order_id in entries if order_id])
        ends: list[datetime] | None = None
        for entry, order_id in entries:
            sale = heads.get(f"sale:{order_id}") if order_id else None
            sale_id, sale_at = sale if sale else ("", None)
            facts = [t for t in (entry.source.occurred_at, sale_at) if t is not None]
            fact_time = min(facts) if facts else None
            if fact_time is not None and fact_time < closed:
                ends = ends if ends is not None else [p.period_end for p in await uow.repo.periods()]
                period_end = periods.late_period(fact_time, ends)
                assert period_end is not None
                entry.mark_late(sale_id if sale_at is not None and sale_at < closed else "", period_end)
    written = await uow.repo.post_many([entry for entry, _ in entries])
    for (entry, _), lines in zip(entries, written, strict=True):
        if lines is not None:
            entry.record_posting(tuple(lines))
            uow.track(entry)
    return written


# --- events from other services ---------------------------------------------------------------------


async def apply_channel_terms(uow: SettlementUnitOfWork, terms: ChannelTerms) -> bool:
    return await uow.repo.save_channel(terms)


async def ensure_sale(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> OrderSettlement | None:
    """Rule 1, once per order: None while the order is unpaid (or paid nothing). A presale deposit the order
    shows is booked first (settle_deposit)."""
    if order.deposit > 0:
        await settle_deposit(uow, order, source)
    existing = await uow.repo.get_order(order.id)
    if existing is not None:
        await uow.repo.note_order_report(order.id, order.paid, order.refunded)
        await _note_final(uow, [order], {order.id})
        return existing
    if not order.is_paid or order.gross <= 0:
        await _note_final_without_sale(uow, [order])
        return None
    channel = None
    if order.channel_id:
        channel = await uow.repo.get_channel(*order.terms_key)
        if channel is None:
            raise ChannelNotKnownYet(*order.terms_key)
    settlement, entry = rules.recognise_sale(order, channel, policy, source)
    settlement = await uow.repo.add_order(settlement)
    await post(uow, entry)
    await _note_final(uow, [order], {order.id})
    return settlement


async def _note_final(uow: SettlementUnitOfWork, orders: Sequence[OrderFacts], settled: set[str]) -> None:
    """Record the settled orders these facts show final (rules.is_final): payouts pay their income from now on.
    Monotonic, so facts older than the order's latest (events in any order, redelivered) never undo it."""
    final = [o.id for o in orders if o.id in settled and rules.is_final(o)]
    if final:
        await uow.repo.mark_final(final)


async def _note_final_without_sale(uow: SettlementUnitOfWork, orders: Sequence[OrderFacts]) -> None:
    """Record the paid orders of nothing (a free order, total 0) these facts show final. No sale of nothing is
    booked (rule 1 splits a payment), so nothing else would ever release what was posted to them (the goods a
    dealer's shop gave up for one, held as awaiting its sale): payouts pay it from now on. Monotonic, as
    _note_final."""
    final = [o.id for o in orders if o.is_paid and o.gross <= 0 and rules.is_final(o)]
    if final:
        await uow.repo.note_final_without_sale(final)


async def settle_deposit(uow: SettlementUnitOfWork, order: OrderFacts, source: Source) -> None:
    """Book an order's presale deposit as received, then applied to the sale, kept by the seller or refunded,
    as far as the order's facts say (domain/deposits.py; each entry once per order)."""
    channel = None
    if order.deposit_kept > 0 and order.channel_id:
        channel = await uow.repo.get_channel(*order.terms_key)
    await post_many(uow, _deposit_entries(order, channel, source))


def _deposit_entries(order: OrderFacts, channel: ChannelTerms | None, source: Source) -> list[tuple[JournalEntry, str]]:
    """The deposit entries an order's facts call for (none without a deposit). Only a kept deposit needs the
    channel (its seller): ChannelNotKnownYet while its terms have not arrived."""
    if order.deposit <= 0:
        return []
    entries = [(deposits.received(order, source), order.id)]
    seller = parties.BRAND
    if order.deposit_kept > 0:
        if order.channel_id and channel is None:
            raise ChannelNotKnownYet(*order.terms_key)
        seller = rules.seller_of(order, channel)
    resolved = deposits.resolution(order, seller, source)
    if resolved is not None:
        entries.append((resolved, order.id))
    return entries


async def _post_fulfillment_fees(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    settlement: OrderSettlement,
    source: Source,
) -> None:
    entries = [
        (entry, order.id)
        for fulfillment in order.shipped_fulfillments()
        if (entry := rules.fulfillment_fee(order, fulfillment, settlement, policy, source)) is not None
    ]
    if entries:
        await post_many(uow, entries)


@dataclass(frozen=True)
class OrderEvent:
    """An orders event as the sale path reads it: the order's facts, the event, and the fulfillment it
    announces as shipped (OrderShipped), which counts as shipped even if the facts were cut before."""

    order: OrderFacts
    source: Source
    shipped_now: str = ""


async def record_orders(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, events: Sequence[OrderEvent]
) -> None:
    """Paid, shipped and completed orders events, in the order they came (one, or a consumer's run of them):
    each order's sale once, from the first event showing it paid (rule 1), then the fee of every fulfillment
    an event shows shipped (rule 2), all posted in one statement. The same effect as the events one by one;
    a fixed number of statements for any number of events. Completion catches fulfillments whose shipment
    or pickup produced no event of its own."""
    known = await uow.repo.orders_of(sorted({e.order.id for e in events}))
    terms = await uow.repo.terms_of(
        {e.order.terms_key for e in events if e.order.id not in known or e.order.deposit_kept > 0}
    )
    # A presale deposit the events show is booked first, as far as their facts go (received, then applied
    # once the order is paid in full): the paid event is what tells settlement the deposit was applied.
    deposit_entries = [
        entry
        for e in events
        for entry in _deposit_entries(e.order, terms.get(e.order.terms_key) if e.order.channel_id else None, e.source)
    ]
    new: dict[str, tuple[OrderSettlement, JournalEntry]] = {}
    reports: dict[str, tuple[int, int]] = {}  # what orders said since each order's sale was recorded
    for e in events:
        order = e.order
        if order.id in known or order.id in new:
            paid, refunded = reports.get(order.id, (0, 0))
            reports[order.id] = (max(paid, order.paid), max(refunded, order.refunded))
        elif order.is_paid and order.gross > 0:
            channel = terms.get(order.terms_key) if order.channel_id else None
            if order.channel_id and channel is None:
                raise ChannelNotKnownYet(*order.terms_key)
            new[order.id] = rules.recognise_sale(order, channel, policy, e.source)
    recorded = await uow.repo.add_orders([settlement for settlement, _ in new.values()])
    lost = [order_id for order_id in new if order_id not in recorded]  # another replica recorded them first
    known |= await uow.repo.orders_of(lost) if lost else {}
    sold = {order_id: settlement for order_id, (settlement, _) in new.items() if order_id in recorded}
    entries = deposit_entries + [(entry, "") for order_id, (_, entry) in new.items() if order_id in sold]
    fees: dict[str, tuple[OrderSettlement, JournalEntry, Source]] = {}
    for e in events:
        settlement = known.get(e.order.id) or sold.get(e.order.id)
        if settlement is None:
            continue  # unpaid: nothing to settle yet
        for fulfillment in e.order.shipped_fulfillments(also=[e.shipped_now] if e.shipped_now else []):
            fee = rules.fulfillment_fee(e.order, fulfillment, settlement, policy, e.source)
            if fee is not None:
                entries.append((fee, e.order.id))
                fees.setdefault(e.order.id, (settlement, fee, e.source))
    await uow.repo.note_order_reports({k: v for k, v in reports.items() if k in known or k in sold})
    await _note_final(uow, [e.order for e in events], set(known) | set(sold))
    await _note_final_without_sale(uow, [e.order for e in events if e.order.id not in known and e.order.id not in sold])
    if entries:
        await post_many(uow, entries)
    for order_id in sorted(fees):  # one order at a time, each locked in the one order (refund_basis)
        await _refunds_take_their_share_of_new_fees(uow, *fees[order_id])


async def _refunds_take_their_share_of_new_fees(
    uow: SettlementUnitOfWork, settlement: OrderSettlement, fee: JournalEntry, source: Source
) -> None:
    """Rule 3 for fees booked after some of their order's refunds (a dealer shipped after a partial return):
    the refunds so far take back the new fees' share at once, as they would have had the fees been booked
    first, so the order's positions never depend on that order. A refund of nothing over what is booked now
    (rules.reverse): nothing moves when the positions already hold their shares (no refund yet, a redelivered
    fee), and then nothing is posted."""
    booked, taken = await uow.repo.refund_basis(settlement.order_id, settlement.currency)
    if not taken:
        return
    entry = rules.reverse(
        f"refund_share:{fee.key}",
        Rule.RETURN,
        settlement,
        booked,
        taken,
        0,
        source,
        memo=f"refunds of order {settlement.order_id} so far take their share of the fees booked after them",
    )
    moved = tuple(p for p in entry.postings if p.amount)
    if moved:
        await post(uow, replace(entry, postings=moved), order_id=settlement.order_id)


async def record_order_paid(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    await record_orders(uow, policy, [OrderEvent(order, source)])


async def record_order_shipped(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    fulfillment_id: str,
    source: Source,
) -> None:
    await record_orders(uow, policy, [OrderEvent(order, source, fulfillment_id)])


async def record_order_completed(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    await record_orders(uow, policy, [OrderEvent(order, source)])


async def record_order_returned(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    returned: ReturnedGoods,
    source: Source,
) -> None:
    """Rule 3: reverse the refund in proportion to what the order booked, cumulatively (rules.reverse).
    Goods received at another owner's location change owner too: dealers values that move and settlement
    books it from its event (record_goods_moved)."""
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is None:
        return  # nothing was ever settled (an unpaid order cannot be refunded)
    await _post_fulfillment_fees(uow, policy, order, settlement, source)
    booked, taken = await uow.repo.refund_basis(order.id, settlement.currency)
    entry = rules.reverse(
        f"return:{returned.return_id}",
        Rule.RETURN,
        settlement,
        booked,
        taken,
        returned.refund,
        source,
        memo=f"return {returned.return_id} of order {order.id}: refund {returned.refund}",
    )
    await post(uow, entry, order_id=order.id)


async def record_goods_moved(uow: SettlementUnitOfWork, move: GoodsMoved, source: Source) -> None:
    """Rule 7, once per move: an order's move is late like the order's other entries. A move with SKUs dealers
    could not price is kept, once, for Reconcile until it is settled by hand (domain/unpriced.py)."""
    entry = rules.ownership(move, source)
    if entry is not None:
        await post(uow, entry, order_id=move.order_id)
    if move.unpriced:
        head = await uow.repo.entry_head(entry.key) if entry is not None else None  # posted now or before
        kept = unpriced.of(move, head[0] if head else "", source.occurred_at)
        if kept is not None:
            await uow.repo.keep_unpriced(kept)


async def keep_order_report(uow: SettlementUnitOfWork, report: UnsettledOrder, *, is_paid: bool) -> None:
    """What orders reported of an order whose event could not be settled (dead-lettered): Reconcile compares
    the ledger with it. A paid order whose sale was never recorded is kept apart, as a sale the ledger lacks
    (`missing_sale`); an unpaid one (a deposit alone) sells nothing yet."""
    noted = await uow.repo.note_order_report(report.order_id, report.reported_paid, report.reported_refunded)
    if not noted and is_paid and report.reported_paid > 0:
        await uow.repo.note_unsettled(report)


async def record_order_cancelled(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    """Cancelling a paid order refunds whatever the order still holds; an unpaid one has nothing to undo."""
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is None:
        return
    await uow.repo.note_order_report(order.id, order.paid, order.refunded, cancelled=True)
    booked, taken = await uow.repo.refund_basis(order.id, settlement.currency)
    held = rules.refundable(booked, taken)
    if held > 0:
        await post(
            uow,
            rules.reverse(
                f"cancel:{order.id}",
                Rule.CANCEL,
                settlement,
                booked,
                taken,
                held,
                source,
                memo=f"order {order.id} cancelled: refund {held}",
            ),
            order_id=order.id,
        )


async def apply_location(uow: SettlementUnitOfWork, location_id: str, owner_dealer_id: str) -> None:
    await uow.repo.save_location(location_id, owner_dealer_id)


async def record_replenishment_received(
    uow: SettlementUnitOfWork, replenishment_id: str, dealer_id: str, currency: str, total: int, source: Source
) -> None:
    """Rule 4."""
    await post(uow, rules.wholesale(replenishment_id, dealer_id, currency, total, source))


# --- money moved outside the ledger -----------------------------------------------------------------


def _reused_request_id() -> InvalidArgument:
    return InvalidArgument("request_id", "already used for a different request")


async def _check_limits(uow: SettlementUnitOfWork, entry: JournalEntry) -> None:
    """A caller's posting must leave every balance it touches inside the ledger's bound (limits.py)."""
    moves: dict[str, int] = {}
    for p in entry.postings:
        moves[p.party] = moves.get(p.party, 0) + p.amount
    before = {party: await uow.repo.balance(party, entry.currency) for party in moves}
    limits.check_posting(entry.currency, before, moves)


async def _check_channel_currency(uow: SettlementUnitOfWork, cmd: commands.RecordPayment) -> None:
    """A channel pays and is paid in what it sells in: a remittance in another currency would move clearing
    money no sale of the channel put there. Not checked while the channel's currency is not known."""
    prefix = parties.channel("")
    channels = {p: p.removeprefix(prefix) for p in (cmd.from_party, cmd.to_party) if p.startswith(prefix)}
    if not channels:
        return
    known = await uow.repo.channel_currencies(sorted(channels.values()))
    for party, channel_id in channels.items():
        sells_in = known.get(channel_id)
        if sells_in is not None and sells_in != cmd.currency:
            raise FailedPrecondition(
                "CURRENCY_MISMATCH",
                f"{party} sells in {sells_in}; the payment is in {cmd.currency}",
                {"party": party, "channel_currency": sells_in, "currency": cmd.currency},
            )


async def record_payment(uow: SettlementUnitOfWork, cmd: commands.RecordPayment) -> Payment:
    """Rule 5, once per key. A repeat (a retry after its idempotency key was purged: the runtime answers one
    within the retention itself) returns the entry first posted, as stored, if that entry is exactly what
    this request posts; a different request under the same request_id is INVALID_ARGUMENT and changes
    nothing."""
    entry = rules.payment(
        cmd.key,
        cmd.from_party,
        cmd.to_party,
        cmd.currency,
        cmd.amount,
        fee_retained=cmd.fee_retained,
        reference=cmd.reference,
    )
    await uow.repo.lock_parties(cmd.from_party, cmd.to_party)  # a payout of either waits for this payment
    if await uow.repo.entry_head(cmd.key) is None:  # a repeat returns what was posted, whatever the balances now
        await _check_channel_currency(uow, cmd)
        await _check_limits(uow, entry)
    lines = await post(uow, entry)
    if lines is None:
        stored = await uow.repo.entry_by_key(cmd.key)
        assert stored is not None
        if not entry.written_as(stored[2]):
            raise _reused_request_id()
        # The stored entry's id, time and lines; its parties and amounts are the request's, as just checked
        # (a remittance keeping no fee has no line of its payer, so they cannot all be read from the lines).
        entry.id, entry.created_at, lines = stored
    return Payment(entry, tuple(lines), cmd.from_party, cmd.to_party, cmd.amount, cmd.fee_retained, cmd.reference)


async def settle_unpriced_move(uow: SettlementUnitOfWork, cmd: commands.SettleUnpricedMove) -> UnpricedMove:
    """Settle by hand a move with unpriced SKUs (domain/unpriced.py): book the value the brand gave the goods
    (none for zero) and mark the move settled, so Reconcile no longer lists it. Once per move: the move's row is
    locked, so two requests take turns and the second finds it settled. A repeat (a retry after its idempotency
    key was purged) gets the move as settled if it asks the same; a request_id that settled another move, or
    this one at another value, is INVALID_ARGUMENT."""
    move = found(await uow.repo.unpriced_move(cmd.move_id), "unpriced move", cmd.move_id)
    same = cmd.value == move.settled_value and cmd.currency in ("", move.currency)
    if move.settled:
        if move.settled_key == cmd.key:
            if not same:
                raise _reused_request_id()
            return move
        raise FailedPrecondition(
            "MOVE_ALREADY_SETTLED",
            f"move {move.id} was settled at {move.settled_value} {move.currency} by another request",
            {"move_id": move.id, "settled_value": str(move.settled_value), "currency": move.currency},
        )
    if await uow.repo.unpriced_settled_by(cmd.key) is not None:
        raise _reused_request_id()
    if cmd.currency and cmd.currency != move.currency:
        raise FailedPrecondition(
            "CURRENCY_MISMATCH",
            f"move {move.id} moved goods valued in {move.currency}; the value is in {cmd.currency}",
            {"move_id": move.id, "move_currency": move.currency, "currency": cmd.currency},
        )
    entry = unpriced.by_hand(move, cmd.value)
    entry_id = ""
    if entry is not None:
        await uow.repo.lock_parties(move.giver, move.taker)  # as a payment between them: balances take turns
        await _check_limits(uow, entry)
        await post(uow, entry, order_id=move.order_id)
        head = await uow.repo.entry_head(entry.key)
        assert head is not None
        entry_id = head[0]
    return await uow.repo.settle_unpriced(move.id, cmd.key, cmd.value, entry_id)


async def create_payout(uow: SettlementUnitOfWork, cmd: commands.CreatePayout) -> Payout:
    """Rule 6 (rules.payout_amount): pay what the party was owed at period_end, less what settled its claims
    since (payouts to it, payments it received), and never more than its balance now less its income from
    orders not final yet (held back, and recorded with the payout); NOTHING_TO_PAY if that is zero or less
    (its metadata says how much was held). A repeat (a retry after its idempotency key was purged) returns
    the stored payout if it names the same party, currency and period_end; a different request under the
    same request_id is INVALID_ARGUMENT and changes nothing."""
    payout_id = str(uuid.uuid5(_PAYOUT_IDS, cmd.key))
    if cmd.period_end > datetime.now(UTC):
        raise FailedPrecondition(
            "PERIOD_NOT_OVER", "period_end is in the future", {"period_end": cmd.period_end.isoformat()}
        )
    await uow.repo.lock_parties(cmd.party)
    existing = await uow.repo.get_payout(payout_id)
    if existing is not None:
        if (existing.party, existing.currency, existing.period_end) != (cmd.party, cmd.currency, cmd.period_end):
            raise _reused_request_id()
        return existing
    if not cmd.currency_named:
        await _check_owed_only_in(uow, cmd.party, cmd.currency)
    balance_now, held = await uow.repo.balance_and_held(cmd.party, cmd.currency)  # one snapshot: see there
    owed = rules.payout_amount(
        await uow.repo.balance_before(cmd.party, cmd.currency, cmd.period_end),
        await uow.repo.settled_since(cmd.party, cmd.currency, cmd.period_end),
        balance_now,
        held,
    )
    if owed <= 0:
        why = f" ({held} is held back until its orders are final)" if held else ""
        raise FailedPrecondition(
            "NOTHING_TO_PAY",
            f"the brand owes {cmd.party} nothing up to period_end that it still owes now{why}",
            {"party": cmd.party, "owed": str(owed), "held": str(held), "currency": cmd.currency},
        )
    entry = rules.payout(cmd.key, payout_id, cmd.party, cmd.currency, owed)
    await _check_limits(uow, entry)
    await post(uow, entry)
    payout = Payout(
        payout_id, cmd.party, cmd.currency, owed, cmd.period_end, entry.id, created_at=entry.created_at, held=held
    )
    await uow.repo.add_payout(payout)
    return payout


async def _check_owed_only_in(uow: SettlementUnitOfWork, party: str, default_currency: str) -> None:
    """A payout that names no currency is in the brand's default one, unless the brand owes the party in another
    currency too: then CURRENCY_REQUIRED, naming what it owes in each. Paying the default currency then would
    leave the other claims unseen, or answer NOTHING_TO_PAY to a party that is owed (docs/settlement.md
    "More than one currency")."""
    balances = {c: await uow.repo.balance(party, c) for c in await uow.repo.currencies(party)}
    owed = {c: b for c, b in balances.items() if b > 0}  # as read: a balance past int64 is the payout's to refuse
    if not owed.keys() - {default_currency}:
        return
    listed = ", ".join(f"{amount} {c}" for c, amount in sorted(owed.items()))
    raise FailedPrecondition(
        "CURRENCY_REQUIRED",
        f"the request names no currency and the brand owes {party} {listed}: name the currency to pay out "
        f"(without one a payout is in {default_currency})",
        {"party": party, "currencies": ",".join(sorted(owed)), "default_currency": default_currency},
    )


async def get_payout(uow: SettlementUnitOfWork, payout_id: str) -> Payout:
    return found(await uow.repo.get_payout(payout_id), "payout", payout_id)


async def list_payouts(uow: SettlementUnitOfWork, query: commands.ListPayouts) -> tuple[list[Payout], bool]:
    found = await uow.repo.list_payouts(query.party, query.after, query.limit + 1)
    return found[: query.limit], len(found) > query.limit


# --- periods ----------------------------------------------------------------------------------------


async def close_period(uow: SettlementUnitOfWork, cmd: commands.ClosePeriod) -> periods.Period:
    """Close the books at period_end (periods.py): waits for postings in flight, then keeps every party's
    balance at period_end."""
    now = await uow.repo.lock_periods()
    last = await uow.repo.last_period()
    repeat = periods.check_closable(cmd.period_end, last, now, await uow.repo.period_ending(cmd.period_end))
    if repeat is not None:
        return repeat
    start = last.period_end if last else None
    balances = await uow.repo.closing_balances(start, cmd.period_end)
    for (party, currency), amount in sorted(balances.items()):
        limits.reportable(amount, f"{party}'s balance at period_end", party=party, currency=currency)
    period = periods.Period(cmd.period_end, start, now)
    await uow.repo.add_period(period, balances)
    return period


async def list_periods(uow: SettlementUnitOfWork, after: datetime | None, limit: int) -> list[periods.Period]:
    """Up to `limit` closed periods ending after `after`, oldest first."""
    return await uow.repo.periods(after, limit)


# --- queries and statements -------------------------------------------------------------------------


async def get_balance(uow: SettlementUnitOfWork, party: str, currency: str) -> int:
    amount = await uow.repo.balance(party, currency)
    return limits.reportable(amount, f"{party}'s balance", party=party, currency=currency)


async def get_balances(uow: SettlementUnitOfWork, party: str) -> list[tuple[str, int]]:
    """The party's balance in every currency it has lines in, by currency code."""
    return [(c, await get_balance(uow, party, c)) for c in await uow.repo.currencies(party)]


async def list_entries(uow: SettlementUnitOfWork, query: commands.ListEntries) -> tuple[list[JournalLine], bool]:
    """A page of lines after `query.after`, and whether more follow: lines of finished transactions only, in
    (xact_id, id) order, so a line still being written is listed after the page that stopped short of it,
    never skipped (repository.page_lines). A short page waits briefly for lines held back behind an older
    transaction, so a caller reads what it has just posted (onepool_runtime.commit_order.read_page)."""
    q = query

    async def page(limit: int) -> list[JournalLine]:
        return await uow.repo.page_lines(
            party=q.party, currency=q.currency, order_id=q.order_id, start=q.start, end=q.end, after=q.after,
            limit=limit,
        )  # fmt: skip

    async def held_back() -> bool:
        return await uow.repo.lines_held_back(
            party=q.party, currency=q.currency, order_id=q.order_id, start=q.start, end=q.end, after=q.after
        )

    return await read_page(page, held_back, q.limit)


async def generate_statement(
    uow: SettlementUnitOfWork, cmd: commands.GenerateStatement, *, max_lines: int
) -> Statement:
    if not cmd.currency_named:
        cmd = replace(cmd, currency=await _statement_currency(uow, cmd.party, cmd.currency))
    last = await uow.repo.last_period()
    final = last is not None and cmd.period_end <= last.period_end
    opening = await uow.repo.balance_before(cmd.party, cmd.currency, cmd.period_start)
    lines = await uow.repo.lines_by_time(
        party=cmd.party, currency=cmd.currency, start=cmd.period_start, end=cmd.period_end, limit=max_lines + 1
    )
    kept = await uow.repo.kept_balance(cmd.party, cmd.currency, cmd.period_end) if final else None
    statement = build_statement(
        str(uuid.uuid4()),
        cmd.party,
        cmd.currency,
        cmd.period_start,
        cmd.period_end,
        opening,
        lines,
        max_lines=max_lines,
        generated_at=datetime.now(UTC),
        final=final,
        kept_closing=kept,
    )
    await uow.repo.add_statement(statement)
    uow.track(statement)
    return statement


async def _statement_currency(uow: SettlementUnitOfWork, party: str, default_currency: str) -> str:
    """A statement asked for in no currency is in the party's: the one it has lines in, if it has lines in one
    (the default one if it has none). A party with lines in several is CURRENCY_REQUIRED, naming them: a
    statement in the default currency would show a USD-only party an empty account, or a party of several
    currencies one of them as if it were all (docs/settlement.md "More than one currency")."""
    found = await uow.repo.currencies(party)
    if len(found) <= 1:
        return found[0] if found else default_currency
    raise FailedPrecondition(
        "CURRENCY_REQUIRED",
        f"the request names no currency and {party} has lines in {', '.join(found)}: name the currency of the "
        "statement (one statement is in one currency)",
        {"party": party, "currencies": ",".join(found)},
    )


async def get_statement(uow: SettlementUnitOfWork, statement_id: str) -> Statement:
    return found(await uow.repo.get_statement(statement_id), "statement", statement_id)


async def reconcile(uow: SettlementUnitOfWork, cmd: commands.Reconcile) -> ReconciliationReport:
    """The period checked in the currency asked or, if none was, in every currency it has anything in
    (repository.period_currencies; the default one if it has nothing), each as if it had been asked."""
    found = [cmd.currency]
    if not cmd.currency_named:
        found = await uow.repo.period_currencies(cmd.period_start, cmd.period_end) or found
    return combine([await _reconcile_in(uow, c, cmd.period_start, cmd.period_end) for c in found])


async def _reconcile_in(
    uow: SettlementUnitOfWork, currency: str, start: datetime, end: datetime
) -> ReconciliationReport:
    totals = await uow.repo.period_totals(currency, start, end)
    orders = await uow.repo.order_totals(currency, start, end)
    unbalanced = await uow.repo.unbalanced_entries(currency, start, end)
    unsettled = await uow.repo.unsettled_orders(currency, start, end)
    moves = await uow.repo.unpriced_moves(currency, start, end)
    for name in ("gross", "refunds", "ledger_sum"):
        limits.reportable(totals[name], f"the period's {name}", currency=currency)
    return ReconciliationReport(
        orders_settled=totals["orders_settled"],
        gross=totals["gross"],
        refunds=totals["refunds"],
        ledger_sum=totals["ledger_sum"],
        entries_checked=totals["entries"],
        discrepancies=[replace(d, currency=currency) for d in find_discrepancies(orders, unbalanced, unsettled, moves)],
        currency=currency,
    )
