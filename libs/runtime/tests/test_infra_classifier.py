"""The runtime's one classifier of failures, fed real errors from a real PostgreSQL, NATS and gRPC."""

from __future__ import annotations

import asyncio

import grpc
import nats
import pytest
from onepool_runtime import db, errors
from onepool_runtime.embedded import free_port
from onepool_runtime.infra import is_infrastructure
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

pytestmark = pytest.mark.asyncio


async def _raised(coro) -> BaseException:  # type: ignore[no-untyped-def]
    try:
        await coro
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


async def test_database_failures_that_a_retry_cures_are_infrastructure(env) -> None:  # type: ignore[no-untyped-def]
    async def statement_timeout() -> None:
        async with env.engine.begin() as conn:
            await conn.execute(text("SET LOCAL statement_timeout = 50"))
            await conn.execute(text("SELECT pg_sleep(2)"))

    timeout = await _raised(statement_timeout())
    assert isinstance(timeout, DBAPIError) and is_infrastructure(timeout)  # 57014

    refused = db.create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", "public")
    try:
        down = await _raised(db.ensure_schema(refused, "public"))
    finally:
        await refused.dispose()
    assert is_infrastructure(down)  # ConnectionRefusedError, however SQLAlchemy wraps it

    async def serialization_failure() -> None:
        async with env.engine.begin() as conn:
            await conn.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40001'; END $$"))

    assert is_infrastructure(await _raised(serialization_failure()))


async def test_failures_that_repeat_on_every_retry_are_not(env) -> None:  # type: ignore[no-untyped-def]
    async def duplicate() -> None:
        async with env.engine.begin() as conn:
            await conn.execute(text("CREATE TEMP TABLE u (k int PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO u VALUES (1), (1)"))

    integrity = await _raised(duplicate())
    assert isinstance(integrity, IntegrityError) and not is_infrastructure(integrity)

    async def bad_sql() -> None:
        async with env.engine.begin() as conn:
            await conn.execute(text("SELECT no_such_column FROM outbox"))

    assert not is_infrastructure(await _raised(bad_sql()))
    assert not is_infrastructure(ValueError("cannot ever handle this"))
    assert not is_infrastructure(FileNotFoundError(2, "No such file or directory"))
    assert not is_infrastructure(errors.FailedPrecondition("RULE", "a domain rule"))
    assert is_infrastructure(errors.Unavailable("inventory unavailable"))


async def test_nats_and_peer_outages_are_infrastructure() -> None:
    port = free_port()
    down = await _raised(
        asyncio.wait_for(nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False, connect_timeout=1), 3)
    )
    assert is_infrastructure(down)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary("/x.Y/Z", request_serializer=None, response_deserializer=None)
        unreachable = await _raised(call(b"", timeout=2))
    assert isinstance(unreachable, grpc.aio.AioRpcError) and is_infrastructure(unreachable)
