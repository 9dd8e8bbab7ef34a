from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from onepool_runtime import db, messaging
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.tables import metadata
from onepool_runtime.testing.services import TEST_SECRET
from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass
class Env:
    engine: AsyncEngine
    schema: str
    database_url: str
    nc: Client
    js: JetStreamContext

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="testsvc")


@pytest.fixture
async def env(database_url: str, nats_url: str) -> AsyncIterator[Env]:
    """A fresh schema holding the runtime tables, and a NATS connection with the test stream."""
    schema = f"rt_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    nc = await messaging.connect(nats_url, "runtime-tests")
    js = nc.jetstream()
    await messaging.ensure_stream(js, "TESTSVC", [f"{schema}.>"])
    await messaging.ensure_stream(js, "DLQ", ["dlq.>"])
    yield Env(engine, schema, database_url, nc, js)
    await js.delete_stream("TESTSVC")
    await nc.close()
    await engine.dispose()


@pytest.fixture
def host_settings(env: Env, nats_url: str) -> Callable[..., ServiceSettings]:
    """Settings of a ServiceHost on the test's schema and NATS, on a free loopback port, with `overrides`."""

    def make(**overrides: Any) -> ServiceSettings:
        return ServiceSettings(
            service_name="inventory",
            db_schema=env.schema,
            database_url=env.database_url,
            nats_url=nats_url,
            grpc_host="127.0.0.1",
            grpc_port=0,
            jwt_secret=TEST_SECRET,
            log_json=False,
            **overrides,
        )

    return make
