"""Stock rows and sales counters are locked in one order on every path: the code points of their keys, the order
Python sorts them in. Upserts lock in the order of their VALUES (sorted in Python); a SELECT ... FOR UPDATE or an
INSERT ... SELECT locks in its ORDER BY, which follows the database's collation unless it says COLLATE "C". On a
cluster created with en_US.UTF-8 (the usual default) "SKU1" sorts before "SKU-10" there and after it in Python,
so a receipt (upsert) and a Reserve batch (SELECT) taking the same two rows would deadlock.

This machine's PostgreSQL has no linguistic collation (built without ICU; only the C locales), so the opposite
order cannot be shown here: the first test reads the statements each locking path sends; the second shows the
order they lock in is Python's for keys where the two kinds of order disagree."""

from __future__ import annotations

import re

import pytest
from onepool_inventory.adapters import reserve_store
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from sqlalchemy import event

pytestmark = pytest.mark.asyncio

# Keys whose code-point order differs from a linguistic one: case, punctuation and accents.
SKUS = ["sku-b", "SKU-10", "SKU1", "Sku2", "sku_a", "éclair", "Zed", "zed"]


def _order_terms(sql: str) -> list[str]:
    """The terms of each ORDER BY in a statement."""
    terms = []
    for clause in re.findall(r"ORDER BY (.+?)(?:\bFOR UPDATE\b|\bON CONFLICT\b|\bLIMIT\b|\)|$)", sql, re.S):
        terms += [t.strip() for t in clause.split(",")]
    return terms


async def test_every_statement_that_locks_rows_by_text_keys_orders_them_by_code_point(inventory_host) -> None:  # type: ignore[no-untyped-def]
    sent: list[str] = []
    engine = inventory_host.infra.engine
    capture = lambda conn, cursor, statement, *rest: sent.append(statement)  # noqa: E731
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with inventory_host.infra.units(InventoryUnitOfWork)() as uow:
            await uow.levels.lock([("SKU1", "WH-a"), ("SKU-10", "WH-a")])
            await uow.levels.lock_skus(["SKU1", "SKU-10"])
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    # The service's own loops (the sweeper) share the engine: only this test's statements, on stock rows.
    locking = [s for s in sent if "FOR UPDATE" in s and "FROM stock_levels" in s]
    locking += [reserve_store._LOCK, reserve_store._LOCK_SALES]
    assert len(locking) == 4
    for sql in locking:
        terms = _order_terms(sql)
        assert terms, sql
        assert all('COLLATE "C"' in t for t in terms), sql


async def test_stock_rows_lock_in_the_order_python_sorts_their_keys(inventory_host, setup) -> None:  # type: ignore[no-untyped-def]
    units = inventory_host.infra.units(InventoryUnitOfWork)
    tag = setup.name("collate")  # one prefix: the keys' order among themselves is what they make it
    skus = [f"{tag}{s}" for s in SKUS]
    locations = [await setup.location(f"{tag}wh-B"), await setup.location(f"{tag}WH-a")]
    keys = [(s, loc) for s in skus for loc in locations]
    async with units() as uow:
        await uow.levels.lock(keys, create=True)
        await uow.commit()
    async with units() as uow:
        assert list(await uow.levels.lock(keys)) == sorted(keys)
        assert list(await uow.levels.lock_skus(skus)) == sorted(keys)
    async with inventory_host.infra.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        batch = driver.transaction()  # a Reserve batch's statements, rolled back: the counters are only locked
        await batch.start()
        try:
            rows = await driver.fetch(reserve_store._LOCK, skus)
            assert [(r["sku"], r["location_id"]) for r in rows] == sorted(keys)
            counters = sorted((f"ch-{s[-1]}", s) for s in skus)
            given = list(reversed(counters))
            rows = await driver.fetch(reserve_store._LOCK_SALES, [c for c, _ in given], [s for _, s in given])
            assert [(r["channel_id"], r["sku"]) for r in rows] == counters
        finally:
            await batch.rollback()
