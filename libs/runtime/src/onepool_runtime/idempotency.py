"""Idempotent command execution for mutating RPCs.

The key row is inserted at the start of the use case's transaction. A concurrent duplicate blocks on that
row's unique index until the first transaction ends: if it committed, the duplicate reads the stored answer;
if it rolled back (a domain error), the duplicate runs for real. So a retried request has the effect of one
request and gets the first successful answer, byte for byte. Failed requests store nothing: a retry of a
refused request is evaluated afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from onepool_runtime.errors import Conflict, InvalidArgument
from onepool_runtime.tables import idempotency_keys
from onepool_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)

R = TypeVar("R")
U = TypeVar("U", bound=UnitOfWork)

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected


def fingerprint(request: Message) -> str:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


def _is_retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return sqlstate in _RETRYABLE_SQLSTATES


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
                    full_key = f"{type(request).__name__}:{key}"
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
        except DBAPIError as exc:
            if not _is_retryable(exc) or attempt == attempts:
                if _is_retryable(exc):
                    raise Conflict("concurrent update conflict; retry the request") from exc
                raise
            log.info("retrying after transient database conflict (attempt %d)", attempt)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")


async def _claim(uow: UnitOfWork, key: str, fp: str, operation: str) -> bytes | None:
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
    ).one()
    if row.fingerprint != fp:
        raise InvalidArgument("request_id", "already used for a different request")
    return bytes(row.response)
