"""What an on-call operator looks at when customers say their order is stuck: orders waiting on inventory or on
the customer, and the stock requests inventory refused. Read by the orders service for its gauges
(entrypoints/waiting_gauges.py) and by `onepool orders stuck` (the CLI reads the orders schema directly, as
`onepool outbox status` does, so it works while the service is down).

What waits, and what it waits on:
- awaiting_reservation: PENDING, PlaceOrder's Reserve not answered (inventory unreachable, or the process died); the
  recovery loop drives it again and cancels it past `pending_timeout_seconds`. Read on `orders_pending`.
- awaiting_payment: RESERVED, the customer has not paid. Normal until its reservation expires; one RESERVED
  long past `reservation_expires_at` means inventory's ReservationExpired never reached orders.
- balance_overdue: DEPOSIT_PAID past `balance_due_at`; the balance sweeper lapses these within seconds, so any
  that stay mean the sweeper is not running. Read on `orders_balance_due`.
- awaiting_inventory: a change inventory has not applied yet (a payment's commit, a release, a restock): its
  stock request is still open, retried with backoff, its last error kept. Read on `stock_requests_open`.
- goods_overdue: paid (PAID, FULFILLING, DEPOSIT_PAID) with a line whose units wait for goods (presale,
  backorder) past the date they were promised: the receipt is late and nobody moved its date (customers are
  told only when it moves), or inventory's fill has not reached orders. Lines waiting with no date (a
  backorder) are not counted: nothing says they are late. Not "awaiting stock": waiting for goods before
  their date is normal, and an order in that state is never counted.
Refused stock requests (inventory answered no for good) are set aside with the error, never purged, and read on
`stock_requests_refused`.

Every statement reads a partial index (awaiting payment: `orders_awaiting_payment`, migration 0017; goods
overdue: `orders_paid_open`, migration 0019, then the lines by primary key), never the whole history: see
docs/reliability.md for figures.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


class Waiting(StrEnum):
    # Not "awaiting_stock": in OnePool that means lines waiting for goods (AWAITING_STOCK), which GOODS covers.
    RESERVATION = "awaiting_reservation"
    PAYMENT = "awaiting_payment"
    BALANCE = "balance_overdue"
    INVENTORY = "awaiting_inventory"
    GOODS = "goods_overdue"


# The reads' rows, kept as the tuples they come as (`RefusedRequest(*row)`), with names.
class WaitingCount(NamedTuple):
    state: Waiting
    orders: int
    oldest_age_seconds: float


class StuckOrder(NamedTuple):
    order_id: str
    channel_id: str
    state: Waiting
    status: str
    since: datetime
    reason: str


class RefusedRequest(NamedTuple):
    seq: int
    order_id: str
    channel_id: str
    kind: str
    refused_at: datetime
    order_status: str
    error: str


# The statuses of an order paid (in full or a deposit) whose goods have not all left.
_PAID = "'PAID', 'FULFILLING', 'DEPOSIT_PAID'"

# One row per state: how many orders wait, and since when the oldest has (each branch on its own index).
COUNTS = f"""
SELECT 'awaiting_reservation', count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
  FROM orders WHERE status = 'PENDING'
UNION ALL
SELECT 'awaiting_payment', count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)
  FROM orders WHERE status = 'RESERVED'
UNION ALL
SELECT 'balance_overdue', count(*), coalesce(extract(epoch FROM now() - min(balance_due_at)), 0)
  FROM orders WHERE status = 'DEPOSIT_PAID' AND balance_due_at <= now()
UNION ALL
SELECT 'awaiting_inventory', count(DISTINCT order_id), coalesce(extract(epoch FROM now() - min(created_at)), 0)
  FROM stock_requests WHERE done_at IS NULL AND failed_at IS NULL
UNION ALL
SELECT 'goods_overdue', count(l.due), coalesce(extract(epoch FROM now() - min(l.due)), 0)
  FROM orders o CROSS JOIN LATERAL
       (SELECT min(promised_at) AS due FROM order_lines
         WHERE order_id = o.id AND awaiting_quantity > 0 AND promised_at <= now()) l
 WHERE o.status IN ({_PAID})
"""

# The waiting orders whose wait began before :before, oldest first; each branch stops at :limit.
STUCK = f"""
(SELECT id, channel_id, 'awaiting_reservation' AS state, status, created_at AS since,
        'inventory has not answered its Reserve; the recovery loop tries again at '
        || coalesce(to_char(next_recovery_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '-') AS reason
   FROM orders WHERE status = 'PENDING' AND created_at <= :before ORDER BY created_at LIMIT :limit)
UNION ALL
(SELECT id, channel_id, 'awaiting_payment', status, created_at,
        CASE WHEN reservation_expires_at <= now()
             THEN 'reservation expired at ' || to_char(reservation_expires_at AT TIME ZONE 'UTC',
                  'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' and the order is still not cancelled'
             ELSE 'not paid; reservation expires at ' || coalesce(to_char(reservation_expires_at AT TIME ZONE 'UTC',
                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '-') END
   FROM orders WHERE status = 'RESERVED' AND created_at <= :before ORDER BY created_at LIMIT :limit)
UNION ALL
(SELECT id, channel_id, 'balance_overdue', status, balance_due_at, 'balance not paid and the order not lapsed'
   FROM orders WHERE status = 'DEPOSIT_PAID' AND balance_due_at <= :before ORDER BY balance_due_at LIMIT :limit)
UNION ALL
(SELECT o.id, o.channel_id, 'awaiting_inventory', o.status, r.created_at,
        r.kind || ' not applied by inventory after ' || r.attempts || ' attempt(s)'
        || coalesce(': ' || r.last_error, '')
   FROM (SELECT DISTINCT ON (order_id) order_id, kind, attempts, last_error, created_at FROM stock_requests
          WHERE done_at IS NULL AND failed_at IS NULL ORDER BY order_id, seq) r
   JOIN orders o ON o.id = r.order_id
  WHERE r.created_at <= :before ORDER BY r.created_at LIMIT :limit)
UNION ALL
(SELECT o.id, o.channel_id, 'goods_overdue', o.status, l.promised_at,
        l.awaiting_quantity || ' x ' || l.sku || ' promised for '
        || to_char(l.promised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        || ' not arrived: the receipt is late and its date not moved, or the fill has not reached orders'
   FROM orders o CROSS JOIN LATERAL
        (SELECT sku, awaiting_quantity, promised_at FROM order_lines
          WHERE order_id = o.id AND awaiting_quantity > 0 AND promised_at <= :before
          ORDER BY promised_at LIMIT 1) l
  WHERE o.status IN ({_PAID}) ORDER BY l.promised_at LIMIT :limit)
ORDER BY since LIMIT :limit
"""

_REFUSED = """
SELECT r.seq, r.order_id, coalesce(o.channel_id, ''), r.kind, r.failed_at, coalesce(o.status, ''),
       coalesce(r.last_error, '')
  FROM stock_requests r LEFT JOIN orders o ON o.id = r.order_id
 WHERE r.failed_at IS NOT NULL
 ORDER BY r.failed_at DESC, r.seq DESC LIMIT :limit
"""


async def waiting_counts(conn: AsyncConnection) -> list[WaitingCount]:
    """Every state, with 0 orders and age 0 when none waits (a gauge that vanishes cannot be alerted on)."""
    rows = await conn.execute(text(COUNTS))
    return [WaitingCount(Waiting(state), int(count), max(0.0, float(age))) for state, count, age in rows]


async def stuck_orders(conn: AsyncConnection, older_than_seconds: float, limit: int) -> list[StuckOrder]:
    """Orders waiting longer than `older_than_seconds`, oldest first, at most `limit`."""
    before = await conn.scalar(text("SELECT now() - make_interval(secs => :s)"), {"s": older_than_seconds})
    rows = await conn.execute(text(STUCK), {"before": before, "limit": limit})
    return [StuckOrder(r[0], r[1], Waiting(r[2]), r[3], r[4], r[5]) for r in rows]


async def refused_requests(conn: AsyncConnection, limit: int) -> list[RefusedRequest]:
    """The stock requests inventory refused, newest first, at most `limit`."""
    rows = await conn.execute(text(_REFUSED), {"limit": limit})
    return [RefusedRequest(*r) for r in rows]
