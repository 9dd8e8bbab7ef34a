"""The base of every service's repositories: the unit of work's session, and the unit itself; and the
statements every repository writes the same way (a row by id, a keyset page).

A repository reports each aggregate it loads for change, or adds, to the unit (`self._uow.track`), so the
events the aggregate records are written to the outbox in the same transaction.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork


class Repository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow


def by_id(table: Table, ident: str, *, lock: bool = False) -> Select[Any]:
    """The row of `table` whose `id` is `ident`; with `lock`, locked FOR UPDATE (to be changed in this
    transaction, so concurrent changers of the same aggregate queue instead of overwriting each other)."""
    query = select(table).where(table.c.id == ident)
    return query.with_for_update() if lock else query


def page(table: Table, order: str, after: tuple[Any, str] | None, limit: int, **equal: object) -> Select[Any]:
    """A keyset page of `table` in (`order`, `id`) order (a name or code, then the id for rows that share it):
    at most `limit` rows after the (order value, id) `after` of the last row sent, keeping only rows whose
    columns equal the values given by name (an enum by its value); a filter given as None is no filter (an
    empty string is a value: the caller says which of its fields mean "any")."""
    key = (table.c[order], table.c.id)
    query = select(table)
    if after is not None:
        query = query.where(tuple_(*key) > tuple_(*after))
    for column, value in equal.items():
        if value is not None:
            query = query.where(table.c[column] == (value.value if isinstance(value, Enum) else value))
    return query.order_by(*key).limit(limit)
