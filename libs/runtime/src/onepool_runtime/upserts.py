"""The two upserts every repository writes: replace a row by its key, and keep the newest version of a row
that events deliver in any order (read models, local copies of another service's data).

Failure modes: none of their own; the statements raise what the database raises (a constraint violated by
`values`, a `key` without a unique index: "there is no unique or exclusion constraint matching").
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession


def _replacing(stmt: Insert, columns: Iterable[str], key: Sequence[str], touch: bool) -> dict[str, Any]:
    replace: dict[str, Any] = {k: stmt.excluded[k] for k in columns if k not in key}
    if touch:
        replace["updated_at"] = func.now()
    return replace


def upsert(table: Table, values: Mapping[str, Any], key: Sequence[str], *, touch: bool = False) -> Insert:
    """INSERT `values`; when a row with the same `key` exists, replace its other columns instead (and set its
    updated_at to now() when `touch`)."""
    stmt = insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=list(key), set_=_replacing(stmt, values, key, touch))


@functools.cache
def upsert_rows(table: Table, columns: tuple[str, ...], key: tuple[str, ...], *, touch: bool = False) -> Insert:
    """`upsert` as one statement for many rows: execute it with a list of mappings of `columns`. Built once
    per shape, like `_newer`."""
    stmt = insert(table)
    return stmt.on_conflict_do_update(index_elements=list(key), set_=_replacing(stmt, columns, key, touch))


@functools.cache
def _newer(table: Table, columns: tuple[str, ...], key: tuple[str, ...], replace_equal: bool, touch: bool) -> Any:
    """The upsert-if-newer statement for rows of `columns`, built once per shape: building one (its `excluded`
    columns above all) cost more CPU than running it, on every event of a read model."""
    stmt = insert(table)
    stored, incoming = table.c.version, stmt.excluded.version
    replace: dict[str, Any] = {c: stmt.excluded[c] for c in columns if c not in key}
    if touch:
        replace["updated_at"] = func.now()
    return stmt.on_conflict_do_update(
        index_elements=list(key), set_=replace, where=stored <= incoming if replace_equal else stored < incoming
    ).returning(*(table.c[c] for c in key))


async def upsert_newer(
    session: AsyncSession,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
    *,
    replace_equal: bool = False,
    touch: bool = False,
) -> bool:
    """`upsert`, unless the stored row has a newer `version` (or the same one, unless `replace_equal`): an
    event that arrives late never overwrites what a later one wrote. True when the row was written."""
    stmt = _newer(table, tuple(values), tuple(key), replace_equal, touch)
    return (await session.execute(stmt, dict(values))).first() is not None


async def upsert_newer_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], key: Sequence[str]
) -> set[tuple[Any, ...]]:
    """`upsert_newer` of many rows in one statement (a consumer's batch of events), with the same outcome as
    one `upsert_newer` per row in turn: of rows sharing a key only the first of the highest version can be
    written. Returns the keys of the rows written."""
    newest: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in newest or row["version"] > newest[k]["version"]:
            newest[k] = row
    if not newest:
        return set()
    values = [dict(newest[k]) for k in sorted(newest)]  # one lock order for every writer of the same rows
    stmt = _newer(table, tuple(values[0]), tuple(key), False, False)
    return {tuple(r) for r in await session.execute(stmt, values)}
