"""Two replicas (relay and consumer each) on a three-node JetStream cluster, streams R3: one node is killed
mid-flow and started again. The replica whose server died reconnects to a survivor; every event written to
either replica's outbox is published and applied exactly once (the outbox keeps what was not acknowledged,
`Nats-Msg-Id` and the inbox drop what is sent twice)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from nats.aio.client import Client
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2
from onepool_runtime import db, messaging
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.embedded import NatsCluster
from onepool_runtime.relay import OutboxRelay
from onepool_runtime.tables import metadata
from onepool_runtime.uow import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

EVENTS = 240
R3 = messaging.StreamOptions(replicas=3)


@pytest.fixture(scope="module")
def cluster() -> Iterator[NatsCluster]:
    nodes = NatsCluster(Path(tempfile.mkdtemp(prefix="onepool-nats-cluster-")))
    nodes.start()
    yield nodes
    nodes.stop()


@dataclass
class Replica:
    engine: AsyncEngine
    nc: Client
    relay: OutboxRelay
    consumer: EventConsumer

    def uow(self) -> UnitOfWork:
        return UnitOfWork(db.session_factory(self.engine), source="testsvc")


@pytest.fixture
async def schema(database_url: str) -> AsyncIterator[str]:
    name = f"rt_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, name)
    await db.ensure_schema(engine, name)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(text("CREATE TABLE applied (event_id text NOT NULL, replica int NOT NULL)"))
    await engine.dispose()
    yield name


async def _replica(n: int, database_url: str, schema: str, cluster: NatsCluster) -> Replica:
    engine = db.create_engine(database_url, schema)
    nc = await messaging.connect(cluster.url, f"replica-{n}", reconnect_wait=0.2, ping_interval=1.0)
    js = nc.jetstream()
    await messaging.ensure_service_stream(js, "inventory", R3)

    async def apply(event: events_pb2.StockChanged, uow: UnitOfWork) -> None:
        await uow.session.execute(text("INSERT INTO applied VALUES (:id, :n)"), {"id": event.meta.event_id, "n": n})

    consumer = EventConsumer(
        js,
        lambda: UnitOfWork(db.session_factory(engine), source="testsvc"),
        service="testsvc",
        name="cluster",
        stream=messaging.STREAMS["inventory"],
        subscriptions=[Subscription.of(events_pb2.StockChanged, apply)],
        ack_wait=2.0,
        backoff=lambda _n: 0.1,
    )
    relay = OutboxRelay(engine, js, schema=schema, poll_seconds=0.2, publish_timeout=2.0)
    return Replica(engine, nc, relay, consumer)


def _event(n: int) -> events_pb2.StockChanged:
    event = events_pb2.StockChanged(meta=common_pb2.EventMeta())
    event.level.sku = f"SKU-{n:04d}"
    return event


@pytest.mark.asyncio
async def test_replicas_ride_out_the_loss_of_a_node_without_losing_or_repeating_an_event(
    cluster: NatsCluster, database_url: str, schema: str
) -> None:
    replicas = [await _replica(n, database_url, schema, cluster) for n in (0, 1)]
    info = await replicas[0].nc.jetstream().stream_info(messaging.STREAMS["inventory"])
    assert info.config.num_replicas == 3 and info.cluster is not None and len(info.cluster.replicas or []) == 2
    tasks = [asyncio.create_task(t()) for r in replicas for t in (r.relay.run, r.consumer.run)]
    # The node replica 0 is connected to: it must move to a survivor.
    port = urlparse(replicas[0].nc.connected_url.geturl()).port if replicas[0].nc.connected_url else None
    doomed = next(i for i, node in enumerate(cluster.nodes) if node.port == port)
    try:
        for n in range(EVENTS):  # both replicas write, ~10 ms apart, as their callers would
            if n == EVENTS // 3:
                await asyncio.to_thread(cluster.nodes[doomed].kill)
            if n == 2 * EVENTS // 3:
                await asyncio.to_thread(cluster.nodes[doomed].start)
            async with replicas[n % 2].uow() as uow:
                uow.publish(_event(n))
                await uow.commit()
            await asyncio.sleep(0.01)

        async def counts() -> tuple[int, int, int]:
            async with replicas[0].engine.connect() as conn:
                left = (await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
                applied = (await conn.execute(text("SELECT count(*) FROM applied"))).scalar()
                distinct = (await conn.execute(text("SELECT count(DISTINCT event_id) FROM applied"))).scalar()
            return int(left or 0), int(applied or 0), int(distinct or 0)

        for _ in range(600):
            left, applied, distinct = await counts()
            if not left and distinct == EVENTS:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(3.0)  # past ack_wait: a redelivery would have been applied (or dropped) by now
        left, applied, distinct = await counts()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for r in replicas:
            await r.nc.close()
            await r.engine.dispose()

    assert left == 0, f"{left} events never published"
    assert distinct == EVENTS, f"{EVENTS - distinct} events never applied"
    assert applied == EVENTS, f"{applied - distinct} events applied twice"
    assert replicas[0].nc.stats["reconnects"] >= 1  # it did lose its server and found another
    assert all(r.relay.stats.published for r in replicas)
    assert sum(r.consumer.processed for r in replicas) == EVENTS


def test_cluster_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from onepool_runtime.settings import ServiceSettings

    monkeypatch.setenv("ONEPOOL_NATS_URL", "nats://a:4222, nats://b:4222,nats://c:4222")
    monkeypatch.setenv("ONEPOOL_NATS_STREAM_REPLICAS", "3")
    monkeypatch.setenv("ONEPOOL_NATS_PLACEMENT_CLUSTER", "east")
    monkeypatch.setenv("ONEPOOL_NATS_PLACEMENT_TAGS", "ssd, az:1")
    settings = ServiceSettings()
    assert messaging.server_urls(settings.nats_url) == ["nats://a:4222", "nats://b:4222", "nats://c:4222"]
    options = messaging.StreamOptions.of(settings)
    assert options == messaging.StreamOptions(3, "east", ("ssd", "az:1"))
    assert options.placement is not None and options.placement.tags == ["ssd", "az:1"]
    assert messaging.StreamOptions().placement is None  # a single server: no placement asked
    with pytest.raises(ValueError):
        messaging.server_urls(" , ")
