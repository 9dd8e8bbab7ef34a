"""Pages of an append-only ledger that a reader following next_page_token never gets past a row still being
written: settlement's journal lines (ListEntries), inventory's stock movements (ListMovements).

The defect this closes: a row's id comes from a sequence when its transaction inserts it, not when the
transaction commits, so ids do not arrive in commit order. Paging by id, a reader that had read id 6 (committed)
never got id 5 (its transaction still open when the page was read): the next token already pointed past it.

The rule, the same for every such ledger:

- Each row stores the id of the transaction that wrote it (`xact_column()`: `pg_current_xact_id()` as a
  bigint, the 64-bit xid8, which never wraps around). A migration adds the column with the constant default 0
  (no table rewrite: every existing row reads 0, and all of them were committed before the migration took the
  table's lock), then sets `WRITING_TRANSACTION` as its default, and builds the (filters..., xact_id, id)
  indexes CONCURRENTLY.
- A page lists only rows of transactions older than every transaction still running (the statement's snapshot
  xmin): they have all ended, and no transaction can be given such an id any more, so those rows are all there
  will ever be below it.
- Pages go in (xact_id, id) order and the token carries that position (`page_cursor`, `page_position`). Not "by
  id, finished transactions only": a transaction takes its id at its first write (an idempotency key, an inbox
  row), possibly before another that inserts its rows earlier, so id order and transaction order differ. Every
  row written after a page sorts after it. A token of the id order ({"after": id}) reads as (0, id): it names
  a row written before the column existed; it may list rows written since again, never skip one.
- `read_page` waits briefly (at most HELD_BACK_WAITS x HELD_BACK_WAIT_SECONDS, 0.5 s) when a short page stops
  before rows already committed behind an older transaction still running (the outbox relays keep theirs open
  while NATS acknowledges: milliseconds), so a caller reads what it has just written.

What a reader notices: a row is listed once its transaction and every transaction older than it have ended.
The xmin is the whole database's, so a long transaction that has written anything (in any service sharing the
database, or a session left idle in a transaction) holds back the newest rows of every listing for as long as it
stays open. Ids of a listing need not increase from one transaction's rows to the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Column, ColumnElement, Select, Text, cast, func, literal, text, tuple_

from onepool_runtime.validation import page_after_int

T = TypeVar("T")
Position = tuple[int, int]  # (xact_id, id) of the last row a reader was sent; (0, 0) before the first

# The writing transaction's id as a bigint (a column default; migrations set it as text).
WRITING_TRANSACTION = "((pg_current_xact_id())::text)::bigint"
HELD_BACK_WAITS, HELD_BACK_WAIT_SECONDS = 50, 0.01

# Every transaction with a smaller id has ended (pg_snapshot_xmin of the statement's snapshot): its rows are
# final. One value per statement (stable functions), so an index bound, not a per-row call.
_FINISHED_BELOW = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)


def xact_column() -> Column[int]:
    """A ledger row's `xact_id`: the id of the transaction that wrote it, set by the database."""
    return Column(BigInteger, nullable=False, server_default=text(WRITING_TRANSACTION))


@dataclass(frozen=True)
class CommitOrder:
    """A ledger table's two ordering columns: the writing transaction's id and the row's id."""

    xact_id: ColumnElement[Any]
    id: ColumnElement[Any]

    def _past(self, after: Position) -> ColumnElement[bool]:
        position = tuple_(*(literal(value, BigInteger) for value in after))  # bigints: an xid8 outgrows an int
        return tuple_(self.xact_id, self.id) > position

    def page(self, query: Select[Any], after: Position, limit: int) -> Select[Any]:
        """`query` (its columns, joins and filters) cut to up to `limit` rows after `after`, of finished
        transactions only, in (xact_id, id) order: with an index ending in (xact_id, id) after the filters'
        columns, both bounds are one index range."""
        return (
            query.where(self._past(after), self.xact_id < _FINISHED_BELOW).order_by(self.xact_id, self.id).limit(limit)
        )

    def held_back(self, query: Select[Any], after: Position) -> Select[Any]:
        """One row (or none): whether rows of `query` after `after` were written by transactions the page leaves
        out for now (still running, or ended behind an older one still running)."""
        return (
            query.with_only_columns(literal(1), maintain_column_froms=True)
            .where(self._past(after), self.xact_id >= _FINISHED_BELOW)
            .limit(1)
        )


async def read_page(
    page: Callable[[int], Awaitable[list[T]]], held_back: Callable[[], Awaitable[bool]], limit: int
) -> tuple[list[T], bool]:
    """Up to `limit` rows (`page(n)` reads up to n of them, `held_back()` says whether rows wait behind an older
    transaction; both from the same position), and whether more follow. A short page with rows held back is
    read again after a moment, at most HELD_BACK_WAITS times. Held back is asked before the page is read:
    nothing held back then means the page, read later, holds every row committed before the call (asked after,
    an older transaction ending between the two reads would leave the caller's own row out)."""
    rows: list[T] = []
    for _ in range(HELD_BACK_WAITS):
        waiting = await held_back()
        rows = await page(limit + 1)
        if len(rows) > limit or not waiting:
            break
        await asyncio.sleep(HELD_BACK_WAIT_SECONDS)
    return rows[:limit], len(rows) > limit


def page_position(token: str, path: str = "page_token") -> Position:
    """A page token's position: the (xact_id, id) of the last row sent. A token of the id order
    ({"after": id}) reads as (0, id). A value that is not one of ours is INVALID_ARGUMENT on `path`."""
    return page_after_int(token, path, key="xact", required=False), page_after_int(token, path)


def page_cursor(xact_id: int, row_id: int) -> dict[str, int]:
    """What the next page's token carries (validation.encode_page_token, next_page)."""
    return {"xact": xact_id, "after": row_id}
