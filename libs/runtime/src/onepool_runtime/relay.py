"""The outbox relay: the only code that publishes to NATS.

It claims unpublished rows in commit order (FOR UPDATE SKIP LOCKED, so several replicas can run), publishes
each with Nats-Msg-Id = event id, waits for the JetStream PubAck, and only then marks the row published in
the same transaction that claimed it. If the relay dies between PubAck and mark, the row is published
again; JetStream's duplicate window drops the copy and consumers' inboxes drop anything older.

When to look: a commit that wrote outbox rows in this process wakes the relay at once (`outbox.on_commit`,
on the engine `woken_by`: the service's, when the relay has a connection of its own). The wake-up is cleared
before each pass, never after, so a commit made while a pass runs starts the next pass straight away; it may
come from another thread (the relay runs on its own, relay_thread.py), and only the first commit after a
pass crosses threads. Otherwise the relay polls: every `poll_seconds`, or every `busy_poll_seconds` after a
pass that found rows (while another process, which cannot wake it, keeps writing).

A pass is three messages to PostgreSQL on the pooled connection's asyncpg connection, one transaction: BEGIN,
the claim, and the mark sent together with COMMIT (one message, so one wait fewer for the database and, on
the relay's own thread, for the interpreter lock); no SQLAlchemy compilation per pass. A failure before the
COMMIT rolls the transaction back; a connection handed back inside one is dropped by the pool (db.py).

Published rows are kept `retention_seconds` (so they can be re-sent) and then purged, between passes on the
same connection, one chunk at a time (`retention.SeqPurge`): a chunk reads the oldest rows by the primary
key and deletes those published before the cut-off, and the purge ends at the first row written after it.
A chunk so reads about what it deletes, whatever the table holds (a filter on published_at, which no index
serves, read the whole retained day every 15 s and held the relay while it deleted all it found); the relay
publishes between chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import propagate, trace
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from onepool_runtime import metrics, outbox, retention
from onepool_runtime.db import driver_connection
from onepool_runtime.outbox import MSG_ID_HEADER

log = logging.getLogger(__name__)
tracer = trace.get_tracer("onepool.outbox")

_CLAIM = (
    "SELECT seq, id, subject, payload, headers FROM outbox WHERE published_at IS NULL "
    "ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_MARK_AND_COMMIT = (
    "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE seq = ANY('{%s}'::bigint[]); COMMIT"
)
_FAIL = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])"
# The purge's two statements (retention.SeqPurge), for the test that pins them to the primary key.
PURGE_STATEMENTS = retention.seq_purge_statements("outbox", "published_at", "created_at")
PURGE_EVERY_SECONDS = 15.0
_BACKLOG = text(
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE published_at IS NULL"
)


@dataclass
class RelayStats:
    published: int = 0
    failed: int = 0
    purged: int = 0


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        js: JetStreamContext,
        *,
        schema: str,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        busy_poll_seconds: float = 0.05,
        publish_timeout: float = 5.0,
        retention_seconds: float = 86400.0,
        purge_chunk: int = 2000,
        after_publish: Callable[[list[str]], Awaitable[None]] | None = None,
        woken_by: AsyncEngine | None = None,
    ) -> None:
        self._engine = engine
        # Commits through this engine's pool wake the relay (its own engine unless it has a connection apart).
        self._woken_by = woken_by or engine
        self._js = js
        self._schema = schema
        self._batch = batch_size
        self._poll = poll_seconds
        self._busy_poll = min(busy_poll_seconds, poll_seconds)
        self._timeout = publish_timeout
        self._purge = retention.SeqPurge(
            "outbox", done="published_at", written="created_at", retention_seconds=retention_seconds, chunk=purge_chunk
        )
        # Test seam: runs after the PubAcks and before the rows are marked (fault injection).
        self._after_publish = after_publish
        self._wake = asyncio.Event()
        # Set by the first commit after a pass cleared it: later commits need not cross threads again.
        self._poked = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self.stats = RelayStats()

    def _poke(self) -> None:
        """Wake the relay; called in the committing task, which may be on another thread than the relay's."""
        if self._poked or self._loop is None:
            return
        self._poked = True
        if threading.get_ident() == self._thread:
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the relay's loop closed meanwhile: nothing left to wake
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        stop_waking = outbox.on_commit(self._woken_by, self._poke)
        last_purge = 0.0
        purging = False  # a purge is under way: its next chunk runs after the next pass
        loop = self._loop
        try:
            while True:
                # Before the pass: a commit during it must start the next one (and poke across threads again).
                self._poked = False
                self._wake.clear()
                try:
                    sent = await self.publish_pending()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("outbox relay pass failed; retrying")
                    sent = 0
                    await asyncio.sleep(self._poll)
                if purging or loop.time() - last_purge > PURGE_EVERY_SECONDS:
                    last_purge = last_purge if purging else loop.time()
                    purging = await self._purge_and_measure()
                if sent >= self._batch or purging:
                    continue  # more waiting (to publish or to purge): do not sleep
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._busy_poll if sent else self._poll)
        finally:
            stop_waking()
            self._loop = None

    async def publish_pending(self) -> int:
        """Publish one batch. Returns how many rows were published."""
        async with driver_connection(self._engine) as conn:
            await conn.execute("BEGIN")
            try:
                ok, failed = await self._publish_claimed(conn)
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.execute("ROLLBACK")
                raise
        self.stats.published += len(ok)
        self.stats.failed += len(failed)
        metrics.outbox_published.add(len(ok), {"service": self._schema})
        return len(ok)

    async def _publish_claimed(self, conn: Any) -> tuple[list[int], list[int]]:
        """Inside the pass's transaction: claim, publish, and end it (module doc). Returns the published and
        the failed rows' seqs."""
        rows = await conn.fetch(_CLAIM, self._batch)
        if not rows:
            await conn.execute("COMMIT")
            return [], []
        futures: list[tuple[Any, asyncio.Future[Any]]] = []
        for seq, event_id, subject, payload, stored_headers in rows:
            headers = dict(stored_headers or {})
            parent = propagate.extract(headers)
            with tracer.start_as_current_span(
                f"publish {subject}", context=parent, kind=trace.SpanKind.PRODUCER
            ) as span:
                span.set_attribute("messaging.system", "nats")
                span.set_attribute("messaging.destination.name", subject)
                span.set_attribute("messaging.message.id", event_id)
                headers.pop("traceparent", None)
                headers.pop("tracestate", None)
                propagate.inject(headers)
                headers[MSG_ID_HEADER] = event_id
                fut = await self._js.publish_async(subject, bytes(payload), headers=headers)
            futures.append((seq, fut))
        ok: list[int] = []
        failed: list[int] = []
        error = ""
        done, pending = await asyncio.wait([f for _, f in futures], timeout=self._timeout)
        for seq, fut in futures:
            if fut in done and fut.exception() is None:
                ok.append(seq)
            else:
                failed.append(seq)
                error = repr(fut.exception()) if fut in done else "publish timed out"
        for fut in pending:
            fut.cancel()
        if self._after_publish is not None:
            published = set(ok)
            await self._after_publish([r["id"] for r in rows if r["seq"] in published])
        if failed:
            await conn.execute(_FAIL, failed, error[:500])
            log.warning("outbox: %d events not acknowledged by JetStream: %s", len(failed), error)
        # seqs are integers read from the table: safe in the statement's text, which COMMIT joins.
        await conn.execute(_MARK_AND_COMMIT % ",".join(str(int(seq)) for seq in ok) if ok else "COMMIT")
        return ok, failed

    async def purge_step(self) -> bool:
        """Delete one chunk of rows published before the retention's cut-off (module doc). True while the
        purge has more to look at."""
        purged = self._purge.purged
        try:
            return await self._purge.step(self._engine)
        finally:
            self.stats.purged += self._purge.purged - purged

    async def _purge_and_measure(self) -> bool:
        """One purge chunk and, once the purge is done, the backlog gauges. True while the purge goes on; a
        failure ends it (the next one starts in PURGE_EVERY_SECONDS) and never stops the relay."""
        try:
            if await self.purge_step():
                return True
            async with self._engine.connect() as conn:
                count, age = (await conn.execute(_BACKLOG)).one()
            metrics.set_outbox_backlog(self._schema, int(count), float(age))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox purge failed; trying again in %.0fs: %r", PURGE_EVERY_SECONDS, exc)
        return False
