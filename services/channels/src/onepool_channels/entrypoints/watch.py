"""Live channel stock for WatchChannelStock streams, on every replica.

One NATS subscription per replica to ChannelStockUpdated's subject (published by whichever replica's relay)
fans each update out to the streams watching that channel. Core NATS delivery is at most once, so the
hub never relies on it alone: a stream starts from a snapshot of the published numbers and is resnapshot
whenever it may have missed something (its buffer overflowed, the hub (re)subscribed, NATS reconnected).
Versions per (channel, sku) let a stream drop anything older than what it already sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from nats.aio.client import Client
from nats.aio.msg import Msg
from onepool.channels.v1 import events_pb2 as ev
from onepool_contracts.events import subject_of

log = logging.getLogger(__name__)

SUBJECT = subject_of(ev.ChannelStockUpdated)


class Watcher:
    """One stream's mailbox: updates for its channel, or None meaning "resnapshot"."""

    def __init__(self, channel_id: str, size: int) -> None:
        self.channel_id = channel_id
        self.closed = False
        self._queue: asyncio.Queue[ev.ChannelStockUpdated | None] = asyncio.Queue(maxsize=size)

    def close(self) -> None:
        """The service is stopping: wake the stream so it ends cleanly instead of holding up shutdown."""
        self.closed = True
        self.offer(None)

    def offer(self, update: ev.ChannelStockUpdated | None) -> None:
        try:
            self._queue.put_nowait(update)
        except asyncio.QueueFull:
            # Too slow to keep up: drop the backlog and let the stream catch up from a snapshot.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    async def next(self) -> ev.ChannelStockUpdated | None:
        return await self._queue.get()


class StockWatchHub:
    def __init__(self, nc: Client, *, queue_size: int = 1000, reconnect_check_seconds: float = 1.0) -> None:
        self._nc = nc
        self._size = queue_size
        self._check = reconnect_check_seconds
        self._watchers: dict[str, set[Watcher]] = {}

    @property
    def watchers(self) -> int:
        return sum(len(ws) for ws in self._watchers.values())

    @contextlib.asynccontextmanager
    async def watch(self, channel_id: str) -> AsyncIterator[Watcher]:
        """Register before reading the snapshot, so nothing committed after the snapshot is missed."""
        watcher = Watcher(channel_id, self._size)
        self._watchers.setdefault(channel_id, set()).add(watcher)
        try:
            yield watcher
        finally:
            group = self._watchers.get(channel_id)
            if group is not None:
                group.discard(watcher)
                if not group:
                    del self._watchers[channel_id]

    async def close(self) -> None:
        for group in self._watchers.values():
            for watcher in group:
                watcher.close()

    def _resync_all(self) -> None:
        for group in self._watchers.values():
            for watcher in group:
                watcher.offer(None)

    async def _deliver(self, msg: Msg) -> None:
        try:
            update = ev.ChannelStockUpdated.FromString(msg.data)
        except Exception:
            log.warning("undecodable %s message ignored", SUBJECT)
            return
        for watcher in tuple(self._watchers.get(update.channel_id, ())):
            watcher.offer(update)

    async def run(self) -> None:
        """A supervised background task: keep the subscription, notice reconnects."""
        sub = await self._nc.subscribe(SUBJECT, cb=self._deliver)
        try:
            self._resync_all()  # anything published before this subscription existed was not seen
            reconnects = self._nc.stats["reconnects"]
            while True:
                await asyncio.sleep(self._check)
                if self._nc.stats["reconnects"] != reconnects:
                    reconnects = self._nc.stats["reconnects"]
                    log.info("NATS reconnected: resynchronising %d stock watchers", self.watchers)
                    self._resync_all()
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
