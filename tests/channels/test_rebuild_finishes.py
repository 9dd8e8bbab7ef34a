"""Channels' start-up rebuild is finished by some replica, however it is cut short (audit L item 1).

It ran when `stock_positions` was empty, and each page commits on its own: after one page the read model
counted as built. A database error on the second page (the host restarted the task, which returned at once),
or a replica stopped mid-way (a rollout, a node drain; the next replica skipped it), left every other SKU at 0
sellable for good. Here the INVENTORY stream no longer holds the stock (its max age), so only the rebuild can
bring it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_channels.adapters import inventory_client
from onepool_channels.entrypoints.bootstrap import build
from onepool_channels.service_layer import rebuild as rebuild_module
from onepool_runtime import db
from onepool_runtime.embedded import free_port
from onepool_runtime.migrations import downgrade_sync, upgrade
from onepool_runtime.testing.services import running_service
from sqlalchemy import text

from tests.channels.conftest import eventually

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "channels" / "migrations"
READ_MODEL = "stock_positions, stock_locations, dedicated_stock, channel_sales, channel_stock, expected_stock"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def inventory(stack: Any) -> Any:
    await stack.start("inventory")
    return stack.stub("inventory")


@pytest.fixture
async def channels_db(stack: Any) -> AsyncIterator[Any]:
    """An engine on channels' schema (migrated), which no replica runs on yet."""
    settings = stack.settings("channels")
    await upgrade(MIGRATIONS, settings.database_url, settings.schema_name)
    engine = db.create_engine(settings.database_url, settings.schema_name)
    yield engine
    await engine.dispose()


async def estate(stack: Any, inventory: Any, admin: Any, count: int) -> list[str]:
    """`count` SKUs of 10 units at a new warehouse, their events then gone from the INVENTORY stream."""
    wh = uid("WH")
    location = ipb.Location(id=wh, name="wh", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True)
    await inventory.UpsertLocation(ipb.UpsertLocationRequest(location=location), metadata=admin)
    skus = sorted(uid("S") for _ in range(count))
    lines = [ipb.StockLine(sku=s, quantity=10) for s in skus]
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(request_id=uid("r"), location_id=wh, lines=lines), metadata=admin
    )
    infra = stack.hosts["inventory"].infra
    unpublished = "SELECT count(*) FROM outbox WHERE published_at IS NULL"

    async def pending() -> int:
        async with infra.engine.connect() as conn:
            return int((await conn.execute(text(unpublished))).scalar_one())

    await eventually(pending, lambda n: n == 0)
    nc = await nats.connect(stack.nats_url)
    try:
        await nc.jetstream().purge_stream("INVENTORY")
    finally:
        await nc.close()
    return skus


async def forget_read_model(engine: Any) -> None:
    """Channels' database as a fresh one: no read model, no record of any rebuild."""
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {READ_MODEL}"))
        if await conn.scalar(text("SELECT to_regclass('startup_runs') IS NOT NULL")):
            await conn.execute(text("DELETE FROM startup_runs"))


async def positions(engine: Any) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT sku FROM stock_positions ORDER BY sku"))).scalars())


async def finished(engine: Any) -> bool:
    async with engine.connect() as conn:
        if not await conn.scalar(text("SELECT to_regclass('startup_runs') IS NOT NULL")):
            return False
        found = await conn.execute(text("SELECT finished_at FROM startup_runs WHERE name = 'stock-rebuild'"))
        return found.scalar_one_or_none() is not None


def replica_settings(stack: Any) -> Any:
    return stack.settings("channels").model_copy(update={"grpc_port": free_port(), "rebuild_retry_seconds": 0.2})


class GatedLevels:
    """ListStockLevels that stops after its first page until `release` is set (a slow estate), counting calls."""

    def __init__(self) -> None:
        self.original = inventory_client.InventoryReader.stock_levels
        self.calls = 0
        self.first_page = asyncio.Event()
        self.release = asyncio.Event()

    def install(self, monkeypatch: Any) -> None:
        gate = self

        async def levels(reader: Any) -> Any:
            gate.calls += 1
            pages = 0
            async for page in gate.original(reader):
                yield page
                pages += 1
                if pages == 1 and not gate.release.is_set():
                    gate.first_page.set()
                    await gate.release.wait()

        monkeypatch.setattr(inventory_client, "PAGE_SIZE", 1)
        monkeypatch.setattr(inventory_client.InventoryReader, "stock_levels", levels)


async def test_a_database_error_mid_rebuild_is_retried_until_the_rebuild_finishes(  # type: ignore[no-untyped-def]
    stack, inventory, admin, channels_db, monkeypatch
) -> None:
    skus = await estate(stack, inventory, admin, 4)
    await forget_read_model(channels_db)
    monkeypatch.setattr(inventory_client, "PAGE_SIZE", 1)
    calls = {"n": 0}
    refresh = rebuild_module.stock_feed.refresh

    async def flaky_refresh(uow: Any, page: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:  # the second page's transaction loses its connection (a fail-over, a restart)
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        return await refresh(uow, page)

    monkeypatch.setattr(rebuild_module.stock_feed, "refresh", flaky_refresh)
    async with running_service(replica_settings(stack), build, MIGRATIONS):
        rebuilt = await eventually(lambda: positions(channels_db), lambda rows: set(skus) <= set(rows))
        assert calls["n"] > 3, rebuilt  # the failure happened, and the rebuild went on after it
        assert await eventually(lambda: finished(channels_db), bool)


async def test_a_rebuild_cut_short_by_a_stopped_replica_is_finished_by_the_next_and_never_run_twice_at_once(  # type: ignore[no-untyped-def]
    stack, inventory, admin, channels_db, monkeypatch
) -> None:
    skus = await estate(stack, inventory, admin, 3)
    await forget_read_model(channels_db)
    gate = GatedLevels()
    gate.install(monkeypatch)

    # Replica A reads its first page, then is stopped while reading the rest (SIGTERM during a rollout).
    async with running_service(replica_settings(stack), build, MIGRATIONS):
        await asyncio.wait_for(gate.first_page.wait(), 20)
        # Meanwhile replica B starts: it waits for A's rebuild rather than running its own beside it.
        async with running_service(replica_settings(stack), build, MIGRATIONS):
            await asyncio.sleep(1.5)
            assert gate.calls == 1
        partial_model = await positions(channels_db)
    assert len(partial_model) < len(skus) and not await finished(channels_db)

    # Replica C (A's replacement) finds the rebuild started and not finished: it runs it to the end.
    gate.release.set()
    async with running_service(replica_settings(stack), build, MIGRATIONS):
        await eventually(lambda: positions(channels_db), lambda rows: set(skus) <= set(rows))
        assert await eventually(lambda: finished(channels_db), bool)
        assert gate.calls == 2
        # Once finished, a replica starting later does not rebuild again.
        async with running_service(replica_settings(stack), build, MIGRATIONS):
            await asyncio.sleep(1.0)
        assert gate.calls == 2


async def test_a_replica_waiting_for_another_s_rebuild_skips_it_once_that_finishes(  # type: ignore[no-untyped-def]
    stack, inventory, admin, channels_db, monkeypatch
) -> None:
    skus = await estate(stack, inventory, admin, 3)
    await forget_read_model(channels_db)
    gate = GatedLevels()
    gate.install(monkeypatch)
    async with running_service(replica_settings(stack), build, MIGRATIONS):
        await asyncio.wait_for(gate.first_page.wait(), 20)
        async with running_service(replica_settings(stack), build, MIGRATIONS):
            await asyncio.sleep(0.5)
            gate.release.set()
            await eventually(lambda: finished(channels_db), bool)
            await asyncio.sleep(1.0)  # B's next look at the lock (every 0.2 s) finds the rebuild finished
            assert gate.calls == 1
        assert set(skus) <= set(await positions(channels_db))


async def test_an_upgrade_counts_a_filled_read_model_as_built_and_an_empty_one_as_not(  # type: ignore[no-untyped-def]
    stack, channels_db
) -> None:
    settings = stack.settings("channels")

    async def migrated_from_0008(rows: int) -> Any:
        await asyncio.to_thread(downgrade_sync, MIGRATIONS, settings.database_url, settings.schema_name, "0008")
        async with channels_db.begin() as conn:
            await conn.execute(text(f"TRUNCATE {READ_MODEL}"))
            for i in range(rows):
                await conn.execute(
                    text("INSERT INTO stock_positions (sku, location_id, available, version) VALUES (:s, 'WH', 5, 1)"),
                    {"s": f"OLD-{i}"},
                )
        await upgrade(MIGRATIONS, settings.database_url, settings.schema_name)
        await channels_db.dispose()  # statements its connections prepared name the table dropped and made again
        async with channels_db.connect() as conn:
            return (await conn.execute(text("SELECT name, finished_at IS NOT NULL FROM startup_runs"))).all()

    assert [tuple(r) for r in await migrated_from_0008(2)] == [("stock-rebuild", True)]
    assert await migrated_from_0008(0) == []
