"""Connections for a service's hottest reads: plain asyncpg connections handed out without SQLAlchemy's pool.

Why: a read that is one prepared statement (inventory's GetAvailability) spent more CPU checking a connection
out of SQLAlchemy's pool and back (the Connection object, the checkout and reset events, the isolation level
set and reset) than running the statement: on the bench machine 0.39 ms of CPU for a checkout and a
`SELECT 1` through `db.driver_connection`, 0.16 ms through an asyncpg pool (whose acquire and release do
more than this needs), 0.05 ms on a connection taken from a list and put back. So this is that list: idle
connections, most recently used first, opened lazily up to `size`, with the engine's own connection settings
(search_path, application name, statement cache). A read runs outside any transaction, as
`db.driver_connection` does (each statement reads a committed snapshot); it must not change session state,
and a transaction it opens ends within the holder's block (`db.pooled_transaction`: inventory's Reserve
batches). The units of work without a transaction (`UnitOfWork.reading()` and
`single_statement()`) run their `driver()` statements here too, their one write included (autocommit: atomic
alone). JSON and JSONB are decoded and encoded as on SQLAlchemy's connections (a str in, Python values out),
so a repository's SQL works the same on either.

A connection handed back inside a transaction (or with one begun on the client side) is closed, never
reused, as `db.create_engine`'s checkout does for SQLAlchemy's pool (db.py's module doc: whoever used it
next would write into a transaction nobody commits, and lose those writes when it closed). The same check
runs again when a connection is taken.

`read_pool(engine)` is the engine's pool (made on first use from what `db.create_engine` was given);
`close_read_pool(engine)` closes it (the server host does, before it disposes the engine).

Failure modes: PostgreSQL unreachable: the connect raises asyncpg's or the OS's error (UNAVAILABLE at the
call pipeline). A connection the server closed (a restart, an idle timeout) is noticed on checkout without
a round trip and replaced; one idle longer than `ping_idle_seconds` is pinged first, for at most
`ping_timeout` seconds. A call that fails for any reason other than an error the server reported (a lost
connection, a cancelled call, a ping that timed out) closes its connection rather than return it half-used,
and a caller cancelled anywhere in a checkout (a gRPC deadline passing while the database stalls) gives
back what it held: every open connection is either idle, in a caller's hands or being closed, so a stall
cannot use up the pool for good. Every connection busy: the caller waits up to `timeout` seconds for one,
then gets TimeoutError (UNAVAILABLE).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True)
class ConnectSpec:
    """How `db.create_engine` connects (what a read pool beside it needs)."""

    url: str
    connect_args: dict[str, Any]
    size: int
    ping_idle_seconds: float
    timeout: float
    ping_timeout: float = 5.0


_specs: weakref.WeakKeyDictionary[AsyncEngine, ConnectSpec] = weakref.WeakKeyDictionary()
_pools: weakref.WeakKeyDictionary[AsyncEngine, ReadPool] = weakref.WeakKeyDictionary()


def remember(engine: AsyncEngine, spec: ConnectSpec) -> None:
    """Called by `db.create_engine`."""
    _specs[engine] = spec


def connect_spec(engine: AsyncEngine) -> ConnectSpec:
    """How the engine connects (for a connection kept apart from its pools, as readiness's probe is)."""
    spec = _specs.get(engine)
    if spec is None:
        raise LookupError("the engine was not made by onepool_runtime.db.create_engine")
    return spec


def read_pool(engine: AsyncEngine) -> ReadPool:
    pool = _pools.get(engine)
    if pool is None:
        pool = _pools[engine] = ReadPool(connect_spec(engine))
    return pool


async def close_read_pool(engine: AsyncEngine) -> None:
    pool = _pools.pop(engine, None)
    if pool is not None:
        await pool.close()


def _in_transaction(conn: asyncpg.Connection) -> bool:
    """Inside a transaction by the server's last word, or by asyncpg's own (a BEGIN sent, its answer not read)."""
    return getattr(conn, "_top_xact", None) is not None or conn.is_in_transaction()


async def _codecs_as_sqlalchemy(conn: asyncpg.Connection) -> None:
    """JSON and JSONB as SQLAlchemy's asyncpg dialect sets them up on its connections (a str in, values out)."""
    await conn.set_type_codec(
        "json", encoder=str.encode, decoder=lambda b: json.loads(b.decode()), schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda s: b"\x01" + s.encode(),
        decoder=lambda b: json.loads(b[1:].decode()),  # the first byte is JSONB's version
        schema="pg_catalog",
        format="binary",
    )


class ReadPool:
    def __init__(self, spec: ConnectSpec) -> None:
        self._spec = spec
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    @property
    def open(self) -> int:
        return self._open

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._acquire()
        try:
            yield conn
        except asyncpg.PostgresError:
            self._release(conn)  # the server answered: the connection is as good as before
            raise
        except BaseException:
            self._discard(conn)
            raise
        self._release(conn)

    async def take(self) -> asyncpg.Connection:
        """A connection, to be handed back with `give_back` (for a holder whose lifetime is not one block)."""
        return await self._acquire()

    def give_back(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        """`reusable`: its last call ended with an answer from the server (or it made none); otherwise (a
        cancelled call, a lost connection) it is closed. Closed too if it is inside a transaction."""
        if reusable:
            self._release(conn)
        else:
            self._discard(conn)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        """A read that is one statement: its first row, on a connection used exactly as `connection()` uses
        it (kept after an error the server reported, dropped after any other), without the context manager:
        its generator machinery cost the hottest read (GetAvailability) more than the pool itself."""
        conn = await self._acquire()
        try:
            row = await conn.fetchrow(query, *args)
        except asyncpg.PostgresError:
            self._release(conn)
            raise
        except BaseException:
            self._discard(conn)
            raise
        self._release(conn)
        return row

    async def _acquire(self) -> asyncpg.Connection:
        while True:
            if self._closed:
                raise RuntimeError("the read pool is closed")
            while self._idle:
                conn, since = self._idle.pop()
                if conn.is_closed():
                    self._open -= 1
                    continue
                if _in_transaction(conn):
                    self._discard(conn)
                    continue
                if time.monotonic() - since > self._spec.ping_idle_seconds:
                    try:
                        await conn.execute(";", timeout=self._spec.ping_timeout)
                    except Exception:
                        self._discard(conn)
                        continue
                    except BaseException:
                        # Cancelled mid-ping: the connection is out of the idle list and may be mid-statement.
                        # Kept, it would hold its slot for ever (module doc).
                        self._discard(conn)
                        raise
                return conn
            if self._open < self._spec.size:
                self._open += 1
                try:
                    conn = await asyncpg.connect(self._spec.url, **self._spec.connect_args)
                    try:
                        await _codecs_as_sqlalchemy(conn)
                    except BaseException:
                        conn.terminate()
                        raise
                    return conn
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, self._spec.timeout)
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    # Woken for a connection just as it gave up (timed out, cancelled): pass the turn on, or
                    # the next waiter sleeps on beside an idle connection.
                    self._wake()
                raise
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)

    def _release(self, conn: asyncpg.Connection) -> None:
        if conn.is_closed() or self._closed or _in_transaction(conn):
            self._discard(conn)
            return
        self._idle.append((conn, time.monotonic()))
        self._wake()

    def _discard(self, conn: asyncpg.Connection) -> None:
        self._open -= 1
        conn.terminate()
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            self._open -= 1
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=5)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)  # wakes into "the read pool is closed"
