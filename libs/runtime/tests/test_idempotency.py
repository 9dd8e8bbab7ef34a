"""Idempotent execution, one request at a time and batched, against a real PostgreSQL: both forms share one
key space, and only a lost race (serialization failure, deadlock) is retried."""

from __future__ import annotations

import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime import errors, idempotency
from onepool_runtime.embedded import free_port
from onepool_runtime.infra import is_infrastructure, is_transaction_conflict
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.asyncio

OPERATION = pb.ReserveRequest.__name__


def _request(order_id: str) -> pb.ReserveRequest:
    return pb.ReserveRequest(request_id="r-1", order_id=order_id, lines=[pb.ReserveLine(sku="A", quantity=1)])


async def test_a_batch_replays_what_run_in_transaction_stored_under_the_same_key(env) -> None:  # type: ignore[no-untyped-def]
    request = _request("o-1")
    answer = pb.ReserveResponse(reservation=pb.Reservation(id="res-1"))

    async def produce(uow: UnitOfWork) -> pb.ReserveResponse:
        return answer

    await idempotency.run_in_transaction(env.uow, produce, key="r-1", request=request, response_type=pb.ReserveResponse)
    first = idempotency.stored_key(OPERATION, "r-1")
    fresh = idempotency.stored_key(OPERATION, "r-2")
    async with env.uow() as uow:
        claims = await idempotency.claim_many(uow, OPERATION, {fresh: "fp-2", first: idempotency.fingerprint(request)})
        await uow.commit()
    assert claims[fresh] == idempotency.Claim(owned=True)
    assert claims[first] == idempotency.Claim(False, idempotency.fingerprint(request), answer.SerializeToString())


async def test_answers_are_kept_and_forgotten_keys_are_claimed_afresh(env) -> None:  # type: ignore[no-untyped-def]
    kept, refused = idempotency.stored_key(OPERATION, "kept"), idempotency.stored_key(OPERATION, "refused")
    async with env.uow() as uow:
        assert (await idempotency.claim_many(uow, OPERATION, {kept: "fp", refused: "fp"}))[refused].owned
        await idempotency.store_answers(uow, {kept: b"answer"})
        await idempotency.forget(uow, [refused])
        await uow.commit()
    async with env.uow() as uow:
        claims = await idempotency.claim_many(uow, OPERATION, {kept: "fp", refused: "fp"})
    assert claims == {kept: idempotency.Claim(False, "fp", b"answer"), refused: idempotency.Claim(owned=True)}

    # A key another request used is replayed, never run: the fingerprints tell the caller whether it is a
    # repeat (same content) or a reused id (different content, INVALID_ARGUMENT for the caller).
    with pytest.raises(errors.InvalidArgument):
        await idempotency.run_in_transaction(
            env.uow,
            lambda uow: pytest.fail("a reused id must not run"),  # type: ignore[arg-type, return-value]
            key="kept",
            request=pb.ReserveRequest(request_id="kept"),
            response_type=pb.ReserveResponse,
        )


async def _raised(env, sqlstate: str) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        async with env.engine.begin() as conn:
            await conn.execute(text(f"DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '{sqlstate}'; END $$"))
    except DBAPIError as exc:
        return exc
    raise AssertionError("did not raise")


async def test_only_a_lost_race_is_a_transaction_conflict(env) -> None:  # type: ignore[no-untyped-def]
    assert is_transaction_conflict(await _raised(env, "40001"))  # serialization failure
    assert is_transaction_conflict(await _raised(env, "40P01"))  # deadlock detected
    assert not is_transaction_conflict(await _raised(env, "23505"))  # unique violation: the same on every try
    timeout = await _raised(env, "57014")
    assert is_infrastructure(timeout) and not is_transaction_conflict(timeout)  # the caller retries, not we
    refused = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        async with refused.connect():
            pass
    except Exception as exc:
        assert not is_transaction_conflict(exc)
    finally:
        await refused.dispose()


async def test_a_conflict_is_retried_and_one_that_persists_is_aborted(env) -> None:  # type: ignore[no-untyped-def]
    attempts: list[int] = []

    async def conflicting_twice(uow: UnitOfWork) -> int:
        attempts.append(1)
        if len(attempts) < 3:
            await uow.session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"))
        return len(attempts)

    assert await idempotency.run_in_transaction(env.uow, conflicting_twice) == 3

    async def always(uow: UnitOfWork) -> None:
        await uow.session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$"))

    with pytest.raises(errors.Conflict):
        await idempotency.run_in_transaction(env.uow, always)

    async def broken(uow: UnitOfWork) -> None:
        attempts.append(1)
        await uow.session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23505'; END $$"))

    attempts.clear()
    with pytest.raises(DBAPIError):
        await idempotency.run_in_transaction(env.uow, broken)
    assert len(attempts) == 1
