"""Domain objects -> settlement protobuf messages."""

from __future__ import annotations

from onepool.common.v1 import common_pb2
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import ts

from onepool_settlement.domain import limits
from onepool_settlement.domain.model import JournalLine, Payment, Payout
from onepool_settlement.domain.periods import Period
from onepool_settlement.domain.reconciliation import ReconciliationReport
from onepool_settlement.domain.statements import Statement
from onepool_settlement.domain.unpriced import UnpricedMove


def money(currency: str, amount: int) -> common_pb2.Money:
    # The use cases check what they read (limits.py); this keeps any amount they missed from crashing the call.
    return common_pb2.Money(currency=currency, amount_minor=limits.reportable(amount, "an amount", currency=currency))


def line_to_proto(line: JournalLine) -> pb.JournalLine:
    return to_message(
        pb.JournalLine,
        line,
        amount=money(line.currency, line.amount),
    )


def statement_to_proto(st: Statement, *, with_lines: bool = True) -> pb.Statement:
    return to_message(
        pb.Statement,
        st,
        opening=money(st.currency, st.opening),
        closing=money(st.currency, st.closing),
        lines=[
            pb.StatementLine(entry=line_to_proto(sl.line), running_balance=money(st.currency, sl.running_balance))
            for sl in st.lines
        ]
        if with_lines
        else [],
    )


def reconcile_to_proto(report: ReconciliationReport) -> pb.ReconcileResponse:
    """A report of several currencies has no amounts of its own (gross, refunds, ledger_sum unset): each
    currency's are in `totals`."""
    amounts: dict[str, common_pb2.Money | None] = dict.fromkeys(("gross", "ledger_sum", "refunds"))
    if report.currency:
        amounts = {
            "gross": money(report.currency, report.gross),
            "ledger_sum": money(report.currency, report.ledger_sum),
            "refunds": money(report.currency, report.refunds),
        }
    return to_message(
        pb.ReconcileResponse,
        report,
        **amounts,
        discrepancies=[to_message(pb.Discrepancy, d) for d in report.discrepancies],
        totals=[
            pb.ReconcileTotals(
                currency=r.currency,
                orders_settled=r.orders_settled,
                gross=money(r.currency, r.gross),
                refunds=money(r.currency, r.refunds),
                ledger_sum=money(r.currency, r.ledger_sum),
                entries_checked=r.entries_checked,
            )
            for r in report.by_currency
        ],
    )


def payment_to_proto(p: Payment) -> pb.Payment:
    currency = p.entry.currency
    return pb.Payment(
        entry_id=p.entry.id,
        from_party=p.from_party,
        to_party=p.to_party,
        amount=money(currency, p.amount),
        reference=p.reference,
        fee_retained=money(currency, p.fee_retained),
        lines=[line_to_proto(ln) for ln in p.lines],
    )


def payout_to_proto(p: Payout) -> pb.Payout:
    return pb.Payout(
        id=p.id,
        party=p.party,
        amount=money(p.currency, p.amount),
        status=pb.PAYOUT_STATUS_PAID if p.status == "PAID" else pb.PAYOUT_STATUS_UNSPECIFIED,
        period_end=ts(p.period_end),
        entry_id=p.entry_id,
        created_at=ts(p.created_at),
        held_back=money(p.currency, p.held),
    )


def period_to_proto(p: Period) -> pb.Period:
    return pb.Period(period_start=ts(p.period_start), period_end=ts(p.period_end), closed_at=ts(p.closed_at))


def unpriced_move_to_proto(m: UnpricedMove) -> pb.UnpricedMove:
    return pb.UnpricedMove(
        id=m.id,
        reason=m.reason,
        from_party=m.giver,
        to_party=m.taker,
        lines=[pb.UnpricedLine(sku=ln.sku, quantity=ln.quantity) for ln in m.lines],
        priced_total=money(m.currency, m.priced_total),
        order_id=m.order_id,
        reference=m.reference,
        location_id=m.location_id,
        recorded_at=ts(m.created_at),
        settled_at=ts(m.settled_at),
        settled_value=money(m.currency, m.settled_value),
        settled_entry_id=m.settled_entry_id,
    )
