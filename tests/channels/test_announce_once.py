"""One channels replica announces every channel and listing per start-up wave, not every replica (audit L
item 3): two more replicas on 300 listings took listing.upserted from 300 to 900, each applied by orders and
taking inventory's counter rows, at the moment a scale-up meets peak load. What announcing is for stays: once
the CHANNELS stream no longer holds the announcement (its max age, here a purge), or once it is older than
`announce_interval_seconds`, the next start announces again (test_channel_announcement.py: orders, started
after the stream dropped a channel, learns it)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool_channels.entrypoints.bootstrap import build
from onepool_runtime.embedded import free_port
from onepool_runtime.server import ServiceHost

from tests.channels.conftest import eventually

pytestmark = pytest.mark.asyncio
MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "channels" / "migrations"
LISTINGS = 30


async def listing_events(nats_url: str) -> int:
    """channels.listing.upserted messages the CHANNELS stream holds."""
    subject = "channels.listing.upserted"
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info("CHANNELS", subjects_filter=subject)
        return int((info.state.subjects or {}).get(subject, 0))
    finally:
        await nc.close()


async def replicas_start(stack: Any, count: int = 1, **overrides: Any) -> None:
    """`count` replicas start at once (an autoscaler's), do their start-up work and stay a while. The schema
    is migrated already (alembic's context is process-wide: two in-process upgrades at once trip over it)."""
    hosts = [
        ServiceHost(
            stack.settings("channels").model_copy(update={"grpc_port": free_port(), **overrides}),
            build,
            migrations=MIGRATIONS,
        )
        for _ in range(count)
    ]
    try:
        await asyncio.gather(*(host.start() for host in hosts))
        await asyncio.sleep(1.5)
    finally:
        await asyncio.gather(*(host.stop() for host in hosts))


@pytest.fixture(scope="module")
async def catalogue(stack: Any, admin: Any) -> int:
    await stack.start("inventory", "channels")
    ch = stack.stub("channels")
    channel = (
        await ch.CreateChannel(
            cpb.CreateChannelRequest(
                code=f"c{uuid.uuid4().hex[:6]}",
                name="c",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                allocation=cpb.AllocationPolicy(),
                request_id=uuid.uuid4().hex,
            ),
            metadata=admin,
        )
    ).channel
    for i in range(LISTINGS):
        await ch.UpsertListing(
            cpb.UpsertListingRequest(
                channel_id=channel.id,
                sku=f"S{i}",
                channel_sku=f"C{i}",
                price=common_pb2.Money(currency="CNY", amount_minor=100),
                active=True,
            ),
            metadata=admin,
        )
    return int(await eventually(lambda: listing_events(stack.nats_url), lambda n: n >= LISTINGS))


async def test_replicas_started_after_an_announcement_do_not_repeat_it(stack, catalogue) -> None:  # type: ignore[no-untyped-def]
    await replicas_start(stack, 2)  # an autoscaler adds two at once
    await replicas_start(stack)  # and one more a moment later
    await asyncio.sleep(0.5)  # anything they wrote is relayed by now
    assert await listing_events(stack.nats_url) == catalogue


async def test_a_start_announces_again_once_the_stream_dropped_the_announcement(stack, catalogue) -> None:  # type: ignore[no-untyped-def]
    nc = await nats.connect(stack.nats_url)
    try:
        await nc.jetstream().purge_stream("CHANNELS")
    finally:
        await nc.close()
    await replicas_start(stack, 2)
    await eventually(lambda: listing_events(stack.nats_url), lambda n: n >= LISTINGS)
    await asyncio.sleep(1.0)  # the other replica's announcement, had it made one, is relayed by now
    assert await listing_events(stack.nats_url) == LISTINGS


async def test_a_start_announces_again_once_the_announcement_is_older_than_the_interval(stack, catalogue) -> None:  # type: ignore[no-untyped-def]
    before = await listing_events(stack.nats_url)
    await replicas_start(stack, announce_interval_seconds=0)
    assert await eventually(lambda: listing_events(stack.nats_url), lambda n: n >= before + LISTINGS)
