"""The inbox purge: rows older than the retention go, newer ones stay, and the consumer host runs it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from onepool.inventory.v1 import events_pb2
from onepool_runtime import inbox
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.server import Infra, ServiceHost, ServiceParts
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.uow import UnitOfWork
from pydantic import ValidationError
from sqlalchemy import text

pytestmark = pytest.mark.asyncio

DAY = inbox.DAY


async def _driver(conn: Any) -> Any:
    """The asyncpg connection under a SQLAlchemy connection, in its transaction."""
    await conn.execute(text("SELECT 1"))  # SQLAlchemy's asyncpg adapter begins at the first statement
    return (await conn.get_raw_connection()).driver_connection


async def _rows(env: Any, consumer: str, ids: list[str], age_days: float) -> None:
    async with env.engine.begin() as conn:
        claimed = await inbox.claim(await _driver(conn), consumer, [(i, "x.y") for i in ids])
        assert claimed == set(ids)
        await conn.execute(
            text("UPDATE inbox SET processed_at = now() - make_interval(secs => :s) WHERE event_id = ANY(:ids)"),
            {"s": age_days * DAY, "ids": ids},
        )


async def _left(env: Any) -> set[tuple[str, str]]:
    async with env.engine.connect() as conn:
        return {(r[0], r[1]) for r in await conn.execute(text("SELECT consumer, event_id FROM inbox"))}


async def test_purge_deletes_only_rows_older_than_the_retention_in_chunks(env: Any) -> None:
    await _rows(env, "svc-a", [f"old-a{i}" for i in range(7)], age_days=16)
    await _rows(env, "svc-b", [f"old-b{i}" for i in range(5)], age_days=20)
    await _rows(env, "svc-a", ["young-a"], age_days=14)
    await _rows(env, "svc-b", ["new-b"], age_days=0)

    deleted = await inbox.purge(env.engine, 15 * DAY, chunk=3)  # several chunks, each its own transaction

    assert deleted == 12
    assert await _left(env) == {("svc-a", "young-a"), ("svc-b", "new-b")}
    assert await inbox.purge(env.engine, 15 * DAY) == 0


async def test_claim_returns_only_ids_not_seen_before(env: Any) -> None:
    async with env.engine.begin() as conn:
        driver = await _driver(conn)
        assert await inbox.claim(driver, "svc", [("b", "s"), ("a", "s")]) == {"a", "b"}
        assert await inbox.claim(driver, "svc", [("c", "s"), ("a", "s")]) == {"c"}
        assert await inbox.claim(driver, "other", [("a", "s")]) == {"a"}  # each consumer has its own inbox
        assert await inbox.claim(driver, "svc", []) == set()


async def test_retention_must_outlive_every_redelivery() -> None:
    """A stream keeps a message 7 days and the DLQ 7 more; a shorter retention could apply a replay twice."""
    with pytest.raises(ValidationError):
        ServiceSettings(inbox_retention_days=7)
    assert ServiceSettings().inbox_retention_days > 14


async def test_the_consumer_host_purges_the_inbox(env: Any, host_settings: Any) -> None:
    await _rows(env, "svc-a", ["old-1", "old-2"], age_days=30)
    await _rows(env, "svc-a", ["kept"], age_days=1)

    async def never(event: Any, uow: Any) -> None:
        raise AssertionError("no event is published here")

    async def build(infra: Infra) -> ServiceParts:
        consumer = infra.consumer(
            lambda sessions: UnitOfWork(sessions, source="testsvc"),
            "purge-test",
            "INVENTORY",
            [Subscription.of(events_pb2.StockChanged, never)],
        )
        assert isinstance(consumer, EventConsumer)
        return ServiceParts(register=lambda server: None, service_names=[], policy={}, consumers=[consumer])

    settings = host_settings(inbox_purge_interval_seconds=0.2)
    host = ServiceHost(settings, build)
    await host.start()
    try:
        for _ in range(100):
            if await _left(env) == {("svc-a", "kept")}:
                break
            await asyncio.sleep(0.1)
        assert await _left(env) == {("svc-a", "kept")}
        assert host.inbox_purge is not None and host.inbox_purge.purged == 2
    finally:
        await host.stop()
