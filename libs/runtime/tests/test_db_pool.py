"""What the database layer sends per use, read from asyncpg's own query log on real PostgreSQL: no round trip
per pool checkout, no BEGIN/ROLLBACK around a read, and a connection the server closed is replaced on
checkout without failing the call. (asyncpg's log shows simple queries, such as BEGIN, ROLLBACK and the
ping ';', not the prepared statements SQLAlchemy runs, which is all these tests need.)"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import asyncpg
import pytest
from onepool_runtime import db
from onepool_runtime.servicer import UseCases
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.asyncio


def _logged_engine(env: Any, **kwargs: Any) -> tuple[AsyncEngine, list[str]]:
    """An engine of the test's schema whose connections record every statement they send."""
    engine = db.create_engine(env.database_url, env.schema, **kwargs)
    sent: list[str] = []

    @event.listens_for(engine.sync_engine, "connect")
    def _log(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda record: sent.append(record.query.strip()))

    return engine, sent


async def _select(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def _logged() -> None:
    """asyncpg hands its log records to the loggers in a later loop iteration."""
    await asyncio.sleep(0.05)


async def test_a_pooled_connection_is_reused_without_a_round_trip_of_its_own(env) -> None:  # type: ignore[no-untyped-def]
    engine, sent = _logged_engine(env)
    try:
        await _select(engine, "SELECT 1")  # connects (SQLAlchemy's first-connect queries are not the point)
        await _logged()
        sent.clear()
        for _ in range(3):
            assert await _select(engine, "SELECT 2") == 2
        await _logged()
        # Each use is its own transaction; a pre-ping would add BEGIN, ';' and ROLLBACK before each.
        assert sent == ["BEGIN;", "ROLLBACK;"] * 3
    finally:
        await engine.dispose()


async def test_a_connection_idle_longer_than_the_threshold_is_pinged_first(env) -> None:  # type: ignore[no-untyped-def]
    engine, sent = _logged_engine(env, ping_idle_seconds=0.0)
    try:
        await _select(engine, "SELECT 1")
        await _logged()
        sent.clear()
        await asyncio.sleep(0.01)
        assert await _select(engine, "SELECT 2") == 2
        await _logged()
        # The ping (one round trip, bounded by ping_timeout: SQLAlchemy's own was three, unbounded), then the use.
        assert sent == [";", "BEGIN;", "ROLLBACK;"]
    finally:
        await engine.dispose()


async def test_a_connection_the_server_closed_is_replaced_on_checkout(env) -> None:  # type: ignore[no-untyped-def]
    engine, _ = _logged_engine(env)
    try:
        first = await _select(engine, "SELECT pg_backend_pid()")
        admin = await asyncpg.connect(db.plain_url(env.database_url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
            await _until_gone(admin, first)
        finally:
            await admin.close()
        await asyncio.sleep(0.3)  # the pooled connection receives the server's goodbye
        second = await _select(engine, "SELECT pg_backend_pid()")  # no error: a fresh connection
        assert second != first
    finally:
        await engine.dispose()


async def test_a_read_sends_its_statements_without_a_transaction_and_cannot_commit(env) -> None:  # type: ignore[no-untyped-def]
    engine, sent = _logged_engine(env)
    try:
        use = UseCases(lambda: UnitOfWork(db.session_factory(engine), source="testsvc"))

        async def produce(uow: UnitOfWork) -> int:
            return int((await uow.session.execute(text("SELECT 41 + 1"))).scalar_one())

        assert await use.read(produce) == 42  # connects first
        await _logged()
        sent.clear()
        assert await use.read(produce) == 42
        await _logged()
        assert sent == []  # no BEGIN, no ROLLBACK

        async def commit(uow: UnitOfWork) -> None:
            await uow.commit()

        with pytest.raises(RuntimeError, match="does not commit"):
            await use.read(commit)
        # The same pool still runs a unit of work that is not a read in a transaction.
        await _logged()
        sent.clear()
        async with UnitOfWork(db.session_factory(engine), source="testsvc") as uow:
            await uow.session.execute(text("SELECT 1"))
        await _logged()
        assert sent[0].startswith("BEGIN") and sent[-1].startswith("ROLLBACK"), sent
    finally:
        await engine.dispose()


async def _begin_on_driver(engine: AsyncEngine) -> None:
    """A hot write path's transaction (relay, inventory's Reserve batches): asyncpg's own BEGIN."""
    async with db.driver_transaction(engine) as conn:
        await conn.execute("SELECT 1")


async def _begin_in_unit_of_work(engine: AsyncEngine) -> None:
    """A unit of work writing on its driver (its outbox rows): the BEGIN `UnitOfWork.driver` issues."""
    async with UnitOfWork(db.session_factory(engine), source="testsvc") as uow:
        await (await uow.driver()).execute("SELECT 1")
        await uow.commit()


@pytest.mark.parametrize("begin", [_begin_on_driver, _begin_in_unit_of_work])
async def test_a_begin_cancelled_in_flight_leaves_no_open_transaction_to_the_next_user(env, begin) -> None:  # type: ignore[no-untyped-def]
    """The task awaiting BEGIN is cancelled (a gRPC deadline) while the server has not answered yet: the server
    still runs the BEGIN. The next users of the pooled connection (an autocommit statement, as PlaceOrder's
    first step; a unit of work, as its second) must see their writes committed, visible from any connection,
    not parked in that orphan transaction until the connection closes and takes them with it."""
    engine = db.create_engine(env.database_url, env.schema, pool_size=1, max_overflow=0)
    outside = await asyncpg.connect(db.plain_url(env.database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE written (what text)"))
        backend = await _select(engine, "SELECT pg_backend_pid()")  # the pool's one connection
        os.kill(backend, signal.SIGSTOP)  # the server has not read the BEGIN yet when the caller gives up
        try:
            task = asyncio.create_task(begin(engine))
            await asyncio.sleep(0.2)  # the BEGIN is sent, and waits for the stopped backend
            task.cancel()
            await asyncio.sleep(0.2)
        finally:
            os.kill(backend, signal.SIGCONT)
        with pytest.raises(asyncio.CancelledError):
            await task

        async with db.autocommit(engine).connect() as conn:
            await conn.execute(text("INSERT INTO written VALUES ('autocommit')"))
        async with UnitOfWork(db.session_factory(engine), source="testsvc") as uow:
            await uow.session.execute(text("INSERT INTO written VALUES ('unit of work')"))
            await uow.commit()

        seen = await outside.fetch(f"SELECT what FROM {env.schema}.written ORDER BY what")
        assert [r["what"] for r in seen] == ["autocommit", "unit of work"]
    finally:
        await outside.close()
        await engine.dispose()


async def _until_gone(admin: asyncpg.Connection, pid: int) -> None:
    """pg_terminate_backend only signals: wait until the backend has exited (a loaded box takes its time)."""
    for _ in range(200):
        if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} still running 10 s after pg_terminate_backend")
