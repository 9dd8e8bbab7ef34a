"""Is this failure the infrastructure's or the work's? The one classifier the runtime uses for both.

An *infrastructure* failure says nothing about the request or event being handled: the same work succeeds
once the database, NATS or a peer service answers again. The call pipeline's error stage answers such failures
with UNAVAILABLE (retryable, with RetryInfo) instead of INTERNAL, and event consumers keep the message and
back off instead of counting the delivery towards dead-lettering. Everything else (undecodable input, a
domain rule, a bug) is what it is: the same on every retry.

Classified as infrastructure, looking through the whole exception chain (`__cause__`, `__context__`, and
SQLAlchemy's `.orig`), because drivers wrap one another (SQLAlchemy -> asyncpg adapter -> asyncpg -> OSError):

- `errors.Unavailable`: a peer service could not be reached (the adapters' translation of a peer's status);
- `OSError`, which covers `ConnectionError`/`ConnectionRefusedError`/`ConnectionResetError` and
  `TimeoutError` (also `asyncio.TimeoutError` and `nats.errors.TimeoutError`): a socket that would not
  connect, was reset, or did not answer in time (asyncio reports several failed addresses as a bare
  OSError, so the class is taken whole), except the file-system ones (FileNotFoundError, PermissionError,
  ...), which a retry does not cure;
- PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources: too many connections,
  out of memory/disk), 57 (operator intervention: 57014 statement timeout/cancel, 57P01 admin shutdown,
  57P02 crash shutdown, 57P03 "the database system is starting up"), 58 (system I/O error), plus
  40001 serialization failure, 40P01 deadlock detected and 55P03 lock not available: the same statement
  succeeds on a later attempt;
- asyncpg's `PostgresConnectionError` family (e.g. `ConnectionDoesNotExistError`: the connection closed in
  the middle of an operation) and its `InterfaceError("connection is closed")`;
- SQLAlchemy `DBAPIError` with `connection_invalidated` (SQLAlchemy decided the connection is dead),
  `DisconnectionError`, and the pool's `TimeoutError` (pool exhausted). `OperationalError`/`InterfaceError`
  are *not* taken wholesale: they are judged by what they wrap (an asyncpg `InterfaceError` such as
  "another operation is in progress" is a bug, and retrying a bug forever would hide it);
- NATS: no servers, connection closed/draining/reconnecting, stale connection, flush timeout, outbound
  buffer full, no responders, and JetStream's 503 `ServiceUnavailableError`;
- gRPC: a peer's `UNAVAILABLE`, `DEADLINE_EXCEEDED` or `RESOURCE_EXHAUSTED` (`grpc.aio.AioRpcError`) that
  escaped an adapter;
- a table, column or schema that does not exist (SQLSTATE 42P01, 42703, 3F000) while the service's schema is
  behind the revision its code was written for (`schema_behind`, which readiness keeps up to date: server.py).
  Kubernetes starts a release's pods and its migrate Job together, so the new code meets the old schema for a
  while; the same statement succeeds once the Job has run. With the schema at the code's revision (or in a
  process that never said, a test or a tool) the same error is a bug, and retrying a bug forever would hide it.
"""

from __future__ import annotations

import random

import asyncpg
import grpc
import nats.errors
import nats.js.errors
from sqlalchemy import exc as sa_exc

from onepool_runtime import errors

_SQLSTATE_CLASSES = ("08", "53", "57", "58")
_SQLSTATES = {"40001", "40P01", "55P03"}

_NATS = (
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionDrainingError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.FlushTimeoutError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError,
)
_ALWAYS = (
    errors.Unavailable,
    OSError,
    asyncpg.PostgresConnectionError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    *_NATS,
)
# undefined_table, undefined_column, invalid_schema_name: what code meets on a schema not migrated to it yet.
_SCHEMA_SQLSTATES = {"42P01", "42703", "3F000"}
# The schemas of this process's services that are not (known to be) at their code's revision.
_behind: set[str] = set()
_GRPC_CODES = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 32:
            continue
        seen.append(e)
        todo.extend([e.__cause__, e.__context__, getattr(e, "orig", None)])
    return seen


# OSErrors about files say nothing about the network: a missing file stays missing on every retry.
_NOT_NETWORK = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def _one(e: BaseException) -> bool:
    if isinstance(e, _ALWAYS) and not isinstance(e, _NOT_NETWORK):
        return True
    if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, asyncpg.InterfaceError) and "connection is closed" in str(e):
        return True
    if isinstance(e, grpc.aio.AioRpcError) and e.code() in _GRPC_CODES:
        return True
    sqlstate = getattr(e, "sqlstate", None)
    if not isinstance(sqlstate, str):
        return False
    return (
        sqlstate in _SQLSTATES or sqlstate[:2] in _SQLSTATE_CLASSES or (bool(_behind) and sqlstate in _SCHEMA_SQLSTATES)
    )


def _schema_missing(e: BaseException) -> bool:
    return getattr(e, "sqlstate", None) in _SCHEMA_SQLSTATES


def schema_behind(schema: str, behind: bool) -> None:
    """Readiness's verdict on `schema` (module doc): while any schema of the process is behind its code's
    revision (never migrated, or before its heads), a missing table, column or schema is the infrastructure's.
    A schema at a newer release's revision is not behind: its migrations only add (expand, then contract, a
    release later), so this code meets no missing table there, and one would be a bug, kept visible after a
    rollback too. Per process: one service runs in one (a test running several hosts shares the verdict,
    which only makes such errors retried meanwhile)."""
    if behind:
        _behind.add(schema)
    else:
        _behind.discard(schema)


def is_infrastructure(exc: BaseException) -> bool:
    """True when `exc` (or anything it wraps) means the infrastructure failed, not the work itself."""
    return any(_one(e) for e in _chain(exc))


# The transaction lost a race with another (serialization failure, deadlock detected): rerunning the same
# transaction succeeds. Narrower than `is_infrastructure`: a lost connection is not retried in-process.
_CONFLICT_SQLSTATES = {"40001", "40P01"}


def is_transaction_conflict(exc: BaseException) -> bool:
    """True when `exc` (or anything it wraps) is a serialization failure or a deadlock: retry the transaction."""
    return any(getattr(e, "sqlstate", None) in _CONFLICT_SQLSTATES for e in _chain(exc))


def dependency(exc: BaseException) -> str:
    """Which dependency failed, for messages to callers and operators (never the internals)."""
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, errors.Unavailable):
            return e.message
    if any(isinstance(e, _NATS) or type(e).__module__.startswith("nats") for e in chain):
        return "the message broker (NATS) is unreachable"
    if any(isinstance(e, grpc.aio.AioRpcError) for e in chain):
        return "a peer service is unreachable"
    if _behind and any(_schema_missing(e) for e in chain):
        return "the database schema is not migrated to this release yet"
    return "the database is unreachable or busy"


def backoff(attempt: int, *, base: float = 0.2, cap: float = 10.0) -> float:
    """Exponential back-off with full jitter: uniform in [base, min(cap, base * 2**(attempt-1))].

    Jitter spreads the retries of many consumers and callers so that they do not all hit a database that
    has just come back at the same instant."""
    ceiling = min(cap, base * (2 ** min(max(attempt, 1) - 1, 30)))
    return random.uniform(min(base, ceiling), ceiling)
