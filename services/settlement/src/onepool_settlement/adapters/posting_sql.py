"""The posting path in hand-written SQL on the unit of work's asyncpg connection (`UnitOfWork.driver()`).

A consumer's batch of orders events is booked in a fixed number of statements, whatever its size: the
orders' settlements read in one, the channels' terms in one, new settlements inserted in one, and every
entry with all its lines in ONE statement (a data-modifying CTE over `unnest` arrays). SQLAlchemy's work
per statement (compile, cache key, parameter and result processing) was most of settlement's CPU per order
when each order took half a dozen ORM statements.

Order: entries are inserted in the order given (each takes its posting time, `clock_timestamp()`, in that
order, so a sale is posted before its fees), which is the events' stream order: two replicas whose batches
share keys (a redelivery) meet them in the same order. Settlements are inserted in order id order. A
deadlock all the same is the infrastructure's failure: the consumer retries the batch.

The journal's trigger (migration 0004) checks each statement's new lines: every entry balances and none is
dated into a closed period. An entry's lines are therefore always written by the statement that claims
its key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from onepool_runtime.mapping import build

from onepool_settlement.domain.model import (
    ChannelTerms,
    ChannelType,
    JournalEntry,
    JournalLine,
    OrderSettlement,
    Posting,
    SaleTerms,
)

_POST = """
WITH e AS (
  INSERT INTO journal_entries (id, key, rule, currency, order_id, source_event_id, source_subject, memo,
                               occurred_at, reference, corrects_entry_id, corrects_period_end, created_at)
  SELECT u.id, u.key, u.rule, u.currency, u.order_id, u.event_id, u.subject, u.memo,
         u.occurred_at, u.reference, u.corrects_entry_id, u.corrects_period_end, clock_timestamp()
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                $9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[])
         WITH ORDINALITY AS u(id, key, rule, currency, order_id, event_id, subject, memo, occurred_at, reference,
                              corrects_entry_id, corrects_period_end, n)
   ORDER BY u.n
  ON CONFLICT (key) DO NOTHING
  RETURNING id, created_at, order_id, rule
), a AS (
  -- An order posted to before its sale was booked: payouts hold its lines back until the sale says it is final
  -- (repository.held_query). A presale deposit's entries are not: a kept deposit is final without a sale.
  INSERT INTO orders_awaiting_sale (order_id)
  SELECT DISTINCT e.order_id FROM e
   WHERE e.order_id <> '' AND e.rule <> 'deposit'
     AND NOT EXISTS (SELECT 1 FROM order_settlements o WHERE o.order_id = e.order_id)
  ON CONFLICT (order_id) DO NOTHING
), l AS (
  INSERT INTO journal_lines (entry_id, party, account, currency, amount_minor, order_id, created_at)
  SELECT e.id, p.party, p.account, p.currency, p.amount, p.order_id, e.created_at
    FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[], $18::text[])
         WITH ORDINALITY AS p(entry_id, party, account, currency, amount, order_id, n)
    JOIN e ON e.id = p.entry_id
   ORDER BY p.n
  RETURNING id, entry_id, party, account
)
SELECT e.id AS entry_id, e.created_at, NULL::bigint AS line_id, NULL::text AS party, NULL::text AS account FROM e
UNION ALL
SELECT l.entry_id, NULL, l.id, l.party, l.account FROM l
"""

_ORDERS = """
SELECT order_id, currency, channel_id, seller, gross, fee_rate_bps, brand_share_bps, fulfillment_fee_bps,
       reported_paid, reported_refunded, cancelled
  FROM order_settlements WHERE order_id = ANY($1::text[])
"""

_ADD_ORDERS = """
WITH added AS (
INSERT INTO order_settlements (order_id, currency, channel_id, seller, gross, fee_rate_bps, brand_share_bps,
                               fulfillment_fee_bps, reported_paid, reported_refunded, cancelled)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::int[], $8::int[],
                     $9::bigint[], $10::bigint[], $11::bool[]) AS u
 ORDER BY 1
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id
), settled AS (
  -- Its sale booked, the order's row says whether it is final (held_query): no longer awaiting it.
  DELETE FROM orders_awaiting_sale w USING added WHERE w.order_id = added.order_id
)
SELECT order_id FROM added
"""

# What orders last reported (monotonic: a late, older event cannot lower it). `o.order_id = ANY($1)` beside the
# join, for the primary key: the join alone was a seq scan of every order ever settled (test_posting_plans.py).
_NOTE_REPORTS = """
UPDATE order_settlements o
   SET reported_paid = greatest(o.reported_paid, u.paid),
       reported_refunded = greatest(o.reported_refunded, u.refunded),
       updated_at = now()
  FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS u(order_id, paid, refunded)
 WHERE o.order_id = u.order_id AND o.order_id = ANY($1::text[])
"""

# Monotonic: the first event showing the order final sets final_at; a later, older or redelivered one leaves it.
_MARK_FINAL = """
UPDATE order_settlements SET final_at = now(), updated_at = now()
 WHERE order_id = ANY($1::text[]) AND final_at IS NULL
"""

# A paid order of nothing read final: its note (made now if no entry made it yet, which a later posting's
# ON CONFLICT DO NOTHING keeps) says so, once; a later, older event never undoes it.
_NOTE_FINAL_WITHOUT_SALE = """
INSERT INTO orders_awaiting_sale (order_id, final_at)
SELECT order_id, now() FROM unnest($1::text[]) AS order_id ORDER BY 1
ON CONFLICT (order_id) DO UPDATE SET final_at = EXCLUDED.final_at WHERE orders_awaiting_sale.final_at IS NULL
"""

_CHANNELS = """
SELECT channel_id, type, owner_dealer_id, fee_rate_bps, version FROM channels WHERE channel_id = ANY($1::text[])
"""

# Each (channel, version) wanted: that version's terms, else the nearest older one held, else the oldest held
# (versions before the history was kept, migration 0007); no row while every version held is older than the
# one wanted (its event has not been read yet).
_CHANNEL_VERSIONS = """
SELECT w.channel_id, w.wanted, t.type, t.owner_dealer_id, t.fee_rate_bps, t.version
FROM unnest($1::text[], $2::bigint[]) AS w(channel_id, wanted)
JOIN LATERAL (SELECT * FROM channel_terms t WHERE t.channel_id = w.channel_id
              ORDER BY t.version > w.wanted, abs(t.version - w.wanted) LIMIT 1) t ON true
WHERE EXISTS (SELECT 1 FROM channel_terms k WHERE k.channel_id = w.channel_id AND k.version >= w.wanted)
"""

_ENTRY_HEADS = "SELECT key, id, created_at FROM journal_entries WHERE key = ANY($1::text[])"


def _posting(p: Posting) -> dict[str, Any]:
    return {"party": p.party, "account": p.account, "amount": p.amount}


def settlement_of(r: Any) -> OrderSettlement:
    """An order_settlements row (a record or a mapping) as the domain's settlement."""
    return OrderSettlement(
        order_id=r["order_id"],
        currency=r["currency"],
        channel_id=r["channel_id"],
        seller=r["seller"],
        gross=int(r["gross"]),
        terms=SaleTerms(r["fee_rate_bps"], r["brand_share_bps"], r["fulfillment_fee_bps"]),
        reported_paid=int(r["reported_paid"]),
        reported_refunded=int(r["reported_refunded"]),
        cancelled=r["cancelled"],
    )


async def orders(driver: Any, order_ids: Iterable[str]) -> dict[str, OrderSettlement]:
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    return {r["order_id"]: settlement_of(r) for r in await driver.fetch(_ORDERS, wanted)}


async def add_orders(driver: Any, settlements: Sequence[OrderSettlement]) -> set[str]:
    """Insert the settlements no other transaction recorded first; returns the order ids inserted."""
    if not settlements:
        return set()
    heads = _columns(settlements, "order_id", "currency", "channel_id", "seller", "gross")
    terms = _columns([s.terms for s in settlements], "fee_rate_bps", "brand_share_bps", "fulfillment_fee_bps")
    reports = _columns(settlements, "reported_paid", "reported_refunded", "cancelled")
    rows = await driver.fetch(_ADD_ORDERS, *heads, *terms, *reports)
    return {r["order_id"] for r in rows}


def _columns(items: Sequence[Any], *names: str) -> list[list[Any]]:
    """One array per attribute, for an `unnest` of the items."""
    return [[getattr(item, name) for item in items] for name in names]


async def note_reports(driver: Any, reports: dict[str, tuple[int, int]]) -> None:
    """What orders said each order was paid and refunded (order id -> (paid, refunded))."""
    if not reports:
        return
    ids = sorted(reports)
    await driver.execute(_NOTE_REPORTS, ids, [reports[i][0] for i in ids], [reports[i][1] for i in ids])


async def mark_final(driver: Any, order_ids: Iterable[str]) -> None:
    """The orders' income may be paid out from now on (rules.is_final)."""
    ids = sorted(set(order_ids))
    if ids:
        await driver.execute(_MARK_FINAL, ids)


async def note_final_without_sale(driver: Any, order_ids: Iterable[str]) -> None:
    """Paid orders of nothing (no sale is ever booked) read final: payouts pay what was posted to them."""
    ids = sorted(set(order_ids))
    if ids:
        await driver.execute(_NOTE_FINAL_WITHOUT_SALE, ids)


async def channels(driver: Any, channel_ids: Iterable[str]) -> dict[str, ChannelTerms]:
    wanted = sorted({c for c in channel_ids if c})
    if not wanted:
        return {}
    return {
        r["channel_id"]: ChannelTerms(
            channel_id=r["channel_id"],
            type=ChannelType(r["type"]),
            owner_dealer_id=r["owner_dealer_id"],
            fee_rate_bps=r["fee_rate_bps"],
            version=int(r["version"]),
        )
        for r in await driver.fetch(_CHANNELS, wanted)
    }


async def terms(driver: Any, wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], ChannelTerms]:
    """Channel terms by (channel, version) as `OrderFacts.terms_key` names them: version 0 is the newest held
    (`channels`), any other that version (`_CHANNEL_VERSIONS`). A key is missing while its terms are not here."""
    keys = sorted({k for k in wanted if k[0]})
    found: dict[tuple[str, int], ChannelTerms] = {}
    for channel_id, terms_ in (await channels(driver, [c for c, v in keys if v <= 0])).items():
        found[(channel_id, 0)] = terms_
    versioned = [(c, v) for c, v in keys if v > 0]
    if versioned:
        rows = await driver.fetch(_CHANNEL_VERSIONS, [c for c, _ in versioned], [v for _, v in versioned])
        for r in rows:
            found[(r["channel_id"], int(r["wanted"]))] = ChannelTerms(
                channel_id=r["channel_id"],
                type=ChannelType(r["type"]),
                owner_dealer_id=r["owner_dealer_id"],
                fee_rate_bps=r["fee_rate_bps"],
                version=int(r["version"]),
            )
    return found


async def entry_heads(driver: Any, keys: Iterable[str]) -> dict[str, tuple[str, datetime]]:
    """Posted entries' ids and posting times, by business key."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    return {r["key"]: (r["id"], r["created_at"]) for r in await driver.fetch(_ENTRY_HEADS, wanted)}


async def post(driver: Any, entries: Sequence[JournalEntry], ids: Sequence[str]) -> list[list[JournalLine] | None]:
    """Write each entry (with its id from `ids`) whose key is not posted yet, with its lines, in one statement.
    Returns each entry's lines as written, or None for an entry whose key was already posted."""
    lines = [(entry_id, e, p) for entry_id, e in zip(ids, entries, strict=True) for p in e.postings]
    rows = await driver.fetch(
        _POST,
        list(ids),
        [e.key for e in entries],
        [e.rule.value for e in entries],
        [e.currency for e in entries],
        [e.order_id for e in entries],
        [e.source.event_id[:64] for e in entries],
        [e.source.subject[:255] for e in entries],
        [e.memo[:500] for e in entries],
        [e.source.occurred_at for e in entries],
        [e.reference[:255] for e in entries],
        [e.corrects_entry_id for e in entries],
        [e.corrects_period_end for e in entries],
        [entry_id for entry_id, _, _ in lines],
        [p.party for _, _, p in lines],
        [p.account for _, _, p in lines],
        [e.currency for _, e, _ in lines],
        [p.amount for _, _, p in lines],
        [e.order_id for _, e, _ in lines],
    )
    posted_at: dict[str, datetime] = {}
    line_ids: dict[tuple[str, str, str], int] = {}
    for r in rows:
        if r["line_id"] is None:
            posted_at[r["entry_id"]] = r["created_at"]
        else:
            line_ids[(r["entry_id"], r["party"], r["account"])] = r["line_id"]
    out: list[list[JournalLine] | None] = []
    for entry_id, e in zip(ids, entries, strict=True):
        at = posted_at.get(entry_id)
        if at is None:
            out.append(None)
            continue
        e.id, e.created_at = entry_id, at
        # The line's own fields; the rest (currency, order, memo, reference, what it corrects) are the entry's.
        src: dict[str, Any] = {"source_event_id": e.source.event_id, "source_subject": e.source.subject}
        src |= {"occurred_at": e.source.occurred_at, "rule": e.rule.value, "entry_id": entry_id}
        written = [
            build(JournalLine, e, id=line_ids[(entry_id, p.party, p.account)], **_posting(p), **src) for p in e.postings
        ]
        out.append(sorted(written, key=lambda ln: ln.id))
    return out
