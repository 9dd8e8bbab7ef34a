"""Proto requests -> validated commands. Every violation is reported with its field path."""

from __future__ import annotations

from datetime import datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as pb
from onepool_kernel.money import MAX_AMOUNT_MINOR
from onepool_kernel.timestamps import instant_from_iso
from onepool_runtime.commit_order import page_cursor, page_position
from onepool_runtime.errors import InvalidArgument, Violations
from onepool_runtime.protobuf import from_ts
from onepool_runtime.validation import (
    ID_RE,
    check_currency,
    check_id,
    check_money,
    check_request_id,
    check_text,
    decode_page_token,
    encode_page_token,
    page_size,
)

from onepool_settlement.domain import commands, parties

# The range a protobuf Timestamp may hold (0001-01-01 .. 9999-12-31).
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def check_party(v: Violations, path: str, value: str, *, required: bool = True) -> str:
    if not value:
        if required:
            v.add(path, "is required")
    elif not parties.is_valid(value):
        v.add(path, "must be 'brand', 'clearing', 'dealer:<id>' or 'channel:<id>'")
    return value


def currency(v: Violations, value: str, default: str, path: str = "currency") -> str:
    if not value:
        return default
    check_currency(v, path, value)
    return value


def timestamp(v: Violations, path: str, holder: object, field: str, *, required: bool) -> datetime | None:
    if not holder.HasField(field):  # type: ignore[attr-defined]
        if required:
            v.add(path, "is required")
        return None
    value: Timestamp = getattr(holder, field)
    if not (_MIN_SECONDS <= value.seconds <= _MAX_SECONDS and 0 <= value.nanos < 1_000_000_000):
        v.add(path, "is not a valid timestamp")
        return None
    when = from_ts(value)  # to the microsecond below: PostgreSQL's resolution, the ledger's
    if value.nanos % 1000:
        # Rounded up, a bound keeps exactly what it bounds: every posting time is a whole microsecond, so a time
        # is before b (or at or after it) exactly when it is before (at or after) b rounded up. Rounded down, an
        # end a nanosecond after a line would become the line's own time and leave the line out.
        when += timedelta(microseconds=1)
    return when


def _period(v: Violations, start: datetime | None, end: datetime | None, end_path: str, start_path: str) -> None:
    if start is not None and end is not None and end <= start:
        v.add(end_path, f"must be after {start_path}")


def balance(req: pb.GetBalanceRequest, default_currency: str) -> tuple[str, str]:
    v = Violations()
    party = check_party(v, "party", req.party)
    cur = currency(v, req.currency, default_currency)
    v.raise_if_any()
    return party, cur


def list_entries(req: pb.ListEntriesRequest) -> commands.ListEntries:
    v = Violations()
    party = check_party(v, "party", req.party, required=False)
    start = timestamp(v, "from", req, "from", required=False)
    end = timestamp(v, "to", req, "to", required=False)
    _period(v, start, end, "to", "from")
    check_id(v, "order_id", req.order_id, required=False)
    cur = currency(v, req.currency, "")
    limit = page_size(v, req.page_size)
    after = (0, 0)
    try:
        after = entries_cursor(req.page_token)
    except InvalidArgument as exc:
        v.items.extend(exc.violations)
    v.raise_if_any()
    return commands.ListEntries(party, cur, req.order_id, start, end, after, limit)


def entries_cursor(token: str) -> tuple[int, int]:
    """A ListEntries page token's position: the (xact_id, id) of the last line sent. A token of the id order
    ListEntries once had ({"after": id}) names a line written before the lines carried their transaction,
    whose xact_id is 0 (migration 0006): it reads as (0, id)."""
    return page_position(token)


def entries_page_token(xact_id: int, line_id: int) -> str:
    return encode_page_token(page_cursor(xact_id, line_id))


def generate_statement(req: pb.GenerateStatementRequest, default_currency: str) -> commands.GenerateStatement:
    v = Violations()
    party = check_party(v, "party", req.party)
    start = timestamp(v, "period_start", req, "period_start", required=True)
    end = timestamp(v, "period_end", req, "period_end", required=True)
    _period(v, start, end, "period_end", "period_start")
    cur = currency(v, req.currency, default_currency)
    if req.request_id:
        check_request_id(v, "request_id", req.request_id)
    v.raise_if_any()
    assert start is not None and end is not None
    return commands.GenerateStatement(party, cur, start, end, currency_named=bool(req.currency))


def statement_id(req: pb.GetStatementRequest) -> str:
    v = Violations()
    check_id(v, "id", req.id)
    v.raise_if_any()
    return req.id


def reconcile(req: pb.ReconcileRequest, default_currency: str) -> commands.Reconcile:
    v = Violations()
    start = timestamp(v, "period_start", req, "period_start", required=True)
    end = timestamp(v, "period_end", req, "period_end", required=True)
    _period(v, start, end, "period_end", "period_start")
    cur = currency(v, req.currency, default_currency)
    v.raise_if_any()
    assert start is not None and end is not None
    return commands.Reconcile(cur, start, end, currency_named=bool(req.currency))


def record_payment(req: pb.RecordPaymentRequest, key: str) -> commands.RecordPayment:
    """key: the request id in the caller's idempotency scope (the ledger posts it once)."""
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    from_party = check_party(v, "from_party", req.from_party)
    to_party = check_party(v, "to_party", req.to_party)
    if not req.HasField("amount"):
        v.add("amount", "is required")
    else:
        check_money(v, "amount", req.amount, max_minor=MAX_AMOUNT_MINOR // 2)
    fee = 0
    if req.HasField("fee_retained") and req.fee_retained.amount_minor:
        check_money(v, "fee_retained", req.fee_retained, max_minor=MAX_AMOUNT_MINOR // 2)
        if req.fee_retained.currency != req.amount.currency:
            v.add("fee_retained.currency", "must be the amount's currency")
        fee = req.fee_retained.amount_minor
    check_text(v, "reference", req.reference, max_len=255)
    v.raise_if_any()
    return commands.RecordPayment(
        key=f"payment:{key}",
        from_party=from_party,
        to_party=to_party,
        currency=req.amount.currency,
        amount=req.amount.amount_minor,
        fee_retained=fee,
        reference=req.reference,
    )


def settle_unpriced_move(req: pb.SettleUnpricedMoveRequest, key: str) -> commands.SettleUnpricedMove:
    """key: the request id in the caller's idempotency scope (the move keeps it as what settled it)."""
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    if not req.move_id:
        v.add("move_id", "is required")
    elif len(req.move_id) > 200 or not req.move_id.isprintable():
        v.add("move_id", "must be a move id of at most 200 printable characters, as Reconcile names it")
    if not req.HasField("value"):
        v.add("value", "is required (zero: the taker owes the giver nothing for the goods)")
    else:
        if req.value.currency:
            check_currency(v, "value.currency", req.value.currency)
        if req.value.amount_minor < 0:
            v.add("value.amount_minor", "must not be negative")
        elif req.value.amount_minor > MAX_AMOUNT_MINOR:
            v.add("value.amount_minor", f"must be at most {MAX_AMOUNT_MINOR}")
    v.raise_if_any()
    return commands.SettleUnpricedMove(
        key=key, move_id=req.move_id, currency=req.value.currency, value=req.value.amount_minor
    )


def create_payout(req: pb.CreatePayoutRequest, key: str, default_currency: str) -> commands.CreatePayout:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    party = check_party(v, "party", req.party)
    if party and parties.is_valid(party) and not party.startswith(("dealer:", "channel:")):
        v.add("party", "a payout goes to a dealer or a channel")
    end = timestamp(v, "period_end", req, "period_end", required=True)
    cur = currency(v, req.currency, default_currency)
    v.raise_if_any()
    assert end is not None
    return commands.CreatePayout(
        key=f"payout:{key}", party=party, currency=cur, period_end=end, currency_named=bool(req.currency)
    )


def payout_id(req: pb.GetPayoutRequest) -> str:
    v = Violations()
    check_id(v, "id", req.id)
    v.raise_if_any()
    return req.id


def list_payouts(req: pb.ListPayoutsRequest) -> commands.ListPayouts:
    v = Violations()
    party = check_party(v, "party", req.party, required=False)
    limit = page_size(v, req.page_size)
    after = None
    try:
        after = payout_cursor(req.page_token)
    except InvalidArgument as exc:
        v.items.extend(exc.violations)
    v.raise_if_any()
    return commands.ListPayouts(party, after, limit)


def list_periods(req: pb.ListPeriodsRequest) -> tuple[int, datetime | None]:
    """(page size, the end of the last period sent: the page starts after it)."""
    v = Violations()
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    cursor = decode_page_token(req.page_token)
    if cursor is None:
        return limit, None
    after = cursor.get("after")
    try:
        if not isinstance(after, str):
            raise ValueError
        return limit, instant_from_iso(after)
    except ValueError as exc:
        raise InvalidArgument("page_token", "is not a valid page token") from exc


def payout_cursor(token: str) -> tuple[datetime, str] | None:
    """A ListPayouts page token's position: the (created time, id) of the last payout sent, the oldest of its
    page (newest first). Refused unless it is one of ours (tokens come back from callers); a token of the
    oldest-first order ListPayouts once had says "at", not "before", and is refused rather than read backwards."""
    cursor = decode_page_token(token)
    if cursor is None:
        return None
    at, payout_id = cursor.get("before"), cursor.get("id")
    try:
        if not isinstance(at, str) or not isinstance(payout_id, str) or not ID_RE.match(payout_id):
            raise ValueError
        when = instant_from_iso(at)
    except ValueError as exc:
        raise InvalidArgument("page_token", "is not a valid page token") from exc
    return when, payout_id


def payout_page_token(created_at: datetime, payout_id: str) -> str:
    return encode_page_token({"before": created_at.isoformat(), "id": payout_id})


def close_period(req: pb.ClosePeriodRequest) -> commands.ClosePeriod:
    v = Violations()
    end = timestamp(v, "period_end", req, "period_end", required=True)
    if req.request_id:
        check_request_id(v, "request_id", req.request_id)
    v.raise_if_any()
    assert end is not None
    return commands.ClosePeriod(end)


def export_statement(req: pb.ExportStatementRequest) -> str:
    v = Violations()
    check_id(v, "statement_id", req.statement_id)
    if req.format != pb.STATEMENT_FORMAT_CSV:
        v.add("format", "must be STATEMENT_FORMAT_CSV")
    v.raise_if_any()
    return req.statement_id
