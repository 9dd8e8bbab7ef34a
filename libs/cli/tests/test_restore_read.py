"""`restore check` reads a stream's window with a few requests per thousand events, a batch at a time, on a
real nats-server: a message get per event was 20,000 round trips after hours of traffic, all held in memory."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import events_pb2
from onepool_cli import restore
from onepool_runtime import messaging
from onepool_runtime.consumer import REPLAY_FOR_HEADER

pytestmark = pytest.mark.asyncio


async def test_the_window_is_read_in_batches_with_a_few_requests(nats_url: str) -> None:
    nc = await messaging.connect(nats_url, "restore-read-tests")
    watcher = await messaging.connect(nats_url, "restore-read-watcher")
    js = nc.jetstream()
    await messaging.ensure_service_stream(js, "orders")
    try:
        for _ in range(5):  # before the window
            await _publish(js)
        await asyncio.sleep(0.05)
        since = datetime.now(UTC)
        ids = [await _publish(js) for _ in range(2500)]
        await _publish(js, {REPLAY_FOR_HEADER: "x"})  # a replayed dead letter: its original is what counts
        await js.delete_msg("ORDERS", 10)  # gone from the stream: skipped, not waited for
        ids.remove(ids[10 - 6])

        requests: list[str] = []

        async def seen(msg: Msg) -> None:
            requests.append(msg.subject)

        await watcher.subscribe("$JS.API.>", cb=seen)
        await watcher.flush()
        batches = [b async for b in restore.published_since(nc, since, batch=1000)]
        await nc.flush()
        await watcher.flush()
        await asyncio.sleep(0.2)

        assert [p.event_id for b in batches for p in b] == ids  # in stream order, each once
        assert [p.seq for p in batches[0][:3]] == [6, 7, 8]
        assert max(len(b) for b in batches) <= 1000
        reads = [s for s in requests if s.startswith(("$JS.API.STREAM.MSG.GET", "$JS.API.CONSUMER.MSG.NEXT"))]
        assert len(reads) <= 20, requests  # per stream: the window's start, then about one pull per 1000
        assert not (await js.consumers_info("ORDERS"))  # its ephemeral consumer is gone
    finally:
        await js.delete_stream("ORDERS")
        await watcher.close()
        await nc.close()


async def _publish(js: JetStreamContext, extra: dict[str, str] | None = None) -> str:
    event_id = f"evt-{uuid.uuid4().hex[:12]}"
    event = events_pb2.OrderPaid(meta=common_pb2.EventMeta(event_id=event_id))
    headers = {"Nats-Msg-Id": event_id, **(extra or {})}
    await js.publish("orders.order.paid", event.SerializeToString(), headers=headers)
    return event_id
