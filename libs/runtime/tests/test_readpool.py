"""The hot reads' connections (readpool.py) against real PostgreSQL: reused, replaced when the server closed
them, kept after an error the server reported, dropped after one it did not, bounded."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from onepool_runtime import db
from onepool_runtime.readpool import ConnectSpec, ReadPool, read_pool

pytestmark = pytest.mark.asyncio


def _pool(env, size: int = 2, timeout: float = 5.0) -> ReadPool:  # type: ignore[no-untyped-def]
    args = {"server_settings": {"search_path": env.schema}}
    return ReadPool(ConnectSpec(db.plain_url(env.database_url), args, size, 10.0, timeout))


async def _backend(pool: ReadPool) -> int:
    async with pool.connection() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_a_connection_is_reused_and_reads_the_engines_schema(env) -> None:  # type: ignore[no-untyped-def]
    pool = read_pool(env.engine)  # made from what db.create_engine was given
    try:
        async with pool.connection() as conn:
            assert await conn.fetchval("SELECT current_schema()") == env.schema
        assert await _backend(pool) == await _backend(pool)
        assert pool.open == 1
    finally:
        await pool.close()


async def test_a_connection_the_server_closed_is_replaced_without_failing_the_read(env) -> None:  # type: ignore[no-untyped-def]
    pool = _pool(env)
    killer = await asyncpg.connect(db.plain_url(env.database_url))
    try:
        first = await _backend(pool)
        await killer.execute("SELECT pg_terminate_backend($1)", first)
        for _ in range(200):  # pg_terminate_backend only signals: wait until the backend has exited
            if not await killer.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", first):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # the closed socket is seen by the loop
        assert await _backend(pool) != first
        assert pool.open == 1
    finally:
        await killer.close()
        await pool.close()


async def test_an_error_the_server_reported_keeps_the_connection_another_drops_it(env) -> None:  # type: ignore[no-untyped-def]
    pool = _pool(env)
    try:
        first = await _backend(pool)
        with pytest.raises(asyncpg.UndefinedTableError):
            async with pool.connection() as conn:
                await conn.fetch("SELECT * FROM no_such_table")
        assert await _backend(pool) == first
        with pytest.raises(asyncio.CancelledError):
            async with pool.connection() as conn:
                raise asyncio.CancelledError  # a call cancelled mid-read: its connection may be mid-statement
        assert pool.open == 0
        assert await _backend(pool) != first
    finally:
        await pool.close()


async def test_a_read_waits_for_a_busy_pool_and_gives_up_after_the_timeout(env) -> None:  # type: ignore[no-untyped-def]
    pool = _pool(env, size=1, timeout=0.3)
    try:
        async with pool.connection():
            waiting = asyncio.create_task(_backend(pool))
            await asyncio.sleep(0)
            assert not waiting.done()
        assert await waiting  # handed over when the first read ended
        async with pool.connection():
            with pytest.raises(TimeoutError):
                await _backend(pool)
        assert pool.open == 1
    finally:
        await pool.close()


async def test_a_connection_handed_back_inside_a_transaction_is_closed_not_reused(env) -> None:  # type: ignore[no-untyped-def]
    """A write into a transaction nobody commits looks done and vanishes (db.py's module doc): such a
    connection must never serve the next holder."""
    pool = _pool(env)
    async with pool.connection() as setup:
        await setup.execute("CREATE TABLE kept (n int)")
    try:
        conn = await pool.take()
        first = int(await conn.fetchval("SELECT pg_backend_pid()"))
        await conn.execute("BEGIN")  # as a cancelled BEGIN leaves it: the server runs it, nobody commits
        pool.give_back(conn, reusable=True)
        assert pool.open == 0
        async with pool.connection() as again:
            assert int(await again.fetchval("SELECT pg_backend_pid()")) != first
            assert not again.is_in_transaction()
            await again.execute("INSERT INTO kept VALUES (1)")
        async with pool.connection() as other:
            assert await other.fetchval("SELECT count(*) FROM kept") == 1
    finally:
        await pool.close()


async def test_json_comes_back_as_on_sqlalchemys_connections(env) -> None:  # type: ignore[no-untyped-def]
    """Repositories run the same SQL on the read pool (units of work without a transaction) and on the session's
    connection: JSON and JSONB must decode to values on both, and take text in."""
    pool = _pool(env)
    try:
        async with pool.connection() as conn:
            row = await conn.fetchrow("SELECT $1::jsonb AS b, $2::json AS j", '{"a": [1]}', '"x"')
            assert (row["b"], row["j"]) == ({"a": [1]}, "x")
        async with env.engine.connect() as sa:
            raw = (await sa.get_raw_connection()).driver_connection
            assert await raw.fetchval("SELECT $1::jsonb", '{"a": [1]}') == {"a": [1]}
    finally:
        await pool.close()


async def test_a_one_statement_read_keeps_its_connection_after_a_server_error_and_drops_it_when_cancelled(env) -> None:  # type: ignore[no-untyped-def]
    """`fetchrow` (the hottest read's way in, without the context manager) treats its connection as
    `connection()` does."""
    pool = _pool(env)
    try:
        first = int((await pool.fetchrow("SELECT pg_backend_pid()"))[0])  # type: ignore[index]
        assert int((await pool.fetchrow("SELECT pg_backend_pid()"))[0]) == first  # type: ignore[index]
        with pytest.raises(asyncpg.UndefinedTableError):
            await pool.fetchrow("SELECT * FROM no_such_table")
        assert int((await pool.fetchrow("SELECT pg_backend_pid()"))[0]) == first  # type: ignore[index]
        sleeping = asyncio.create_task(pool.fetchrow("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.2)
        sleeping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeping
        assert pool.open == 0  # mid-statement: dropped, never handed to the next read
        assert int((await pool.fetchrow("SELECT pg_backend_pid()"))[0]) != first  # type: ignore[index]
    finally:
        await pool.close()


async def test_a_caller_cancelled_during_the_ping_gives_its_connection_back(env, stalling_proxy) -> None:  # type: ignore[no-untyped-def]
    """A gRPC deadline passing while the database stalls cancels a read in the middle of an idle connection's
    ping: the connection must not leave the pool's count with the caller, or after `size` such reads every
    later one waits and fails for good, database back or not."""
    proxy = await stalling_proxy(env.database_url)
    pool = ReadPool(ConnectSpec(db.plain_url(proxy.url), {"server_settings": {"search_path": env.schema}}, 2, 0.3, 1.0))
    try:
        async with pool.connection() as a, pool.connection() as b:
            assert await a.fetchval("SELECT 1") == await b.fetchval("SELECT 1") == 1
        await asyncio.sleep(0.5)  # idle past ping_idle_seconds: the next checkouts ping
        proxy.stall()
        for _ in range(2):  # two reads whose deadline passes during the stall (before the ping's own bound)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(pool.fetchrow("SELECT 1"), 0.3)
        assert pool.open == 0
        proxy.resume()
        assert await asyncio.wait_for(pool.fetchrow("SELECT 1"), 5) is not None
    finally:
        proxy.resume()
        await pool.close()


async def test_a_ping_without_an_answer_gives_up_within_its_timeout_and_the_read_connects_afresh(
    env, stalling_proxy
) -> None:  # type: ignore[no-untyped-def]
    proxy = await stalling_proxy(env.database_url)
    pool = ReadPool(
        ConnectSpec(db.plain_url(proxy.url), {"server_settings": {"search_path": env.schema}}, 1, 0.0, 5.0, 0.5)
    )
    try:
        first = await _backend(pool)
        proxy.fail_over()  # the open connection goes silent; a new one reaches the database
        assert await asyncio.wait_for(_backend(pool), 3) != first
        assert pool.open == 1
    finally:
        await pool.close()
