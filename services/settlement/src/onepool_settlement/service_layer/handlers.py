"""Settlement use cases. Each runs inside the caller's unit of work (an RPC's transaction or a consumed
event's transaction together with its inbox row) and never commits.

Every orders event first makes sure the order's sale is posted (if the order is paid): an event that
overtook a delayed orders.order.paid still finds the sale in place, and the sale's key keeps it single.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from onepool_runtime.errors import NotFound

from onepool_settlement.domain import commands, rules
from onepool_settlement.domain.model import (
    ChannelTerms,
    JournalEntry,
    JournalLine,
    OrderFacts,
    OrderSettlement,
    Rule,
    Source,
)
from onepool_settlement.domain.reconciliation import ReconciliationReport, find_discrepancies
from onepool_settlement.domain.statements import Statement, build_statement
from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork


class ChannelNotKnownYet(Exception):
    """A sale on a channel whose terms have not arrived yet (the CHANNELS consumer runs independently).
    Transient: the event is retried with back-off until the channel's terms are here."""

    def __init__(self, channel_id: str) -> None:
        super().__init__(f"channel {channel_id!r} is not known yet; waiting for its ChannelCreated event")
        self.channel_id = channel_id


async def post(uow: SettlementUnitOfWork, entry: JournalEntry) -> list[JournalLine] | None:
    lines = await uow.repo.post(entry)
    if lines is not None:
        entry.record_posting(tuple(lines))
        uow.track(entry)
    return lines


# --- events from other services ---------------------------------------------------------------------


async def apply_channel_terms(uow: SettlementUnitOfWork, terms: ChannelTerms) -> bool:
    return await uow.repo.save_channel(terms)


async def ensure_sale(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> OrderSettlement | None:
    """Rule 1, once per order: None while the order is unpaid (or paid nothing)."""
    existing = await uow.repo.get_order(order.id)
    if existing is not None:
        await uow.repo.note_order_report(order.id, order.paid, order.refunded)
        return existing
    if not order.is_paid or order.gross <= 0:
        return None
    channel = None
    if order.channel_id:
        channel = await uow.repo.get_channel(order.channel_id)
        if channel is None:
            raise ChannelNotKnownYet(order.channel_id)
    settlement, entry = rules.recognise_sale(order, channel, policy, source)
    settlement = await uow.repo.add_order(settlement)
    await post(uow, entry)
    return settlement


async def _post_fulfillment_fees(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    settlement: OrderSettlement,
    source: Source,
    shipped_now: str = "",
) -> None:
    for fulfillment in order.shipped_fulfillments(also=[shipped_now] if shipped_now else []):
        entry = rules.fulfillment_fee(order, fulfillment, settlement, policy, source)
        if entry is not None:
            await post(uow, entry)


async def record_order_paid(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is not None:
        await _post_fulfillment_fees(uow, policy, order, settlement, source)


async def record_order_shipped(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    fulfillment_id: str,
    source: Source,
) -> None:
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is not None:
        await _post_fulfillment_fees(uow, policy, order, settlement, source, shipped_now=fulfillment_id)


async def record_order_completed(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    """Completion catches fulfillments whose shipment or pickup produced no event of its own."""
    await record_order_paid(uow, policy, order, source)


async def record_order_returned(
    uow: SettlementUnitOfWork,
    policy: rules.SettlementPolicy,
    order: OrderFacts,
    return_id: str,
    refund: int,
    source: Source,
) -> None:
    """Rule 3: reverse the refund in proportion to what the order still holds."""
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is None:
        return  # nothing was ever settled (an unpaid order cannot be refunded)
    await _post_fulfillment_fees(uow, policy, order, settlement, source)
    positions = await uow.repo.order_positions(order.id, settlement.currency)
    entry = rules.reverse(
        f"return:{return_id}",
        Rule.RETURN,
        settlement,
        positions,
        refund,
        source,
        memo=f"return {return_id} of order {order.id}: refund {refund}",
    )
    await post(uow, entry)


async def record_order_cancelled(
    uow: SettlementUnitOfWork, policy: rules.SettlementPolicy, order: OrderFacts, source: Source
) -> None:
    """Cancelling a paid order refunds whatever the order still holds; an unpaid one has nothing to undo."""
    settlement = await ensure_sale(uow, policy, order, source)
    if settlement is None:
        return
    await uow.repo.note_order_report(order.id, order.paid, order.refunded, cancelled=True)
    positions = await uow.repo.order_positions(order.id, settlement.currency)
    held = sum(positions.values())
    if held > 0:
        await post(
            uow,
            rules.reverse(
                f"cancel:{order.id}",
                Rule.CANCEL,
                settlement,
                positions,
                held,
                source,
                memo=f"order {order.id} cancelled: refund {held}",
            ),
        )


async def record_replenishment_received(
    uow: SettlementUnitOfWork, replenishment_id: str, dealer_id: str, currency: str, total: int, source: Source
) -> None:
    """Rule 4."""
    await post(uow, rules.wholesale(replenishment_id, dealer_id, currency, total, source))


# --- queries and statements -------------------------------------------------------------------------


async def get_balance(uow: SettlementUnitOfWork, party: str, currency: str) -> int:
    return await uow.repo.balance(party, currency)


async def list_entries(uow: SettlementUnitOfWork, query: commands.ListEntries) -> tuple[list[JournalLine], bool]:
    """A page of lines in posting order, and whether more follow."""
    lines = await uow.repo.list_lines(
        party=query.party,
        currency=query.currency,
        order_id=query.order_id,
        start=query.start,
        end=query.end,
        after_id=query.after_id,
        limit=query.limit + 1,
    )
    return lines[: query.limit], len(lines) > query.limit


async def generate_statement(
    uow: SettlementUnitOfWork, cmd: commands.GenerateStatement, *, max_lines: int
) -> Statement:
    opening = await uow.repo.balance_before(cmd.party, cmd.currency, cmd.period_start)
    lines = await uow.repo.list_lines(
        party=cmd.party,
        currency=cmd.currency,
        order_id="",
        start=cmd.period_start,
        end=cmd.period_end,
        after_id=0,
        limit=max_lines + 1,
    )
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
    )
    await uow.repo.add_statement(statement)
    uow.track(statement)
    return statement


async def get_statement(uow: SettlementUnitOfWork, statement_id: str) -> Statement:
    statement = await uow.repo.get_statement(statement_id)
    if statement is None:
        raise NotFound("statement", statement_id)
    return statement


async def reconcile(uow: SettlementUnitOfWork, cmd: commands.Reconcile) -> ReconciliationReport:
    totals = await uow.repo.period_totals(cmd.currency, cmd.period_start, cmd.period_end)
    orders = await uow.repo.order_totals(cmd.currency, cmd.period_start, cmd.period_end)
    unbalanced = await uow.repo.unbalanced_entries(cmd.currency, cmd.period_start, cmd.period_end)
    return ReconciliationReport(
        orders_settled=totals["orders_settled"],
        gross=totals["gross"],
        refunds=totals["refunds"],
        ledger_sum=totals["ledger_sum"],
        entries_checked=totals["entries"],
        discrepancies=find_discrepancies(orders, unbalanced),
    )
