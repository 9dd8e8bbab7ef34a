"""Async SQLAlchemy engine on asyncpg, one PostgreSQL schema per service.

Every connection's search_path is the service's schema, so a service's tables, its outbox, inbox and
idempotency keys all live in its own schema and no service can read another's tables by accident.

Pool checks without a round trip per checkout: SQLAlchemy's pre-ping costs three (BEGIN, a ping, ROLLBACK)
on every checkout. Instead, on checkout a connection the server has closed (asyncpg notices the socket's end
without a query: a restart, an idle timeout, a terminated backend) invalidates the whole pool, which then
connects afresh; a connection idle longer than `ping_idle_seconds` is pinged first (the one case where a
half-open socket may go unnoticed). A connection that still dies in use (a network cut mid-call) fails that
call, which the call pipeline's error stage answers UNAVAILABLE (retry with the same request id); SQLAlchemy then
invalidates the pool's older connections, so the retry gets a fresh one.

A connection handed back still inside a transaction is closed on checkout, never reused. It happens when the
task awaiting a BEGIN is cancelled (a gRPC deadline passes, a caller gives up) after the BEGIN went out:
PostgreSQL runs it anyway (a cancel is ignored between statements), asyncpg keeps that failed transaction as
the connection's top one, and SQLAlchemy, which never saw it begin, has nothing to roll back. Whoever used the
connection next then wrote into a transaction nobody would ever commit (an autocommit statement inside it,
a later BEGIN turned into a SAVEPOINT under it): the writes looked done, were visible on that connection
only, and vanished when it closed. That is how the scale run lost orders already answered RESERVED. The check
reads two client-side flags, no round trip; closing the connection rolls the orphan transaction back.

Hot reads (`driver_connection`): a read that is one or two statements on the hottest path runs them on the
pooled connection's own asyncpg connection, outside any transaction, through asyncpg's prepared-statement
cache: no session, no SQLAlchemy compilation or result processing. On the bench machine a one-row read cost
1.26 ms of client CPU through an AsyncSession and 0.33 ms this way (0.30 ms on a bare asyncpg pool), with
the same pool, its checks and its limits. The very hottest (GetAvailability) skip SQLAlchemy's pool too:
`readpool.read_pool(engine)`, connections of the same settings kept beside it.

Reads (`autocommit`): read-only use cases run their statements without a transaction, which under READ
COMMITTED reads exactly what a transaction would (each statement takes its own snapshot either way) and
saves BEGIN and ROLLBACK, two round trips per read.

A database that stops answering without closing the socket (a fail-over to another primary, a network
partition) is the case the kernel is slowest to notice: a socket whose peer vanished stays open ~15 minutes,
and a statement sent on it waits as long. So every connection (the pool's, the read pool's, the relay's,
readiness's) bounds that itself: TCP keepalives notice an idle socket whose peer is gone (`tcp_keepalive`
seconds, then three probes), TCP_USER_TIMEOUT one whose data goes unacknowledged, a connect waits at most
`connect_timeout`, the ping of an idle connection `ping_timeout`, and, where given, every statement
`command_timeout` (asyncpg's client-side bound: it raises TimeoutError, which `infra.is_infrastructure`
counts as the infrastructure's, and asks the server to cancel the statement). None of them touches the
server's own settings, so a long statement of a tool or a migration (which opens its own engine) is not cut.
`DatabaseProbe` is readiness's connection, apart from the pool: a pool busy with calls is not a database
that is down, and a probe that waits for a pooled connection said it was.

One way to connect: every connection (the pool's, the read pool's, the relay's, readiness's, a migration's, a
tool's) is `asyncpg.connect(dsn(url), ...)`, so the URL's libpq options (`?sslmode=require`, `sslrootcert`,
`target_session_attrs`, ...) mean the same to all of them. SQLAlchemy's own way passes the URL's query to
asyncpg as keyword arguments, which it refuses (`sslmode`): readiness said SERVING and reads worked while
every write and the relay failed. An option asyncpg refuses (`sslmode=bogus`) is UnusableURL when the engine is
made, before a service binds anything, not a failure of every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
from asyncpg import connect_utils
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_

from onepool_runtime import readpool
from onepool_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")


def asyncpg_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// forms and point SQLAlchemy at asyncpg."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def plain_url(url: str) -> str:
    """The libpq form (for asyncpg.connect and tools)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


class UnusableURL(ValueError):
    """A database URL no connection can be opened with (not a URL, not PostgreSQL, an option asyncpg refuses).
    Its text never holds the URL (which may hold a password)."""


_EXPECTED = "expected postgresql://user:password@host:port/database[?sslmode=require]"


def dsn(url: str) -> str:
    """The libpq form every connection is opened with (module doc: one way to connect); UnusableURL when
    `url` is not a PostgreSQL URL."""
    try:
        parsed = make_url(asyncpg_url(url))
    except (exc.ArgumentError, ValueError):
        raise UnusableURL(f"not a URL ({_EXPECTED})") from None
    if parsed.get_backend_name() != "postgresql":
        raise UnusableURL(f"{parsed.get_backend_name()}:// is not PostgreSQL ({_EXPECTED})")
    split = parsed.username is not None and parsed.host and parsed.host != _libpq_host(url)
    if split or "@" in (parsed.database or ""):
        # SQLAlchemy takes everything up to the last '@' as user and password; libpq and asyncpg end the host
        # part at the first '/', '?' or '#', and read the password's tail as the host and port (the two would
        # connect to different hosts); a raw '@' before a '/' leaves the rest of the password in the database.
        raise UnusableURL(
            "its user or password holds '@', '/', '?' or '#', which end parts of a URL: percent-encode them "
            "(%40, %2F, %3F, %23), or leave the password out of the URL and set PGPASSWORD"
        )
    target = plain_url(asyncpg_url(url))
    _check_options(target)
    return target


def _check_options(target: str) -> None:
    """UnusableURL for an option asyncpg refuses (`sslmode=bogus`), read by asyncpg's own parser without
    connecting: every connection would fail with it, and a service started on it ran unready for ever, logging
    a traceback per attempt. Anything else the parser meets (a certificate file it cannot read now) is left to
    the connection to report, as before."""
    try:
        connect_utils._parse_connect_dsn_and_args(
            dsn=target,
            host=None,
            port=None,
            user=None,
            password=None,
            passfile=None,
            database=None,
            ssl=None,
            service=None,
            servicefile=None,
            direct_tls=None,
            server_settings=None,
            target_session_attrs=None,
            krbsrvname=None,
            gsslib=None,
        )
    except asyncpg.ClientConfigurationError as exc:  # its text names the option, never the password
        raise UnusableURL(str(exc).strip()) from None
    except Exception:  # not a refusal of the URL: the connection reports it
        pass


def _authority(url: str) -> str:
    """What libpq reads as user, password, host and port: from '//' to the first '/', '?' or '#'."""
    rest = url.partition("://")[2]
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _libpq_host(url: str) -> str:
    """The host libpq connects to: the authority after its last '@', without the port (or an IPv6 address's
    brackets)."""
    host_port = _authority(url).rpartition("@")[2]
    if host_port.startswith("["):
        return host_port[1:].partition("]")[0]
    return host_port.partition(":")[0]


def connecting_engine(url: str, connect_args: dict[str, Any] | None = None, **options: Any) -> AsyncEngine:
    """A SQLAlchemy engine whose connections are `asyncpg.connect(dsn(url), **connect_args)` (module doc);
    `options` are create_async_engine's. For a tool or a migration; a service's is `create_engine`."""
    target = dsn(url)
    # SQLAlchemy still parses the URL (dialect, database name); the query is asyncpg's alone.
    sa_url = make_url(asyncpg_url(url)).set(query={})
    return create_async_engine(
        sa_url, async_creator=functools.partial(asyncpg.connect, target, **(connect_args or {})), **options
    )


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_RE.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


_LAST_CHECKOUT = "onepool_last_checkout"  # in the connection record's info, which is cleared on invalidation


def create_engine(
    url: str,
    schema: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
    ping_idle_seconds: float = 10.0,
    ping_timeout: float = 5.0,
    connect_timeout: float = 10.0,
    command_timeout: float = 0.0,
    tcp_keepalive: float = 10.0,
    tcp_user_timeout: float = 20.0,
) -> AsyncEngine:
    """The service's engine. The bounds (module doc) are in seconds, 0 for none; `command_timeout` is off
    unless given (a tool's long statement must not be cut), the service host gives its settings'."""
    check_schema_name(schema)
    connect_args = {
        "server_settings": {"search_path": schema, "application_name": f"onepool-{schema}"},
        # Prepared statements are cached per connection; safe because each engine has one schema.
        "statement_cache_size": 256,
        "timeout": connect_timeout,
        "command_timeout": command_timeout or None,
        "connection_class": connection_class(tcp_keepalive, tcp_user_timeout),
    }
    engine = connecting_engine(
        url,
        connect_args,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=False,  # see the module doc: checked on checkout without a round trip
    )
    event.listen(engine.sync_engine, "checkout", _checkout_check(ping_idle_seconds, ping_timeout))
    event.listen(engine.sync_engine, "handle_error", _timed_out_is_lost)
    # The hottest reads' own connections, opened beside the pool on first use (readpool.py).
    spec = readpool.ConnectSpec(
        dsn(url), connect_args, min(pool_size, 10), ping_idle_seconds, pool_timeout, ping_timeout
    )
    readpool.remember(engine, spec)
    return engine


def bounds(settings: ServiceSettings, *, command_timeout: float | None = None) -> dict[str, float]:
    """`create_engine`'s bounds from a service's settings (`command_timeout` replaces the service's own)."""
    return {
        "ping_idle_seconds": settings.db_ping_idle_seconds,
        "ping_timeout": settings.db_ping_timeout_seconds,
        "connect_timeout": settings.db_connect_timeout_seconds,
        "command_timeout": settings.db_command_timeout_seconds if command_timeout is None else command_timeout,
        "tcp_keepalive": settings.db_tcp_keepalive_seconds,
        "tcp_user_timeout": settings.db_tcp_user_timeout_seconds,
    }


def _tcp_options(keepalive: float, user_timeout: float) -> tuple[tuple[int, int, int], ...]:
    options: list[tuple[int, int, int]] = []
    if keepalive > 0:
        options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
        # Linux names; other systems keep their defaults for what they do not have.
        for name, value in (("TCP_KEEPIDLE", keepalive), ("TCP_KEEPINTVL", keepalive / 3), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, name):
                options.append((socket.IPPROTO_TCP, getattr(socket, name), max(1, round(value))))
    if user_timeout > 0 and hasattr(socket, "TCP_USER_TIMEOUT"):
        options.append((socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, max(1, round(user_timeout * 1000))))
    return tuple(options)


@functools.lru_cache(maxsize=16)
def connection_class(keepalive: float, user_timeout: float) -> type[asyncpg.Connection]:
    """asyncpg's connection with TCP keepalives and a user timeout on its socket (module doc). asyncpg sets
    neither and has no parameter for them (server_settings are the server's side of the socket), but takes the
    class of its connections, which is handed the transport."""
    options = _tcp_options(keepalive, user_timeout)
    if not options:
        return asyncpg.Connection

    class TunedConnection(asyncpg.Connection):  # type: ignore[misc]
        def __init__(self, protocol: Any, transport: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(protocol, transport, *args, **kwargs)
            sock = transport.get_extra_info("socket")
            if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
                return  # a Unix socket has no peer to lose
            for level, option, value in options:
                with contextlib.suppress(OSError):
                    sock.setsockopt(level, option, value)

    return TunedConnection


def _timed_out_is_lost(context: Any) -> None:
    """A statement that got no answer within the command timeout leaves its connection waiting on the server's
    answer to the cancel asyncpg sends: only that connection is given up (the others may be fine), at once,
    rather than reset with a ROLLBACK that would wait as long again."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False
        driver = getattr(getattr(context.connection, "connection", None), "driver_connection", None)
        if driver is not None:
            driver.terminate()  # SQLAlchemy's invalidation would first wait 2 s for a goodbye on the dead socket


def _checkout_check(ping_idle_seconds: float, ping_timeout: float) -> Any:
    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            # Closed by the server: so, after a restart, is every other pooled connection.
            raise exc.InvalidatePoolError("connection closed by the server")
        if getattr(driver, "_top_xact", None) is not None or driver.is_in_transaction():
            # Left inside a transaction (module doc): only this connection goes; the pool opens another.
            raise exc.DisconnectionError("connection handed back inside a transaction")
        now = time.monotonic()
        last = record.info.get(_LAST_CHECKOUT)
        record.info[_LAST_CHECKOUT] = now
        if last is not None and now - last > ping_idle_seconds:
            try:
                # Inside SQLAlchemy's greenlet, as its own pre-ping runs; bounded, unlike that one (module doc).
                await_(driver.execute(";", timeout=ping_timeout))
            except Exception as error:
                driver.terminate()  # as above: no goodbye on a socket that did not answer
                raise exc.InvalidatePoolError(f"idle connection failed its ping: {error!r}") from error

    return check


_autocommit: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) running statements without a transaction, for reads (module doc)."""
    found = _autocommit.get(engine)
    if found is None:
        found = _autocommit[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


@contextlib.asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection's asyncpg connection, in autocommit (module doc: hot reads). It must not write."""
    async with autocommit(engine).connect() as conn:
        yield (await conn.get_raw_connection()).driver_connection


@contextlib.asynccontextmanager
async def driver_transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection's asyncpg connection inside one transaction of its own: committed when the block
    ends, rolled back when it raises. For a hot write path that is a handful of prepared statements (inventory's
    Reserve batches); SQLAlchemy never sees the transaction (its connection is in autocommit)."""
    async with driver_connection(engine) as conn, conn.transaction():
        yield conn


@contextlib.asynccontextmanager
async def pooled_transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """`driver_transaction` on a connection of the engine's read pool (readpool.py): no SQLAlchemy checkout
    and check-in, which cost about as much CPU as a statement. For the hottest write path (inventory's Reserve
    batches). The read pool closes a connection that leaves the block inside a transaction (module doc)."""
    async with readpool.read_pool(engine).connection() as conn, conn.transaction():
        yield conn


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without lazy loads (no IO in async code).
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False, autoflush=False)


async def ensure_schema(engine: AsyncEngine, schema: str) -> None:
    check_schema_name(schema)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


class DatabaseProbe:
    """Readiness's question to PostgreSQL: `SELECT 1` on a connection of its own (module doc), answered within
    `timeout` seconds, connecting included. A connection that failed or timed out is closed and the next
    check opens another, so a probe recovers with the database."""

    def __init__(self, engine: AsyncEngine, timeout: float) -> None:
        spec = readpool.connect_spec(engine)
        self._url = spec.url
        # No statement cache: one statement, and a connection that may be replaced at any check.
        self._args = {**spec.connect_args, "statement_cache_size": 0}
        self._timeout = timeout
        self._conn: asyncpg.Connection | None = None
        self._failing = False

    async def check(self, then: Callable[[asyncpg.Connection], Awaitable[bool]] | None = None) -> bool:
        """`then`, if given, is a further question on the same connection, within the same bound (readiness's
        `migrations.SchemaCheck`): its False is the answer, its exception a failed probe."""
        try:
            async with asyncio.timeout(self._timeout):
                if self._conn is None or self._conn.is_closed():
                    self._drop()
                    self._conn = await asyncpg.connect(self._url, **self._args)
                await self._conn.fetchval("SELECT 1")
                answer = True if then is None else await then(self._conn)
        except asyncio.CancelledError:
            self._drop()  # it may be mid-statement
            raise
        except Exception as error:
            self._drop()
            if not self._failing:
                log.warning("database probe failed: %r", error)
            self._failing = True
            return False
        self._failing = False
        return answer

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # no goodbye: the socket may be dead, and a close would wait for it

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), timeout=self._timeout)
            except Exception:
                conn.terminate()
