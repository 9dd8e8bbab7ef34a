"""The retention purges of the inbox and the idempotency keys: what they delete, that a key purged is a new
request, that they read their tables by index, and that the service host runs them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_runtime import idempotency, retention, tables
from onepool_runtime.server import Infra, ServiceHost, ServiceParts
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.plans import generic_plan
from onepool_runtime.uow import UnitOfWork
from pydantic import ValidationError
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncSession

pytestmark = pytest.mark.asyncio

DAY = retention.DAY


async def _answer(env: Any, request_id: str, answers: list[str]) -> str:
    """Run a Reserve-like use case idempotently; each run that really happens takes the next answer."""

    async def produce(uow: UnitOfWork) -> pb.ReserveResponse:
        return pb.ReserveResponse(reservation=pb.Reservation(id=answers.pop(0)))

    request = pb.ReserveRequest(request_id=request_id, order_id="o-1")
    reply = await idempotency.run_in_transaction(
        env.uow, produce, key=request_id, request=request, response_type=pb.ReserveResponse
    )
    return reply.reservation.id


async def _age_keys(env: Any, days: float, *request_ids: str) -> None:
    async with env.engine.begin() as conn:
        await conn.execute(
            text("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => :s) WHERE key = ANY(:k)"),
            {"s": days * DAY, "k": [idempotency.stored_key("ReserveRequest", r) for r in request_ids]},
        )


async def test_a_request_retried_after_its_key_is_purged_runs_again_and_one_within_it_does_not(env: Any) -> None:
    answers = ["first", "second", "third", "fourth"]
    assert await _answer(env, "r-old", answers) == "first"
    assert await _answer(env, "r-new", answers) == "second"
    await _age_keys(env, 31, "r-old")
    await _age_keys(env, 29, "r-new")

    assert await idempotency.purge(env.engine, 30 * DAY, chunk=1) == 1

    assert await _answer(env, "r-new", answers) == "second"  # within the retention: the stored answer
    assert await _answer(env, "r-old", answers) == "third"  # past it: a new request
    assert answers == ["fourth"]


async def test_keys_must_be_kept_at_least_a_day() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(idempotency_retention_days=0.5)
    assert ServiceSettings().idempotency_retention_days == 30


@pytest.mark.parametrize("table", sorted(retention.AGE_COLUMNS))
async def test_a_purge_reads_only_the_rows_it_deletes_by_the_age_index(env: Any, table: str) -> None:
    """A month of keys or 15 days of events, none old enough: the purge used to read them all to find none."""
    fill = {
        "inbox": "INSERT INTO inbox (consumer, event_id, subject) SELECT 'c', 'e' || i, 's'",
        "idempotency_keys": "INSERT INTO idempotency_keys (key, operation, fingerprint, response) "
        "SELECT 'k' || i, 'op', 'fp', ''",
    }[table]
    async with env.engine.begin() as conn:
        await conn.execute(text(f"{fill} FROM generate_series(1, 20000) i"))
        await conn.execute(text(f"ANALYZE {table}"))
    async with env.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            plan = await generic_plan(driver, retention.purge_statement(table))
    assert "Seq Scan" not in plan and f"Index Scan using {table}_{retention.AGE_COLUMNS[table]}" in plan, plan


async def test_the_service_host_purges_old_idempotency_keys(env: Any, host_settings: Any) -> None:
    answers = ["old-1", "old-2", "kept"]
    for request_id in ("r-1", "r-2", "r-3"):
        await _answer(env, request_id, answers)
    await _age_keys(env, 40, "r-1", "r-2")

    async def build(infra: Infra) -> ServiceParts:
        return ServiceParts(register=lambda server: None, service_names=[], policy={})

    settings = host_settings(idempotency_purge_interval_seconds=0.2)
    host = ServiceHost(settings, build)
    await host.start()
    try:
        for _ in range(100):
            if host.idempotency_purge is not None and host.idempotency_purge.purged == 2:
                break
            await asyncio.sleep(0.1)
        assert host.idempotency_purge is not None and host.idempotency_purge.purged == 2
    finally:
        await host.stop()
    async with env.engine.connect() as conn:
        left = (await conn.execute(text("SELECT key FROM idempotency_keys"))).scalars().all()
    assert left == [idempotency.stored_key("ReserveRequest", "r-3")]


async def _purge_all_keys(env: Any) -> None:
    async with env.engine.begin() as conn:
        await conn.execute(text("DELETE FROM idempotency_keys"))


async def test_a_key_purged_between_the_claim_and_the_read_of_its_answer_is_claimed_afresh(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry's INSERT finds the key taken, the purge commits, its SELECT finds nothing: a new request,
    never an error (the read's `.one()` raised, an INTERNAL)."""
    answers = ["first", "second"]
    assert await _answer(env, "r-1", answers) == "first"
    execute, purged = AsyncSession.execute, []

    async def purging_before_the_read(self: AsyncSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if not purged and isinstance(statement, Select) and tables.idempotency_keys in statement.get_final_froms():
            purged.append(statement)
            await _purge_all_keys(env)
        return await execute(self, statement, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "execute", purging_before_the_read)
    assert await _answer(env, "r-1", answers) == "second"
    assert purged and answers == []


class _PurgingBeforeTheRead:
    """An asyncpg connection whose first read of stored answers comes after a purge of every key."""

    def __init__(self, conn: Any, env: Any) -> None:
        self._conn, self._env, self.purged = conn, env, False

    async def fetch(self, sql: str, *args: Any) -> Any:
        if not self.purged and sql.startswith("SELECT key, fingerprint, response FROM idempotency_keys"):
            self.purged = True
            await _purge_all_keys(self._env)
        return await self._conn.fetch(sql, *args)


async def test_a_batch_claims_afresh_the_keys_purged_between_its_two_statements(env: Any) -> None:
    answers = ["first"]
    assert await _answer(env, "r-1", answers) == "first"
    key = idempotency.stored_key("ReserveRequest", "r-1")
    async with env.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        async with driver.transaction():
            racing = _PurgingBeforeTheRead(driver, env)
            claims = await idempotency.claim_many_on(racing, "ReserveRequest", {key: "fp", "ReserveRequest:r-2": "fp2"})
    assert racing.purged
    assert claims == {key: idempotency.Claim(owned=True), "ReserveRequest:r-2": idempotency.Claim(owned=True)}
