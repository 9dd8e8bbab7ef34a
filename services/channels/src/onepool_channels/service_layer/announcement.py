"""The start-up announcement: every channel, then every listing, published again as it is (same version), so a
consumer that joined after the CHANNELS stream dropped their events (its max age) still learns them (orders,
inventory and settlement each keep a copy of the channels, orders of the listings). Consumers keep the highest
version, so the repeat changes nothing else.

Once per start-up wave, not once per replica: every replica of a rollout or a scale-up re-published the whole
catalogue (two more replicas on 300 listings: 900 listing events), each applied by orders and taking inventory's
counter rows. A replica announces unless the last announcement finished less than `announce_interval_seconds` ago
and the stream still holds all of it (same stream, its first sequence not past where the announcement began): a
consumer created since reads it from the stream (durables deliver from the start). Past the interval, or once the
stream dropped part of it (its max age, a purge), the next start announces again, as every start did; so does a
release whose Channel or Listing message differs from the one last announced (`CONTRACT`): re-announcing is how a
field it adds reaches every copy. Replicas take turns under a session lock, so the others of a wave wait for the
one announcing, then skip; one stopped mid-way leaves its run unfinished for the next to redo."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from onepool.channels.v1 import channels_pb2
from onepool.channels.v1 import events_pb2 as channel_events

from onepool_channels.adapters.repository import StartupRun
from onepool_channels.service_layer import handlers
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork

ANNOUNCE = "announce"
BATCH = 200
# The messages an announcement publishes, as this release defines them.
CONTRACT = hashlib.sha256(
    channels_pb2.Channel.DESCRIPTOR.file.serialized_pb + channel_events.ListingUpserted.DESCRIPTOR.file.serialized_pb
).hexdigest()[:16]
InTransaction = Callable[[Callable[[ChannelsUnitOfWork], Awaitable[Any]]], Awaitable[Any]]


@dataclass(frozen=True)
class StreamPosition:
    """The CHANNELS stream as JetStream reports it: when it was created, its first and last sequence."""

    created: datetime | None
    first_seq: int
    last_seq: int


def still_held(run: StartupRun | None, stream: StreamPosition, now: datetime, interval: timedelta) -> bool:
    """The last announcement finished within `interval` and every event of it is still in the stream."""
    if run is None or run.finished_at is None or now - run.finished_at >= interval or run.contract != CONTRACT:
        return False
    return run.stream_created == stream.created and stream.first_seq <= run.stream_seq + 1


async def announce_unless_held(
    in_transaction: InTransaction,
    stream: Callable[[], Awaitable[StreamPosition]],
    exclusive: Callable[[], AbstractAsyncContextManager[None]],
    interval: timedelta,
) -> bool:
    """Announce everything unless a recent announcement is still in the stream; True if this call did."""
    async with exclusive():
        position = await stream()
        run = await in_transaction(lambda uow: uow.repo.startup_run(ANNOUNCE))
        if still_held(run, position, datetime.now(UTC), interval):
            return False
        # Recorded before any event of this run is written: they all come after `last_seq` in the stream.
        await in_transaction(lambda uow: uow.repo.start_run(ANNOUNCE, position.created, position.last_seq, CONTRACT))
        after: tuple[str, str] | None = None
        while True:
            after = await in_transaction(partial(handlers.announce_channels, after=after, limit=BATCH))
            if after is None:
                break
        # Then every listing: orders checks orders against its copy of them (a channel's terms).
        listing_key: tuple[str, str] | None = ("", "")
        while listing_key is not None:
            listing_key = await in_transaction(partial(handlers.announce_listings, after=listing_key, limit=BATCH))
        await in_transaction(lambda uow: uow.repo.finish_run(ANNOUNCE))
        return True
