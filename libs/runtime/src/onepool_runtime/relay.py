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
Each statement of a pass waits at most `statement_timeout` seconds for its answer (the relay thread gives
`outbox_command_timeout_seconds`, to its engine too, which bounds the purge's): a database that failed over
leaves the old socket silent, and without a bound the pass waited until the kernel gave the socket up
(~15 min), holding back every event committed meanwhile. A statement that timed out closes the connection,
without a ROLLBACK that would wait on the same dead socket; the next pass connects afresh.

A stream that is not there (deleted by an operator, a JetStream node back without its state) makes every
publish fail with no stream to take it: the relay ensures the stream again (`ensure_stream`, given by the
relay thread) and publishes the rows at the next pass, rather than fail them for good.

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
from nats.js.errors import NoStreamResponseError
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


# A ROLLBACK after a failed pass waits at most this long for its answer before the connection is closed.
_ROLLBACK_SECONDS = 2.0


async def _end_failed_pass(conn: Any, error: BaseException) -> None:
    """Roll the pass back, or close the connection when it cannot answer (module doc)."""
    if not conn.is_closed() and not isinstance(error, TimeoutError):
        try:
            await conn.execute("ROLLBACK", timeout=_ROLLBACK_SECONDS)
            return
        except Exception as exc:
            log.warning("outbox: no answer to the ROLLBACK of a failed pass (%r); closing the connection", exc)
    # The server ends the transaction when it sees the connection go; the pool replaces it at the next
    # checkout (a closed connection invalidates the pool, db.py).
    conn.terminate()


async def publish_row(
    js: JetStreamContext, event_id: str, subject: str, payload: bytes, stored_headers: dict[str, str] | None
) -> asyncio.Future[Any]:
    """Publish one outbox row as the relay does (also `onepool outbox resend`'s, so a re-sent event carries
    the same headers): its stored headers, a producer span under the request's trace, Nats-Msg-Id = event id
    (JetStream's duplicate window drops a copy). Returns the future of its PubAck."""
    headers = dict(stored_headers or {})
    parent = propagate.extract(headers)
    with tracer.start_as_current_span(f"publish {subject}", context=parent, kind=trace.SpanKind.PRODUCER) as span:
        span.set_attribute("messaging.system", "nats")
        span.set_attribute("messaging.destination.name", subject)
        span.set_attribute("messaging.message.id", event_id)
        headers.pop("traceparent", None)
        headers.pop("tracestate", None)
        propagate.inject(headers)
        headers[MSG_ID_HEADER] = event_id
        return await js.publish_async(subject, bytes(payload), headers=headers)


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
        ensure_stream: Callable[[], Awaitable[None]] | None = None,
        statement_timeout: float = 10.0,
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
        self._statement_timeout = statement_timeout or None  # None: the engine's command timeout, if any
        self._purge = retention.SeqPurge(
            "outbox", done="published_at", written="created_at", retention_seconds=retention_seconds, chunk=purge_chunk
        )
        # Test seam: runs after the PubAcks and before the rows are marked (fault injection).
        self._after_publish = after_publish
        self._ensure_stream = ensure_stream
        self._no_stream = False  # the last pass found no stream to publish to (module doc)
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
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the wake instead of raising a
                # cancellation that lands as the wake fires, and a relay whose `stop` was lost never stopped.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._busy_poll if sent else self._poll):
                        await self._wake.wait()
        finally:
            stop_waking()
            self._loop = None

    async def publish_pending(self) -> int:
        """Publish one batch. Returns how many rows were published."""
        async with driver_connection(self._engine) as conn:
            try:
                await conn.execute("BEGIN", timeout=self._statement_timeout)
                ok, failed = await self._publish_claimed(conn)
            except BaseException as error:
                await _end_failed_pass(conn, error)
                raise
        self.stats.published += len(ok)
        self.stats.failed += len(failed)
        metrics.outbox_published.add(len(ok), {"service": self._schema})
        if self._no_stream:
            await self._restore_stream()
        return len(ok)

    async def _restore_stream(self) -> None:
        if self._ensure_stream is None:
            return
        try:
            await asyncio.wait_for(self._ensure_stream(), timeout=self._timeout)
        except Exception as exc:  # NATS unreachable too: the next pass that finds no stream tries again
            log.warning("outbox: could not ensure the stream: %r", exc)
            return
        log.warning("outbox: the stream was missing and is ensured again; publishing what waits")
        self._no_stream = False
        self._wake.set()  # the failed rows go at once, not after a poll

    async def _publish_claimed(self, conn: Any) -> tuple[list[int], list[int]]:
        """Inside the pass's transaction: claim, publish, and end it (module doc). Returns the published and
        the failed rows' seqs."""
        bound = self._statement_timeout
        rows = await conn.fetch(_CLAIM, self._batch, timeout=bound)
        if not rows:
            await conn.execute("COMMIT", timeout=bound)
            return [], []
        futures: list[tuple[Any, asyncio.Future[Any]]] = []
        for seq, event_id, subject, payload, stored_headers in rows:
            futures.append((seq, await publish_row(self._js, event_id, subject, payload, stored_headers)))
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
                self._no_stream |= fut in done and isinstance(fut.exception(), NoStreamResponseError)
        for fut in pending:
            fut.cancel()
        if self._after_publish is not None:
            published = set(ok)
            await self._after_publish([r["id"] for r in rows if r["seq"] in published])
        if failed:
            await conn.execute(_FAIL, failed, error[:500], timeout=bound)
            log.warning("outbox: %d events not acknowledged by JetStream: %s", len(failed), error)
        # seqs are integers read from the table: safe in the statement's text, which COMMIT joins.
        mark = _MARK_AND_COMMIT % ",".join(str(int(seq)) for seq in ok) if ok else "COMMIT"
        await conn.execute(mark, timeout=bound)
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
