"""Idempotent command execution for mutating RPCs.

The key row is inserted at the start of the use case's transaction. A concurrent duplicate blocks on that
row's unique index until the first transaction ends: if it committed, the duplicate reads the stored answer;
if it rolled back (a domain error), the duplicate runs for real. So a retried request has the effect of one
request and gets the first successful answer, byte for byte. Failed requests store nothing: a retry of a
refused request is evaluated afresh.

`run_in_transaction` does this for one request. A caller that answers many requests in one transaction (the
inventory Reserve coalescer) uses the batched form: `claim_many` (keys claimed in sorted order, so two batches
never wait on each other's keys in a cycle), then `store_answers` for the requests that succeeded and `forget`
for those that failed, all in its own transaction, which it runs with `run_in_transaction` for the same retries.
Both forms share one key space: `stored_key(operation, request_id)`, the operation being the request message's name.
A batch whose transaction runs on asyncpg directly (`db.driver_transaction`) uses `claim_many_on` and
`settle_on`: the same statements, one round trip each.

Keys are kept `ONEPOOL_IDEMPOTENCY_RETENTION_DAYS` (30) and then purged by the service host (`purge`):
a request retried later than that is a new request. Callers retry within minutes; a month keeps the table
from growing without end (each key holds its answer) and outlives any retry a client makes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from google.protobuf.message import Message
from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_runtime import retention
from onepool_runtime.errors import Conflict, InvalidArgument
from onepool_runtime.infra import is_transaction_conflict
from onepool_runtime.tables import idempotency_keys
from onepool_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)

R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)


def fingerprint(request: Message) -> str:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


async def purge(engine: AsyncEngine, retention_seconds: float, *, chunk: int = 10_000) -> int:
    """Delete the keys stored more than `retention_seconds` ago (module doc); returns how many."""
    return await retention.purge_older_than(engine, "idempotency_keys", retention_seconds, chunk=chunk)


def stored_key(operation: str, request_id: str) -> str:
    """The stored key of a request: its operation (the request message's name) and the caller's request id."""
    return f"{operation}:{request_id}"


async def run_in_transaction(
    uow_factory: Callable[[], U],
    produce: Callable[[U], Awaitable[R]],
    *,
    key: str | None = None,
    request: Message | None = None,
    response_type: type[R] | None = None,
    attempts: int = 3,
) -> R:
    """Run `produce` in one transaction and commit. With a key, make it idempotent (see module doc).

    Deadlocks and serialization failures are retried; if they persist the caller gets ABORTED.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with uow_factory() as uow:
                if key is not None:
                    assert request is not None and response_type is not None
                    full_key = stored_key(type(request).__name__, key)
                    stored = await _claim(uow, full_key, fingerprint(request), type(request).__name__)
                    if stored is not None:
                        return response_type.FromString(stored)  # type: ignore[attr-defined, no-any-return]
                response = await produce(uow)
                if key is not None:
                    await uow.session.execute(
                        update(idempotency_keys)
                        .where(idempotency_keys.c.key == full_key)
                        .values(response=response.SerializeToString())  # type: ignore[attr-defined]
                    )
                await uow.commit()
                return response
        except (DBAPIError, asyncpg.PostgresError) as exc:  # asyncpg's own from statements on uow.driver()
            if not is_transaction_conflict(exc) or attempt == attempts:
                if is_transaction_conflict(exc):
                    raise Conflict("concurrent update conflict; retry the request") from exc
                raise
            log.info("retrying after transient database conflict (attempt %d)", attempt)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


async def stored_answer(uow: UnitOfWork, key: str, request: Message) -> bytes | None:
    """The answer stored for an earlier identical request under `key` (the caller-scoped request id), or None
    when there is none yet (nothing is claimed: a read). A different request under the key is refused."""
    full_key = stored_key(type(request).__name__, key)
    row = (
        await uow.session.execute(
            select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                idempotency_keys.c.key == full_key
            )
        )
    ).first()
    if row is None or not row.response:  # none, or claimed by a request still running
        return None
    if row.fingerprint != fingerprint(request):
        raise InvalidArgument("request_id", "already used for a different request")
    return bytes(row.response)


@dataclass(frozen=True)
class Claim:
    """One key of a batch: `owned` when this transaction claimed it (run the request), else the earlier
    request's `fingerprint` and stored `answer` (a replay if the fingerprints match, a reused id if not)."""

    owned: bool
    fingerprint: str = ""
    answer: bytes = b""


async def claim_many(uow: UnitOfWork, operation: str, fingerprints: Mapping[str, str]) -> dict[str, Claim]:
    """Claim every key (full keys, see `stored_key`) in sorted order, in two statements: a key another
    transaction holds blocks until that one ends, as in `run_in_transaction`."""
    claims: dict[str, Claim] = {}
    pending = dict(fingerprints)
    while pending:
        rows = [
            {"key": k, "operation": operation, "fingerprint": fp, "response": b""} for k, fp in sorted(pending.items())
        ]
        inserted = await uow.session.execute(
            insert(idempotency_keys).values(rows).on_conflict_do_nothing().returning(idempotency_keys.c.key)
        )
        claims.update({r.key: Claim(owned=True) for r in inserted.all()})
        taken = [k for k in pending if k not in claims]
        if taken:
            stored = await uow.session.execute(
                select(idempotency_keys.c.key, idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(
                    idempotency_keys.c.key.in_(taken)
                )
            )
            claims.update({r.key: Claim(False, r.fingerprint, bytes(r.response)) for r in stored.all()})
        pending = {k: pending[k] for k in taken if k not in claims}  # purged in between: free again (`purge`)
    return claims


async def store_answers(uow: UnitOfWork, answers: Mapping[str, bytes]) -> None:
    """Record the answers of claimed keys, in one statement; they commit with the transaction."""
    if answers:
        await uow.session.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == bindparam("b_key"))
            .values(response=bindparam("b_response")),
            [{"b_key": k, "b_response": answer} for k, answer in answers.items()],
        )


async def forget(uow: UnitOfWork, keys: Iterable[str]) -> None:
    """Give up claimed keys whose requests failed: a retry of a refused request is evaluated afresh."""
    keys = list(keys)
    if keys:
        await uow.session.execute(delete(idempotency_keys).where(idempotency_keys.c.key.in_(keys)))


async def _claim(uow: UnitOfWork, key: str, fp: str, operation: str) -> bytes | None:
    while True:
        inserted = await uow.session.execute(
            insert(idempotency_keys)
            .values(key=key, operation=operation, fingerprint=fp, response=b"")
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(idempotency_keys.c.key)
        )
        if inserted.first() is not None:
            return None
        row = (
            await uow.session.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(idempotency_keys.c.key == key)
            )
        ).first()
        if row is not None:
            break
        # The stored key was purged between the two statements (`purge`, at the end of its retention): the
        # key is free again, so claim it afresh.
    if row.fingerprint != fp:
        raise InvalidArgument("request_id", "already used for a different request")
    return bytes(row.response)


_CLAIM_ON = """
INSERT INTO idempotency_keys (key, operation, fingerprint, response)
SELECT k, $1, f, '' FROM unnest($2::text[], $3::text[]) AS c(k, f) ORDER BY k
ON CONFLICT DO NOTHING RETURNING key
"""
_STORED_ON = "SELECT key, fingerprint, response FROM idempotency_keys WHERE key = ANY($1::text[])"
# `key = ANY($1)` beside the join, for the index: the join alone became a seq scan of all keys as the table grew.
_SETTLE_ON = """
WITH answered AS (
    UPDATE idempotency_keys SET response = a.r FROM unnest($1::text[], $2::bytea[]) AS a(k, r)
    WHERE idempotency_keys.key = a.k AND idempotency_keys.key = ANY($1::text[])
)
DELETE FROM idempotency_keys WHERE key = ANY($3::text[])
"""


async def claim_many_on(conn: asyncpg.Connection, operation: str, fingerprints: Mapping[str, str]) -> dict[str, Claim]:
    """`claim_many` on an asyncpg connection inside the caller's transaction (keys claimed in sorted order)."""
    claims: dict[str, Claim] = {}
    pending = dict(fingerprints)
    while pending:
        ordered = sorted(pending.items())
        inserted = await conn.fetch(_CLAIM_ON, operation, [k for k, _ in ordered], [f for _, f in ordered])
        claims.update({r[0]: Claim(owned=True) for r in inserted})
        taken = [k for k in pending if k not in claims]
        if taken:
            for r in await conn.fetch(_STORED_ON, taken):
                claims[r[0]] = Claim(False, r[1], bytes(r[2]))
        pending = {k: pending[k] for k in taken if k not in claims}  # purged in between: free again (`purge`)
    return claims


async def settle_on(conn: asyncpg.Connection, answers: Mapping[str, bytes], forget: Iterable[str]) -> None:
    """`store_answers` and `forget` in one statement, inside the caller's transaction."""
    forgotten = list(forget)
    if answers or forgotten:
        await conn.execute(_SETTLE_ON, list(answers), list(answers.values()), forgotten)
