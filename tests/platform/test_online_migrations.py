"""Migrations run against a live database: an upgrade must not stop the services' writes while it builds an
index, and replicas that start together migrate once.

The retention indexes (`*_retention_indexes`) go on the inbox and the idempotency keys, tables that nothing
purged before them and so may hold millions of rows on the day of the upgrade. Built inside the migration's
transaction, `CREATE INDEX` holds a SHARE lock for the whole build, and every mutating RPC (each inserts its
key) queues behind it. Built CONCURRENTLY, the writes go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from onepool_cli.services import BY_NAME
from onepool_runtime.migrations import RETENTION_INDEXES, downgrade_sync, history, resolve, upgrade

pytestmark = pytest.mark.asyncio

MIGRATIONS = BY_NAME["orders"].migrations


def _before_retention_indexes(script_location: Path) -> str:
    (script,) = [s for s in history(script_location) if s.path.endswith("_retention_indexes.py")]
    assert isinstance(script.down_revision, str)
    return script.down_revision


@contextlib.asynccontextmanager
async def _connection(database_url: str, schema: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        yield conn
    finally:
        await conn.close()


async def _insert_key(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (key, operation, fingerprint, response) VALUES ($1, 'Op', 'f', '\\x00')", key
    )


async def _index_builds_waiting(conn: asyncpg.Connection) -> bool:
    """True once the migration's CREATE INDEX waits on a lock (the writer's open transaction)."""
    waiting = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%CREATE INDEX%'"
    )
    return bool(waiting)


async def _valid_indexes(conn: asyncpg.Connection, schema: str) -> dict[str, bool]:
    rows = await conn.fetch(
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2::text[])",
        schema,
        list(RETENTION_INDEXES),
    )
    return {r["relname"]: r["indisvalid"] for r in rows}


async def test_writes_to_the_keys_go_on_while_the_retention_indexes_build(database_url: str) -> None:
    schema = "online_build"
    await upgrade(MIGRATIONS, database_url, schema, _before_retention_indexes(MIGRATIONS))
    async with (
        _connection(database_url, schema) as writer,
        _connection(database_url, schema) as caller,
        _connection(database_url, schema) as watcher,
    ):
        # A request in flight: its transaction has inserted its key and not yet committed. Every build has to
        # wait for it; what matters is whether the requests after it wait too.
        in_flight = writer.transaction()
        await in_flight.start()
        await _insert_key(writer, "in-flight")
        migrating = asyncio.create_task(upgrade(MIGRATIONS, database_url, schema))
        try:
            async with asyncio.timeout(30):
                while not await _index_builds_waiting(watcher):
                    assert not migrating.done(), migrating.exception()
                    await asyncio.sleep(0.05)
            await caller.execute("SET lock_timeout = '3s'")
            # Before: LockNotAvailableError, the insert queued behind the build's SHARE lock request.
            await _insert_key(caller, "next-request")
            await caller.execute("INSERT INTO inbox (consumer, event_id, subject) VALUES ('c', 'e', 's')")
        finally:
            await in_flight.commit()
            await migrating
        assert await _valid_indexes(watcher, schema) == dict.fromkeys(RETENTION_INDEXES, True)
        assert await watcher.fetchval("SELECT count(*) FROM idempotency_keys") == 2


async def test_an_index_a_killed_build_left_invalid_is_built_again(database_url: str) -> None:
    schema = "invalid_left"
    await upgrade(MIGRATIONS, database_url, schema, _before_retention_indexes(MIGRATIONS))
    async with _connection(database_url, schema) as conn:
        # A concurrent build that fails leaves its index behind, INVALID: a unique one on duplicate values is the
        # failure we can cause on purpose (a build killed mid-way leaves the same).
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, subject, processed_at) VALUES "
            "('c', 'a', 's', '2026-01-01Z'), ('c', 'b', 's', '2026-01-01Z')"
        )
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("CREATE UNIQUE INDEX CONCURRENTLY inbox_processed_at ON inbox (processed_at)")
        assert (await _valid_indexes(conn, schema))["inbox_processed_at"] is False
        await upgrade(MIGRATIONS, database_url, schema)
        assert await _valid_indexes(conn, schema) == dict.fromkeys(RETENTION_INDEXES, True)
        assert not await conn.fetchval(
            "SELECT indisunique FROM pg_index WHERE indexrelid = to_regclass('inbox_processed_at')"
        )


async def _migrate_in_a_process(database_url: str, schema: str) -> None:
    """A replica's migration: its own process (alembic's `context` is one per process)."""
    code = "import sys; from onepool_runtime.migrations import upgrade_sync; upgrade_sync(*sys.argv[1:])"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(MIGRATIONS), database_url, schema, stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await child.communicate()
    assert child.returncode == 0, stderr.decode()[-3000:]


async def test_replicas_starting_together_migrate_once(database_url: str) -> None:
    schema = "replicas"
    async with _connection(database_url, "public") as conn:
        # The test holds the migration lock until all three replicas are connected and trying for it, so that
        # while one builds the indexes CONCURRENTLY the other two are waiting. A replica that waited inside a
        # transaction (blocked in pg_advisory_lock) would deadlock with the build, which waits for every older
        # snapshot to end.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        replicas = [asyncio.create_task(_migrate_in_a_process(database_url, schema)) for _ in range(3)]
        async with asyncio.timeout(60):
            while await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ) < len(replicas):
                assert not any(r.done() for r in replicas), [r.exception() for r in replicas if r.done()]
                await asyncio.sleep(0.05)
        await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
        await asyncio.gather(*replicas)
    async with _connection(database_url, schema) as conn:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == resolve(MIGRATIONS, "head")
        assert await _valid_indexes(conn, schema) == dict.fromkeys(RETENTION_INDEXES, True)


async def test_a_downgrade_drops_the_retention_indexes_and_an_upgrade_builds_them_again(database_url: str) -> None:
    schema = "down_and_up"
    before = _before_retention_indexes(MIGRATIONS)
    await upgrade(MIGRATIONS, database_url, schema)
    await asyncio.to_thread(downgrade_sync, MIGRATIONS, database_url, schema, before)
    async with _connection(database_url, schema) as conn:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == before
        assert await _valid_indexes(conn, schema) == {}
        await upgrade(MIGRATIONS, database_url, schema)
        assert await _valid_indexes(conn, schema) == dict.fromkeys(RETENTION_INDEXES, True)
