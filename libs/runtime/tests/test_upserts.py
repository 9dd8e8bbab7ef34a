"""The runtime's upserts against real PostgreSQL: replace by key, and keep the newest version."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from onepool_runtime import db
from onepool_runtime.mapping import build, row_values
from onepool_runtime.upserts import upsert, upsert_newer, upsert_newer_rows, upsert_rows
from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

pytestmark = pytest.mark.asyncio

VIEW = Table(
    "view",
    MetaData(),
    Column("id", String(16), primary_key=True),
    Column("part", String(16), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("version", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=True),
)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    schema = f"up_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(VIEW.metadata.create_all)
    yield db.session_factory(engine)
    await engine.dispose()


async def _rows(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, int, int, bool]]:
    async with sessions() as s:
        rows = (await s.execute(select(VIEW).order_by(VIEW.c.id, VIEW.c.part))).all()
    return [(r.id, r.part, r.value, r.version, r.updated_at is not None) for r in rows]


async def test_upsert_inserts_then_replaces_every_column_but_the_key(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        await s.execute(upsert(VIEW, {"id": "a", "part": "1", "value": 1, "version": 1}, ["id", "part"]))
        await s.execute(upsert(VIEW, {"id": "a", "part": "2", "value": 2, "version": 1}, ["id", "part"]))
        await s.execute(upsert(VIEW, {"id": "a", "part": "1", "value": 5, "version": 0}, ["id", "part"], touch=True))
        await s.commit()
    assert await _rows(sessions) == [("a", "1", 5, 0, True), ("a", "2", 2, 1, False)]


async def test_upsert_rows_writes_many_rows_in_one_statement_replacing_by_key(sessions) -> None:  # type: ignore[no-untyped-def]
    columns, key = ("id", "part", "value", "version"), ("id", "part")
    async with sessions() as s:
        await s.execute(upsert(VIEW, {"id": "a", "part": "1", "value": 1, "version": 7}, key))
        rows = [{"id": "a", "part": "1", "value": 5, "version": 1}, {"id": "b", "part": "1", "value": 2, "version": 1}]
        await s.execute(upsert_rows(VIEW, columns, key, touch=True), rows)
        await s.commit()
    # Replaced whatever its version (that is upsert_newer's job), and touched; the new row inserted.
    assert await _rows(sessions) == [("a", "1", 5, 1, True), ("b", "1", 2, 1, False)]
    assert upsert_rows(VIEW, columns, key, touch=True) is upsert_rows(VIEW, columns, key, touch=True)


async def test_upsert_newer_keeps_the_newest_version(sessions) -> None:  # type: ignore[no-untyped-def]
    key = ["id", "part"]

    async def put(value: int, version: int, **options: bool) -> bool:
        async with sessions() as s:
            applied = await upsert_newer(
                s, VIEW, {"id": "a", "part": "1", "value": value, "version": version}, key, **options
            )
            await s.commit()
            return applied

    assert await put(1, 2) is True
    assert await put(9, 1) is False  # older: ignored
    assert await put(9, 2) is False  # same version: ignored unless replace_equal
    assert await _rows(sessions) == [("a", "1", 1, 2, False)]
    assert await put(3, 2, replace_equal=True) is True
    assert await put(4, 3, touch=True) is True
    assert await _rows(sessions) == [("a", "1", 4, 3, True)]
    assert await put(5, 2, replace_equal=True) is False  # older stays ignored either way
    assert await _rows(sessions) == [("a", "1", 4, 3, True)]


@dataclass(frozen=True)
class Part:
    id: str
    part: str
    value: int
    version: int = 0
    count: int = 0  # also a method of a Row (a tuple): read by column name, never the method


async def test_a_row_round_trips_through_row_values_and_build(sessions) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        await s.execute(upsert(VIEW, row_values(VIEW, Part("b", "1", 7, version=3)), ["id", "part"]))
        await s.commit()
        row = (await s.execute(select(VIEW, literal(2).label("count")).where(VIEW.c.id == "b"))).one()
    assert build(Part, row) == Part("b", "1", 7, version=3, count=2)
    async with sessions() as s:
        row = (await s.execute(select(VIEW).where(VIEW.c.id == "b"))).one()
    assert build(Part, row).count == 0  # not selected: the default, not Row.count


async def test_upsert_newer_rows_writes_what_one_upsert_newer_per_row_would(sessions) -> None:  # type: ignore[no-untyped-def]
    key = ["id", "part"]
    async with sessions() as s:
        await upsert_newer(s, VIEW, {"id": "a", "part": "1", "value": 1, "version": 5}, key)
        await s.commit()

    def row(id_: str, value: int, version: int) -> dict[str, object]:
        return {"id": id_, "part": "1", "value": value, "version": version}

    async with sessions() as s:
        written = await upsert_newer_rows(
            s,
            VIEW,
            # a: older than stored, then newer; b: new, with a repeat at the same version and an older one
            [row("a", 2, 4), row("b", 7, 2), row("a", 3, 6), row("b", 8, 2), row("b", 6, 1)],
            key,
        )
        await s.commit()
    assert written == {("a", "1"), ("b", "1")}
    assert await _rows(sessions) == [("a", "1", 3, 6, False), ("b", "1", 7, 2, False)]
    async with sessions() as s:
        assert await upsert_newer_rows(s, VIEW, [row("a", 9, 6), row("b", 9, 1)], key) == set()
        assert await upsert_newer_rows(s, VIEW, [], key) == set()
