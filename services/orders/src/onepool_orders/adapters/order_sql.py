"""The order's hot statements, written by hand for asyncpg (run on `UnitOfWork.driver()`, in the unit of work's
transaction), and the mapping of their rows to the domain.

Why by hand: PlaceOrder and the lifecycle commands run a few statements each, and SQLAlchemy's work per
statement (cache key, compile, parameters, result rows, the greenlet hop) cost several times asyncpg's own.
Each statement here does what took several before:

- `SELECT_*`: an order with its lines and fulfillments in one statement (arrays of rows), not three.
- `INSERT_ORDER`: the order and all its lines in one statement; nothing at all if the external order id is
  taken (a concurrent insert of the same id waits on the unique index until the first commits). It also
  reads which of the buyer's identities are known (`KNOWN_IDENTITIES`), so that a returning customer's
  order needs no look-up of its own when its reservation is recorded.
- `SAVE_ORDER`: the order row, the lines and fulfillments that changed (only those: recording a reservation
  no longer rewrites every line), the new stock requests and the order's new events (its outbox rows), in one
  statement; none of it when the order row's condition does not hold.

Failure modes: asyncpg's errors (constraint violations, lost connections), classified by the runtime like
SQLAlchemy's.
"""

from __future__ import annotations

import json
from typing import Any

from onepool_kernel.money import Money
from onepool_kernel.presale import DepositRule
from onepool_runtime import outbox

from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.customers import Identity
from onepool_orders.domain.model import (
    CustomerInfo,
    Fulfillment,
    FulfillmentMode,
    FulfillmentPreference,
    FulfillmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PlacedPrices,
    Shortage,
)

_SELECT = """
SELECT o.id, o.channel_id, o.external_order_id, o.customer, o.fulfillment, o.status, o.created_at, o.updated_at,
       o.dealer_id, o.customer_id, o.payment_ttl_seconds, o.reservation_id, o.reservation_expires_at,
       o.reserve_attempt, o.currency, o.paid_minor, o.refunded_minor, o.payment_ref, o.status_reason, o.shortfalls,
       o.shipping_fee_minor, o.deposit_minor, o.deposit_ref, o.balance_due_at, o.deposit_kept_minor, o.stock_seen_at,
       o.address_as_of, o.placed_address, o.revision, o.channel_version, o.deposit_rule, o.stock_versions,
       o.promise_broken_at, o.returnable_until, o.return_window_closed, o.prices_as_of, o.placed_prices,
       COALESCE((SELECT c.return_window_days FROM channels c WHERE c.id = o.channel_id), 7) AS return_window_days,
       ARRAY(SELECT row(l.sku, l.quantity, l.unit_price_minor, l.channel_sku, l.returned_quantity, l.discount_minor,
                        l.awaiting_quantity, l.promised_at)
             FROM order_lines l WHERE l.order_id = o.id ORDER BY l.line_no) AS lines,
       ARRAY(SELECT row(f.id, f.location_id, f.lines, f.status, f.owner_dealer_id, f.tracking_no, f.shipped_at)
             FROM fulfillments f WHERE f.order_id = o.id ORDER BY f.seq) AS fulfillments
FROM orders o
"""
SELECT_ONE = _SELECT + "WHERE o.id = $1"
SELECT_BY_EXTERNAL = _SELECT + "WHERE o.channel_id = $1 AND o.external_order_id = $2"
SELECT_MANY = _SELECT + "WHERE o.id = ANY($1::text[])"
# Locks the order row and reads it whole. A statement that waited for the lock returns the row as its holder
# committed it, but reads lines and fulfillments from the snapshot it started with, from before that commit.
# Every write of lines or fulfillments also writes the order row, so the row version the snapshot saw
# (`seen_version`, a subquery: read with the snapshot) differing from the one locked (`locked_version`) says
# exactly when that happened; the caller then reads the order again (SELECT_ONE, a fresh snapshot).
SELECT_LOCKED = (
    _SELECT.replace(
        "FROM orders o",
        ", o.xmin::text AS locked_version, (SELECT v.xmin::text FROM orders v WHERE v.id = o.id) AS seen_version\n"
        "FROM orders o",
    )
    + "WHERE o.id = $1 FOR UPDATE OF o"
)


def _known_identities(kinds: int, values: int) -> str:
    """(kind, value, customer_id) of the pairs in parameters $kinds, $values that are claimed; the `= ANY`
    terms are for the index (see KNOWN_IDENTITIES)."""
    return (
        f"SELECT kind, value, customer_id FROM customer_identities "
        f"WHERE kind = ANY(${kinds}::text[]) AND value = ANY(${values}::text[]) "
        f"AND (kind, value) IN (SELECT * FROM unnest(${kinds}::text[], ${values}::text[]))"
    )


INSERT_ORDER = f"""
WITH o AS (
  INSERT INTO orders (id, channel_id, external_order_id, customer_id, dealer_id, status, status_reason, currency,
                      total_minor, paid_minor, refunded_minor, payment_ref, reservation_id, reserve_attempt,
                      payment_ttl_seconds, customer, fulfillment, shortfalls, next_recovery_at, created_at, updated_at,
                      shipping_fee_minor, address_as_of, prices_as_of)
  VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, 0, 0, '', '', 0, $9, $10::jsonb, $11::jsonb, '[]'::jsonb, $12, $13, $13,
          $19, $20, $23)
  ON CONFLICT ON CONSTRAINT orders_channel_external_id DO NOTHING
  RETURNING id
), added AS (
  INSERT INTO order_lines (order_id, sku, line_no, quantity, unit_price_minor, channel_sku, returned_quantity,
                           discount_minor)
  SELECT o.id, l.sku, l.n - 1, l.quantity, l.price, l.channel_sku, 0, l.discount
  FROM o, unnest($14::text[], $15::int[], $16::bigint[], $17::text[], $18::bigint[])
          WITH ORDINALITY AS l(sku, quantity, price, channel_sku, discount, n)
  RETURNING order_id)
SELECT EXISTS (SELECT FROM added) AS added,
       ARRAY(SELECT row(k.kind, k.value, k.customer_id) FROM ({_known_identities(21, 22)}) k) AS known
"""

# With $26 set, only an order still PENDING at that reserve attempt and without a reservation is written (the
# saga records a reservation on the order it placed without locking and reading it again; see handlers).
# $27..$30: the order's new events as outbox columns (onepool_runtime.outbox.columns); $31..$37 presale: the
# changed lines' waiting units and promises, the deposit, its reference, the balance deadline, the kept deposit
# and the reservation state last followed; $38 the fulfillment preference when it changed (a new delivery
# address), else NULL and it stays; $39, $40 when the address took effect and the address as placed; $41 the
# order's new revision (the pending case also asks that nothing was saved since it was placed: the revision
# stored is one less); $42 the channel version of the first payment; $43 the deposit rule the deposit was paid
# under (NULL: none, or not known); $44 the inventory allocation versions the lines followed (`versions_json`);
# $45 when the seller first broke a promise to the customer holding a deposit (Order.promise_broken_at); $46,
# $47 the return deadline and whether its closing was published; $48..$51 the prices (RepriceOrder): the
# total, the shipping fee, when the prices took effect and the prices as placed (`prices_json`); $52 the
# changed lines' discounts.
SAVE_ORDER = """
WITH o AS (
  UPDATE orders SET status = $2, status_reason = $3, customer_id = $4, paid_minor = $5, refunded_minor = $6,
                    payment_ref = $7, reservation_id = $8, reservation_expires_at = $9, reserve_attempt = $10,
                    shortfalls = $11::jsonb, updated_at = $12, deposit_minor = $33, deposit_ref = $34,
                    balance_due_at = $35, deposit_kept_minor = $36, stock_seen_at = $37,
                    fulfillment = COALESCE($38::jsonb, fulfillment), address_as_of = $39, placed_address = $40,
                    revision = $41::bigint, channel_version = $42::bigint, deposit_rule = $43::text,
                    stock_versions = $44::jsonb, promise_broken_at = $45::timestamptz,
                    returnable_until = $46::timestamptz, return_window_closed = $47::boolean,
                    total_minor = $48::bigint, shipping_fee_minor = $49::bigint, prices_as_of = $50::timestamptz,
                    placed_prices = $51::jsonb
  WHERE id = $1 AND ($26::int IS NULL OR (status = 'PENDING' AND reserve_attempt = $26 AND reservation_id = ''
                                         AND revision = $41::bigint - 1))
  RETURNING id, created_at),
l AS (
  UPDATE order_lines SET returned_quantity = v.returned, awaiting_quantity = v.awaiting, promised_at = v.promised_at,
                         discount_minor = v.discount
  FROM unnest($13::text[], $14::int[], $31::int[], $32::timestamptz[], $52::bigint[])
         AS v(sku, returned, awaiting, promised_at, discount)
  WHERE order_lines.order_id = $1 AND order_lines.sku = v.sku AND EXISTS (SELECT FROM o)),
f AS (
  INSERT INTO fulfillments (id, order_id, seq, location_id, owner_dealer_id, status, tracking_no, lines, shipped_at,
                            order_created_at)
  SELECT v.id, $1, v.seq, v.location_id, v.owner, v.status, v.tracking_no, v.lines::jsonb, v.shipped_at,
         (SELECT created_at FROM o)
  FROM unnest($15::text[], $16::int[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
              $22::timestamptz[]) AS v(id, seq, location_id, owner, status, tracking_no, lines, shipped_at)
  WHERE EXISTS (SELECT FROM o)
  ON CONFLICT (id) DO UPDATE
  SET status = excluded.status, tracking_no = excluded.tracking_no, shipped_at = excluded.shipped_at),
r AS (
  INSERT INTO stock_requests (order_id, kind, payload, attempts, not_before)
  SELECT $1, v.kind, v.payload::jsonb, 0, $25
  FROM unnest($23::text[], $24::text[]) WITH ORDINALITY AS v(kind, payload, n)
  WHERE EXISTS (SELECT FROM o)
  ORDER BY v.n),
e AS (
  INSERT INTO outbox (id, subject, payload, headers)
  SELECT v.id, v.subject, v.payload, v.headers::jsonb
  FROM unnest($27::text[], $28::text[], $29::bytea[], $30::text[])
         WITH ORDINALITY AS v(id, subject, payload, headers, n)
  WHERE EXISTS (SELECT FROM o)
  ORDER BY v.n)
SELECT count(*) FROM o
"""

# The balance sweeper's claim (handlers.lapse_overdue_balances): locked until its transaction ends.
CLAIM_OVERDUE_BALANCES = """
SELECT id FROM orders
WHERE status = 'DEPOSIT_PAID' AND balance_due_at <= now()
ORDER BY balance_due_at
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

# The return-window closer's claim (handlers.close_return_windows): locked until its transaction ends, rows
# another closer holds skipped; once closed an order no longer matches (index orders_return_window_open). Due by
# $2, the closer's clock, which the domain closes by too: the database's own now() ahead of it claimed rows
# the domain found not yet due, every pass, without closing them.
CLAIM_CLOSING_WINDOWS = """
SELECT id FROM orders
WHERE returnable_until IS NOT NULL AND NOT return_window_closed AND returnable_until <= $2::timestamptz
ORDER BY returnable_until
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

# Orders whose goods all left with no deadline: shipped by a replica of the release before the return window,
# whose save does not write it (a rolling upgrade). The closer fixes their deadline (Order.fix_missed_return_window)
# and so each leaves this list; the index orders_return_window_unfixed holds only them, so it stays tiny.
CLAIM_UNFIXED_WINDOWS = """
SELECT id FROM orders
WHERE returnable_until IS NULL AND status IN ('SHIPPED', 'COMPLETED')
LIMIT $1
FOR UPDATE SKIP LOCKED
"""

# The command outbox's sender (StockRequestRepository): each one statement, so each runs without a transaction.
_OPEN = "done_at IS NULL AND failed_at IS NULL"
CLAIM_NEXT_REQUEST = f"""
UPDATE stock_requests SET not_before = now() + make_interval(secs => $2), attempts = attempts + 1
WHERE seq = (SELECT seq FROM stock_requests WHERE order_id = $1 AND {_OPEN} ORDER BY seq LIMIT 1)
  AND (attempts = 0 OR not_before <= now()) AND {_OPEN}
RETURNING seq, order_id, attempts, kind, payload
"""
REQUEST_DONE = "UPDATE stock_requests SET done_at = now() WHERE seq = $1"

# The `= ANY` terms are for the index: the pairs alone were hash-joined with a seq scan of the whole table while it
# was small enough for that to be the planner's estimate, on every order.
KNOWN_IDENTITIES = _known_identities(1, 2)
CLAIM_IDENTITIES = """
INSERT INTO customer_identities (kind, value, customer_id)
SELECT i.kind, i.value, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(kind, value, n) ORDER BY i.n
ON CONFLICT DO NOTHING
RETURNING kind, value
"""
INSERT_CUSTOMER = "INSERT INTO customers (id) VALUES ($1)"
DELETE_CUSTOMER = "DELETE FROM customers WHERE id = $1"

# What a loaded or saved order looked like in the database: (line states: returned and waiting units and the
# promise, fulfillment states by id, the fulfillment preference or None when unknown).
Stored = tuple[tuple[tuple[Any, ...], ...], dict[str, tuple[Any, ...]], FulfillmentPreference | None]


def lines_json(lines: tuple[sr.StockLine, ...]) -> list[dict[str, Any]]:
    return [{"sku": ln.sku, "quantity": ln.quantity} for ln in lines]


def lines_back(data: list[dict[str, Any]]) -> tuple[sr.StockLine, ...]:
    return tuple(sr.StockLine(d["sku"], int(d["quantity"])) for d in data)


def customer_json(c: CustomerInfo) -> str:
    return json.dumps(
        {
            "channel_customer_id": c.channel_customer_id,
            "phone": c.phone,
            "member_id": c.member_id,
            "name": c.name,
            "email": c.email,
        }
    )


def preference_json(p: FulfillmentPreference) -> str:
    return json.dumps(
        {
            "mode": p.mode.value,
            "region": p.region,
            "address": p.address,
            "pickup_location_id": p.pickup_location_id,
            "allow_split": p.allow_split,
        }
    )


def versions_json(versions: dict[tuple[str, str], int]) -> str:
    """Order.stock_versions as stored: [sku, location_id, version] triples (a SKU may hold any character, so
    no joined key)."""
    return json.dumps([[sku, location, v] for (sku, location), v in sorted(versions.items())])


def versions_back(data: list[list[Any]] | None) -> dict[tuple[str, str], int]:
    return {(str(sku), str(location)): int(v) for sku, location, v in data or []}


def prices_json(prices: PlacedPrices | None) -> str | None:
    if prices is None:
        return None
    return json.dumps(
        {"shipping_fee_minor": prices.shipping_fee_minor, "discounts": [list(d) for d in prices.discounts]}
    )


def prices_back(data: dict[str, Any] | None) -> PlacedPrices | None:
    if data is None:
        return None
    return PlacedPrices(
        int(data["shipping_fee_minor"]), tuple((str(sku), int(d)) for sku, d in data.get("discounts", []))
    )


def order_of(r: Any) -> Order:
    """A SELECT_* row as the domain's Order."""
    currency = r["currency"]
    pref = r["fulfillment"]
    return Order(
        id=r["id"],
        channel_id=r["channel_id"],
        external_order_id=r["external_order_id"],
        customer=CustomerInfo(**r["customer"]),
        lines=[
            OrderLine(sku, quantity, Money(currency, price), channel_sku, returned, discount, awaiting, promised_at)
            for sku, quantity, price, channel_sku, returned, discount, awaiting, promised_at in r["lines"]
        ],
        fulfillment=FulfillmentPreference(
            mode=FulfillmentMode(pref["mode"]),
            region=pref.get("region", ""),
            address=pref.get("address", ""),
            pickup_location_id=pref.get("pickup_location_id", ""),
            allow_split=bool(pref.get("allow_split")),
        ),
        status=OrderStatus(r["status"]),
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        dealer_id=r["dealer_id"],
        customer_id=r["customer_id"],
        payment_ttl_seconds=r["payment_ttl_seconds"],
        fulfillments=[
            Fulfillment(
                id=fid,
                location_id=location_id,
                lines=lines_back(lines),
                status=FulfillmentStatus(status),
                owner_dealer_id=owner,
                tracking_no=tracking_no,
                shipped_at=shipped_at,
            )
            for fid, location_id, lines, status, owner, tracking_no, shipped_at in r["fulfillments"]
        ],
        reservation_id=r["reservation_id"],
        reservation_expires_at=r["reservation_expires_at"],
        reserve_attempt=r["reserve_attempt"],
        paid=Money(currency, r["paid_minor"]),
        refunded=Money(currency, r["refunded_minor"]),
        payment_ref=r["payment_ref"],
        status_reason=r["status_reason"],
        shortfalls=[Shortage(s["sku"], int(s["requested"]), int(s["available"])) for s in r["shortfalls"]],
        shipping_fee_minor=r["shipping_fee_minor"],
        deposit_minor=r["deposit_minor"],
        deposit_ref=r["deposit_ref"],
        balance_due_at=r["balance_due_at"],
        deposit_kept_minor=r["deposit_kept_minor"],
        stock_seen_at=r["stock_seen_at"],
        address_as_of=r["address_as_of"],
        placed_address=r["placed_address"],
        revision=r["revision"],
        channel_version=r["channel_version"],
        deposit_rule=DepositRule(r["deposit_rule"]) if r["deposit_rule"] else None,
        stock_versions=versions_back(r["stock_versions"]),
        promise_broken_at=r["promise_broken_at"],
        returnable_until=r["returnable_until"],
        return_window_closed=r["return_window_closed"],
        prices_as_of=r["prices_as_of"],
        placed_prices=prices_back(r["placed_prices"]),
        channel_return_window_days=r["return_window_days"],
    )


def stored(order: Order) -> Stored:
    return (
        tuple(line_state(ln) for ln in order.lines),
        {f.id: _fulfillment_state(f) for f in order.fulfillments},
        order.fulfillment,
    )


def line_state(line: OrderLine) -> tuple[Any, ...]:
    """What of a line changes after it is placed."""
    return line.returned, line.awaiting, line.promised_at, line.discount_minor


def as_placed(line: OrderLine) -> tuple[Any, ...]:
    """line_state of a line as placed: nothing returned or waiting, its discount as inserted."""
    return 0, 0, None, line.discount_minor


def _fulfillment_state(f: Fulfillment) -> tuple[Any, ...]:
    return f.status, f.tracking_no, f.shipped_at


def insert_args(order: Order, recover_at: Any, identities: list[Identity]) -> tuple[Any, ...]:
    """`identities`: the buyer's, whose owners INSERT_ORDER reads back."""
    return (
        order.id,
        order.channel_id,
        order.external_order_id,
        order.customer_id,
        order.dealer_id,
        order.status.value,
        order.currency,
        order.total.amount_minor,
        order.payment_ttl_seconds,
        customer_json(order.customer),
        preference_json(order.fulfillment),
        recover_at,
        order.created_at,
        [ln.sku for ln in order.lines],
        [ln.quantity for ln in order.lines],
        [ln.unit_price.amount_minor for ln in order.lines],
        [ln.channel_sku for ln in order.lines],
        [ln.discount_minor for ln in order.lines],
        order.shipping_fee_minor,
        order.address_as_of,
        [i.kind.value for i in identities],
        [i.value for i in identities],
        order.prices_as_of,
    )


def save_args(
    order: Order,
    before: Stored,
    requests: list[tuple[str, dict[str, Any]]],
    not_before: Any,
    events: outbox.Columns,
    pending_attempt: int | None = None,
) -> tuple[Any, ...]:
    """SAVE_ORDER's arguments: the order row, only the lines, fulfillments and preference that differ from
    `before`, and the order's new events."""
    assert order.paid is not None and order.refunded is not None
    line_states, states, preference = before
    lines = [ln for i, ln in enumerate(order.lines) if i >= len(line_states) or line_states[i] != line_state(ln)]
    changed = [(seq, f) for seq, f in enumerate(order.fulfillments) if states.get(f.id) != _fulfillment_state(f)]
    return (
        order.id,
        order.status.value,
        order.status_reason[:500],
        order.customer_id,
        order.paid.amount_minor,
        order.refunded.amount_minor,
        order.payment_ref,
        order.reservation_id,
        order.reservation_expires_at,
        order.reserve_attempt,
        json.dumps([{"sku": s.sku, "requested": s.requested, "available": s.available} for s in order.shortfalls]),
        order.updated_at,
        [ln.sku for ln in lines],
        [ln.returned for ln in lines],
        [f.id for _, f in changed],
        [seq for seq, _ in changed],
        [f.location_id for _, f in changed],
        [f.owner_dealer_id for _, f in changed],
        [f.status.value for _, f in changed],
        [f.tracking_no for _, f in changed],
        [json.dumps(lines_json(f.lines)) for _, f in changed],
        [f.shipped_at for _, f in changed],
        [kind for kind, _ in requests],
        [json.dumps(payload) for _, payload in requests],
        not_before,
        pending_attempt,
        *events,
        [ln.awaiting for ln in lines],
        [ln.promised_at for ln in lines],
        order.deposit_minor,
        order.deposit_ref,
        order.balance_due_at,
        order.deposit_kept_minor,
        order.stock_seen_at,
        None if preference == order.fulfillment else preference_json(order.fulfillment),
        order.address_as_of,
        order.placed_address,
        order.revision,
        order.channel_version,
        order.deposit_rule.value if order.deposit_rule is not None else None,
        versions_json(order.stock_versions),
        order.promise_broken_at,
        order.returnable_until,
        order.return_window_closed,
        order.total.amount_minor,
        order.shipping_fee_minor,
        order.prices_as_of,
        prices_json(order.placed_prices),
        [ln.discount_minor for ln in lines],
    )
