"""The service's outbox relay on a thread of its own, with its own event loop, database connection and NATS
connection.

Why: on the service's event loop, under load, every step of a relay pass (check out a connection, claim,
publish, wait for the PubAck, mark, commit) waited behind every ready request handler, and the pass queued
for a pooled connection behind them too: `orders.order.placed` reached JetStream 202 ms (p99) after the
PlaceOrder response at 64 callers. On its own thread a step waits at most for the interpreter to switch
threads, and its connections are never busy with a request. The host sets the switch interval to the
service's `switch_interval_ms` (1 ms; Python's 5 ms made a pass on a busy service cost several times
5 ms), and ids come from a buffered source (onepool_kernel.ids) so request handlers do not hand the lock to
this thread on every id. The work per
event is the same; the relay is woken across threads by the first commit after each pass (relay.py).

Failure modes: NATS or PostgreSQL unreachable at start: retried every second until `stop`; a relay that
crashes is logged and restarted after a second (the host's supervision, on this thread); `stop` waits
`within` seconds for the thread and then leaves it (it is a daemon thread: it never holds up the exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_runtime import db, messaging
from onepool_runtime.relay import OutboxRelay, RelayStats
from onepool_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)


class RelayThread:
    def __init__(
        self,
        settings: ServiceSettings,
        woken_by: AsyncEngine,
        *,
        after_publish: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._woken_by = woken_by
        self._after_publish = after_publish
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.relay: OutboxRelay | None = None

    @property
    def stats(self) -> RelayStats:
        return self.relay.stats if self.relay is not None else RelayStats()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name=f"outbox-relay-{self._settings.schema_name}")
        self._thread.daemon = True
        self._thread.start()

    async def stop(self, within: float = 10.0) -> None:
        self._stopping = True  # seen by a thread that has not created its task yet
        loop, task, thread = self._loop, self._task, self._thread
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # its loop already closed
                loop.call_soon_threadsafe(task.cancel)
        if thread is not None:
            await asyncio.to_thread(thread.join, within)
            if thread.is_alive():
                log.error("outbox relay thread did not stop within %.0fs", within)

    def _main(self) -> None:
        loop = self._new_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._run())
            if self._stopping:
                self._task.cancel()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _new_loop(self) -> asyncio.AbstractEventLoop:
        if self._settings.uvloop:
            import uvloop

            return uvloop.new_event_loop()
        return asyncio.new_event_loop()

    async def _run(self) -> None:
        s = self._settings
        # One connection does: a pass and the purge never run at once.
        # A statement bound of its own (settings): a pass on a connection that went dead in a fail-over gives
        # up within it and the next pass connects afresh, rather than hold every event back until the kernel
        # drops the socket.
        engine = db.create_engine(
            s.database_url,
            s.schema_name,
            pool_size=1,
            max_overflow=0,
            **db.bounds(s, command_timeout=s.outbox_command_timeout_seconds),
        )
        nc: Any = None
        try:
            while True:
                try:
                    if nc is None:
                        nc = await messaging.connect(
                            s.nats_url,
                            f"onepool-{s.service_name}-relay",
                            reconnect_wait=s.nats_reconnect_wait_seconds,
                            ping_interval=s.nats_ping_interval_seconds,
                        )
                    if self.relay is None:
                        js = nc.jetstream()
                        self.relay = OutboxRelay(
                            engine,
                            js,
                            schema=s.schema_name,
                            batch_size=s.outbox_batch_size,
                            poll_seconds=s.outbox_poll_seconds,
                            retention_seconds=s.outbox_retention_hours * 3600,
                            after_publish=self._after_publish,
                            woken_by=self._woken_by,
                            statement_timeout=s.outbox_command_timeout_seconds,
                            ensure_stream=partial(
                                messaging.ensure_service_stream,
                                js,
                                s.service_name,
                                messaging.StreamOptions.of(s),
                            ),
                        )
                    await self.relay.run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("outbox relay crashed; restarting in 1s")
                    await asyncio.sleep(1.0)
        finally:
            if nc is not None:
                try:
                    await asyncio.wait_for(nc.drain(), timeout=5)
                except Exception:
                    await nc.close()
            await engine.dispose()
