"""Durable pull consumers with an inbox: each event's effect is applied exactly once.

Each fetch (up to `batch` messages, in stream order) is applied in ONE transaction: decode every message,
record all their event ids in the inbox with one statement (`inbox.claim`; ids seen before are duplicates and
are acked without effect), run the handlers in stream order on one unit of work, commit, then ack every
message. One BEGIN/COMMIT (and one WAL flush), one inbox statement and one session per batch instead of per
event: under load a consumer spends most of its CPU on that per-transaction work, not in its handlers.
A fetch takes what is waiting, up to `batch`; after a fetch that found fewer, the consumer waits until
`linger` seconds have passed since it began before fetching again, so that under a steady flow events are
applied a batch at a time (the first event after a quiet spell is applied at once; later ones wait at most
`linger`). Handlers see one another's writes, in order, so an event's effect on a key is applied after those
of the events before it, as one by one. A subscription may also give `many`, which applies a run of its
events that came one after another at once (to recompute a read model once for all of them, or to look up
what they need in one statement); a `many` handler takes its locks in its service's lock order, not in the
order the events came.
`apply_batches=False` (or a fetch of one message) applies each message in its own transaction, the same way.

When a batch fails, nothing of it was applied or acked (the transaction rolled back):
- for the infrastructure's reasons (below), the whole batch is put back with the infrastructure back-off,
  counting towards nothing;
- for any other reason (one poison event), the batch is applied again one message per transaction, so the
  good events apply and the bad one is counted and, in time, dead-lettered, exactly as below.

While handlers run, the consumer tells JetStream it is still working (`in_progress()` for every message of
the batch every third of ack_wait), so a slow batch is not redelivered to another replica meanwhile.

Failures are told apart by `onepool_runtime.infra.is_infrastructure`, the runtime's one classifier:

- Infrastructure (database, NATS or a peer unreachable, connection lost, serialization failure or
  deadlock, statement timeout, pool exhausted): the message is kept and nak'ed with exponential back-off
  with jitter (capped, `infra_backoff`) for as long as the outage lasts. Such a delivery never counts
  towards dead-lettering, so a database restart of any length dead-letters nothing. The rest of the
  fetched batch is nak'ed with the same delay without being tried: it would fail the same way, and
  hammering a database that is starting up only slows its recovery.
- Anything else a handler raises (a domain rule, a bug) is nak'ed with `backoff(n)` and dead-lettered once
  it has failed that way `max_deliver` times. `PermanentError`, an undecodable payload or an event without
  an id go to the dead-letter subject at once: no retry can change them; so does a message whose
  `Onepool-Event-Type` header names another message than the subscription's (see `wrong_event_type`).

Counting only the non-infrastructure failures: JetStream's `num_delivered` counts every delivery, outages
included, so it cannot be the threshold. The count of failures that were not the infrastructure's is kept
in this process, per stream sequence (bounded; forgotten on ack or dead-letter). No table or header is
needed: a message is never dead-lettered because of an infrastructure failure, whatever the count says.
What this gives up, on purpose: a process restart forgets the count, so a poison message gets
`max_deliver` more attempts per restart (each rolled back, so harmless), and each replica of a service
counts on its own (at most replicas x max_deliver attempts).

Dead letters go to `dlq.<service>.<consumer>` (stream DLQ) with the original payload and headers (minus
Nats-Msg-Id) plus: Onepool-Original-Subject, -Original-Msg-Id, -Consumer, -Stream, -Stream-Seq,
-Deliveries (JetStream's count), -Failures (failures that counted), -Error, -Dead-Lettered-At and
Onepool-Event-Type (the protobuf message type), which is what `onepool dlq show|replay` needs. A
subscription's `on_dead_letter` hook, if it has one, runs first for an event its handler failed on, in a
transaction of its own (Subscription).
Original-Msg-Id is the event id the inbox used. A replay republishes to the original subject under a new
Nats-Msg-Id with `Onepool-Event-Id` = that id, which the consumer prefers, and `Onepool-Replay-For` = the
durable name of the consumer that dead-lettered it. Every consumer of the subject receives the replay, but
only the one named applies it (through its inbox, so a replay of an event it already applied changes
nothing); every other acks it without effect and without dead-lettering it, since it settled the event in
its own way the first time (applied it, or dead-lettered it into a letter of its own).

Failure modes: NATS down while acking or nak'ing: the message is redelivered after ack_wait and the inbox
drops a second application. A crash between commit and ack: the same. The durable consumer deleted on the
server (an operator resetting it, a JetStream node back without its state; its stream deleted with it):
every fetch fails, so after a failed fetch, and every 5 s with the lag, the consumer asks the server for it;
once told it is not there, it ensures the stream (`ensure_stream`, which the service host gives) and the
consumer again, with the same configuration (durable name, filter subjects, ack policy, deliver policy), and
binds to it. A re-created consumer delivers the stream from where its deliver policy says (the beginning,
for all but `deliver_new_only`): what was applied before is dropped by the inbox, which keeps event ids
longer than the stream keeps events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NoStreamResponseError, NotFoundError
from onepool_contracts.events import subject_of
from opentelemetry import propagate, trace

from onepool_runtime import faults, inbox, infra, metrics
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER
from onepool_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer("onepool.consumer")

M = TypeVar("M", bound=Message)
U = TypeVar("U", bound=UnitOfWork)

DLQ_STREAM = "DLQ"
DLQ_SUBJECTS = ["dlq.>"]
# Dead-letter headers (read by `onepool dlq`).
ORIGINAL_SUBJECT_HEADER = "Onepool-Original-Subject"
ORIGINAL_MSG_ID_HEADER = "Onepool-Original-Msg-Id"
CONSUMER_HEADER = "Onepool-Consumer"
ERROR_HEADER = "Onepool-Error"
# The event's id when it is not the Nats-Msg-Id: set on a replayed dead letter, which is published under a
# new Nats-Msg-Id (JetStream's duplicate window would drop the original one) but is still the same event for
# every consumer's inbox, including the consumers that applied it the first time.
EVENT_ID_HEADER = "Onepool-Event-Id"
# On a replayed dead letter: the durable name of the one consumer it is for (module doc).
REPLAY_FOR_HEADER = "Onepool-Replay-For"
# How many failing messages' counts one consumer remembers (see module doc); the oldest are forgotten.
_MAX_TRACKED = 10_000


class PermanentError(Exception):
    """Raised by a handler for an event that can never be processed: dead-lettered without retries."""


class NotYet(Exception):
    """Raised by a handler for an event that arrived before what it follows was recorded, which the sender's
    own recovery completes or gives up within a bounded time (an order still PENDING): the event is tried again
    later, on the infrastructure's back-off, and never counted toward dead-lettering. Only this event waits:
    the consumer goes on with the others."""


@dataclass(frozen=True)
class Subscription(Generic[M, U]):
    subject: str
    message_type: type[M]
    handler: Callable[[M, U], Awaitable[None]]
    # Optional: applies several events of this subscription (or of subscriptions given the same `many`)
    # that came one after another in a batch, with the same effect as `handler` on each in turn (a read
    # model recomputed once for them all, say).
    many: Callable[[list[M], U], Awaitable[None]] | None = None
    # Optional: called with an event its handler failed on, just before it is dead-lettered, in a unit of work
    # of its own (committed on return), to keep what the service must not lose with it (a fact a later check
    # compares against, say). It may run more than once for one event: make it idempotent. The
    # infrastructure failing in it puts the event back (tried again later, not dead-lettered yet); any other
    # failure of it is logged and the event is dead-lettered all the same.
    on_dead_letter: Callable[[M, U], Awaitable[None]] | None = None

    @classmethod
    def of(
        cls,
        message_type: type[M],
        handler: Callable[[M, U], Awaitable[None]],
        many: Callable[[list[M], U], Awaitable[None]] | None = None,
        on_dead_letter: Callable[[M, U], Awaitable[None]] | None = None,
    ) -> Subscription[M, U]:
        """Subscribe to an event by its message type, on the subject the event registry binds it to."""
        return cls(subject_of(message_type), message_type, handler, many, on_dead_letter)


def wrong_event_type(sub: Subscription[Any, Any], headers: dict[str, str]) -> str | None:
    """Why the message must not be decoded as the subscription's type, or None.

    The outbox names every payload's type in a header. Two events may share a wire layout (OrderPaid and
    OrderCompleted do), so decoding by subject alone would read one as the other without an error. A message
    without the header (published by hand, or by another language's producer) is decoded as the subscription
    expects.
    """
    sent = headers.get(EVENT_TYPE_HEADER)
    expected = sub.message_type.DESCRIPTOR.full_name
    if sent and sent != expected:
        return f"event type {sent} on a subscription to {expected}"
    return None


@dataclass(frozen=True)
class _Ready:
    """A decoded message about to be applied."""

    msg: Msg
    sub: Subscription[Any, Any]
    event: Message
    event_id: str

    @property
    def event_type(self) -> str:
        return str(self.sub.message_type.DESCRIPTOR.full_name)


def _runs(items: list[_Ready]) -> list[list[_Ready]]:
    """Consecutive items of the same subscription, or of subscriptions sharing one `many`, in order."""
    runs: list[list[_Ready]] = []
    for item in items:
        if runs and (runs[-1][0].sub.many or runs[-1][0].sub) is (item.sub.many or item.sub):
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _subject_matches(pattern: str, subject: str) -> bool:
    p, s = pattern.split("."), subject.split(".")
    for i, token in enumerate(p):
        if token == ">":
            return len(s) > i
        if i >= len(s) or (token != "*" and token != s[i]):
            return False
    return len(p) == len(s)


class EventConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        uow_factory: Callable[[], UnitOfWork],
        *,
        service: str,
        name: str,
        stream: str,
        subscriptions: list[Subscription[Any, Any]],
        max_deliver: int = 5,
        ack_wait: float = 30.0,
        backoff: Callable[[int], float] | None = None,
        infra_backoff: Callable[[int], float] | None = None,
        batch: int = 50,
        apply_batches: bool = True,
        linger: float = 0.0,
        deliver_new_only: bool = False,
        ensure_stream: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._js = js
        self._uow_factory = uow_factory
        self.service = service
        self.durable = f"{service}-{name}"
        self.stream = stream
        self._subs = subscriptions
        self.max_deliver = max_deliver
        self._ack_wait = ack_wait
        self._backoff = backoff or (lambda n: min(0.2 * (2 ** (n - 1)), 30.0))
        self._infra_backoff = infra_backoff or (lambda n: infra.backoff(n, base=0.2, cap=10.0))
        # stream sequence -> failures that count towards dead-lettering (not the infrastructure's).
        self._failures: OrderedDict[int, int] = OrderedDict()
        self.infra_failures = 0
        self._batch = batch
        self._apply_batches = apply_batches
        self._linger = linger
        self._deliver_new = deliver_new_only
        # Creates the stream (and the DLQ stream) when it is not there (module doc: failure modes).
        self._ensure_stream = ensure_stream
        self.rebinds = 0
        self.dlq_subject = f"dlq.{service}.{name}"
        self.processed = 0
        self.duplicates = 0
        self.others_replays = 0
        self.lag = 0

    @property
    def subscriptions(self) -> list[Subscription[Any, Any]]:
        """What this consumer reads (the event catalogue and the contract tests list them)."""
        return list(self._subs)

    async def ensure(self) -> None:
        """Create or update the durable consumer (idempotent, safe on every start)."""
        config = ConsumerConfig(
            durable_name=self.durable,
            name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            # Unlimited on the server: the consumer counts deliveries itself and dead-letters, so a message
            # whose last delivery was lost in a crash is still retried rather than silently dropped.
            max_deliver=-1,
            deliver_policy=DeliverPolicy.NEW if self._deliver_new else DeliverPolicy.ALL,
            filter_subjects=[s.subject for s in self._subs],
            max_ack_pending=1000,
        )
        try:
            await self._js.add_consumer(self.stream, config=config)
        except Exception as exc:  # an existing consumer whose immutable fields differ: keep it, say so
            log.warning("consumer %s exists with a different config; keeping it: %s", self.durable, exc)

    async def run(self) -> None:
        await self.ensure()
        sub = await self._js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        loop = asyncio.get_running_loop()
        this = asyncio.current_task()
        measured = 0.0
        try:
            while True:
                if this is not None and this.cancelling():
                    # A cancellation nats-py lost: its fetch waits in a task of its own, through `wait_for`,
                    # which on Python 3.11 returns a message arriving with the cancellation instead of raising
                    # it. The consumer went on, and a stopping service waited out its 10 s for it.
                    raise asyncio.CancelledError
                if loop.time() - measured > 5.0:
                    measured = loop.time()
                    if not await self._measure_lag(sub):
                        sub = await self._rebind(sub)
                try:
                    msgs = await sub.fetch(self._batch, timeout=1.0)
                except TimeoutError:
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("fetch failed on %s; retrying", self.durable)
                    if await self._gone(sub):
                        sub = await self._rebind(sub)
                    await asyncio.sleep(1.0)
                    continue
                started = loop.time()
                await self._process_batch(msgs)
                if 0 < len(msgs) < self._batch and self._linger > 0:
                    # Busy but not backlogged: let the next batch gather for up to `linger` (counting the time
                    # this one took) rather than paying a transaction for every event as it comes.
                    await asyncio.sleep(max(0.0, self._linger - (loop.time() - started)))
        finally:
            # Messages the server already pushed to this subscription are redelivered after ack_wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.unsubscribe(), timeout=2.0)

    async def _measure_lag(self, sub: Any) -> bool:
        """Record the consumer's lag. False when the server says the consumer (or its stream) is not there."""
        try:
            info = await sub.consumer_info()
        except NotFoundError:
            return False
        except Exception:  # NATS unreachable: nothing to measure, nothing known to be gone
            return True
        self.lag = int(info.num_pending or 0)
        metrics.set_consumer_lag(self.durable, self.lag)
        return True

    async def _gone(self, sub: Any) -> bool:
        try:
            await sub.consumer_info()
        except NotFoundError:
            return True
        except Exception:
            return False
        return False

    async def _rebind(self, sub: Any) -> Any:
        """Create the stream and the durable consumer again and bind to it (module doc); the old
        subscription if that failed (the next failed fetch or lag check tries again)."""
        log.warning("%s: the durable consumer is gone from %s; creating it again", self.durable, self.stream)
        try:
            await self._ensure_streams()
            await self.ensure()
            await self._js.consumer_info(self.stream, self.durable)  # there now (ensure only logs a refusal)
            fresh = await self._js.pull_subscribe_bind(durable=self.durable, stream=self.stream)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("%s: could not create the consumer again (%r); will try again", self.durable, exc)
            return sub
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sub.unsubscribe(), timeout=2.0)
        self.rebinds += 1
        return fresh

    async def _ensure_streams(self) -> None:
        if self._ensure_stream is not None:
            await asyncio.wait_for(self._ensure_stream(), timeout=10.0)

    def _route(self, subject: str) -> Subscription[Any, Any] | None:
        for s in self._subs:
            if _subject_matches(s.subject, subject):
                return s
        return None

    async def _process_batch(self, msgs: list[Msg]) -> None:
        ready: list[_Ready] = []
        for i, msg in enumerate(msgs):
            try:
                admitted = await self._admit(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS gone while settling a message that is not to be applied
                log.warning("%s: could not settle a message: %r", self.durable, exc)
                if infra.is_infrastructure(exc):
                    await self._put_back([*(r.msg for r in ready), *msgs[i:]], self._infra_backoff(1))
                    return
                continue
            if admitted is not None:
                ready.append(admitted)
        if self._apply_batches and len(ready) > 1:
            done, delay = await self._apply_batch(ready)
            if delay is not None:
                await self._put_back([r.msg for r in ready], delay)
            if done or delay is not None:
                return
            # A handler failed for its own reasons, so nothing was applied: find which event it was.
        await self._one_by_one(ready)

    async def _one_by_one(self, ready: list[_Ready]) -> None:
        for i, item in enumerate(ready):
            try:
                delay = await self._apply_one(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS gone while acking: redelivered after ack_wait, the inbox dedupes
                log.warning("%s: could not settle a message: %r", self.durable, exc)
                delay = self._infra_backoff(item.msg.metadata.num_delivered) if infra.is_infrastructure(exc) else None
            if delay is not None:
                # The infrastructure is down: the rest of the batch would fail the same way; put it back.
                await self._put_back([r.msg for r in ready[i + 1 :]], delay)
                return

    async def _put_back(self, msgs: list[Msg], delay: float) -> None:
        """Nak untried or rolled-back messages with the infrastructure's back-off, then wait a little."""
        for msg in msgs:
            if not msg.is_acked:
                with contextlib.suppress(Exception):
                    await msg.nak(delay=delay)
        await asyncio.sleep(min(delay, 1.0))

    async def process(self, msg: Msg) -> float | None:
        """Handle one message. Returns the back-off applied when the infrastructure failed, else None."""
        ready = await self._admit(msg)
        if ready is None:
            return None
        return await self._apply_one(ready)

    async def _admit(self, msg: Msg) -> _Ready | None:
        """Decode a message for its subscription; settle it at once (ack or dead-letter) if it is not to be
        applied, and return None then."""
        headers = msg.headers or {}
        if msg.metadata.num_delivered > 1:
            metrics.consumer_redeliveries.add(1, {"consumer": self.durable})
        replay_for = headers.get(REPLAY_FOR_HEADER)
        if replay_for and replay_for != self.durable:
            # Before decoding: another consumer's poison letter must not become a letter of ours too.
            await msg.ack()
            self.others_replays += 1
            metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "replay_for_another"})
            return None
        sub = self._route(msg.subject)
        if sub is None:
            await msg.ack()  # not ours (filter subjects changed); nothing to do
            return None
        event_type = sub.message_type.DESCRIPTOR.full_name
        mismatch = wrong_event_type(sub, headers)
        if mismatch is not None:
            await self._dead_letter(msg, mismatch, event_type)
            return None
        try:
            event = sub.message_type.FromString(msg.data)
        except DecodeError as exc:
            await self._dead_letter(msg, f"undecodable payload: {exc}", event_type)
            return None
        event_id = (
            headers.get(EVENT_ID_HEADER)
            or headers.get(MSG_ID_HEADER)
            or getattr(getattr(event, "meta", None), "event_id", "")
        )
        if not event_id:
            # Without an id the inbox cannot tell this event from any other id-less one.
            await self._dead_letter(msg, "no event id (Nats-Msg-Id header or meta.event_id)", event_type)
            return None
        return _Ready(msg, sub, event, event_id)

    def _span(self, item: _Ready) -> Any:
        """The consumer span of one event, a child of the trace that published it (one trace per order)."""
        parent = propagate.extract(item.msg.headers or {})
        span = tracer.start_as_current_span(f"consume {item.msg.subject}", context=parent, kind=trace.SpanKind.CONSUMER)
        return span

    def _annotate(self, span: Any, item: _Ready) -> None:
        if span.is_recording():
            span.set_attribute("messaging.system", "nats")
            span.set_attribute("messaging.consumer.group.name", self.durable)
            span.set_attribute("messaging.message.id", item.event_id)

    async def _apply_one(self, item: _Ready) -> float | None:
        """Apply one event in its own transaction. Returns the back-off when the infrastructure failed."""
        msg = item.msg
        with self._span(item) as span:
            self._annotate(span, item)
            heartbeat = asyncio.create_task(self._keep_alive([msg]))
            try:
                applied = await self._apply(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                span.record_exception(exc)
                return await self._failed(item, exc)
            finally:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
        self._failures.pop(msg.metadata.sequence.stream, None)
        await msg.ack()
        self._count(1 if applied else 0, 0 if applied else 1)
        return None

    def _count(self, applied: int, duplicates: int) -> None:
        self.processed += applied
        self.duplicates += duplicates
        if applied:
            metrics.consumer_processed.add(applied, {"consumer": self.durable, "outcome": "applied"})
        if duplicates:
            metrics.consumer_processed.add(duplicates, {"consumer": self.durable, "outcome": "duplicate"})

    async def _apply_batch(self, ready: list[_Ready]) -> tuple[bool, float | None]:
        """Apply a batch in one transaction and ack it after the commit: returns (True, None).

        When the infrastructure failed, returns (False, back-off): nothing was applied, and the caller puts
        the batch back, counting nothing towards dead-lettering. When a handler failed for its own reasons,
        returns (False, None): nothing was applied or acked either, and the caller applies the batch one by
        one, so that the good events apply and the bad one takes the single-event way to the dead-letter
        subject."""
        first: dict[str, _Ready] = {}
        for item in ready:
            first.setdefault(item.event_id, item)
        heartbeat = asyncio.create_task(self._keep_alive([r.msg for r in ready]))
        try:
            async with self._uow_factory() as uow:
                claimed = await inbox.claim(
                    await uow.driver(), self.durable, ((i, r.msg.subject) for i, r in first.items())
                )
                todo = [r for i, r in first.items() if i in claimed]
                for run in _runs(todo):
                    await self._handle_run(run, uow)
                uow.session.info[faults.EVENTS_IN_COMMIT] = len(todo)
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not infra.is_infrastructure(exc):
                log.info("%s: a batch of %d failed (%r); applying it one by one", self.durable, len(ready), exc)
                return False, None
            self.infra_failures += 1
            delay = self._infra_backoff(max(r.msg.metadata.num_delivered for r in ready))
            metrics.consumer_processed.add(len(ready), {"consumer": self.durable, "outcome": "unavailable"})
            log.warning(
                "%s: a batch of %d waits for the infrastructure (retry in %.1fs): %r",
                self.durable,
                len(ready),
                delay,
                exc,
            )
            return False, delay
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
        self._count(len(todo), len(ready) - len(todo))
        for item in ready:
            self._failures.pop(item.msg.metadata.sequence.stream, None)
            try:
                await item.msg.ack()
            except Exception as exc:  # NATS gone: redelivered after ack_wait, and the inbox drops it then
                log.warning("%s: could not ack %s: %r", self.durable, item.event_id, exc)
        return True, None

    async def _handle_run(self, run: list[_Ready], uow: UnitOfWork) -> None:
        """Events of one subscription that came one after another: together when it has `many`."""
        many = run[0].sub.many
        if many is None or len(run) == 1:
            for item in run:
                with self._span(item) as span:
                    self._annotate(span, item)
                    try:
                        await item.sub.handler(item.event, uow)
                    except Exception as exc:
                        span.record_exception(exc)
                        raise
            return
        with self._span(run[0]) as span:  # in the first event's trace
            self._annotate(span, run[0])
            if span.is_recording():
                span.set_attribute("messaging.batch.message_count", len(run))
            try:
                await many([r.event for r in run], uow)
            except Exception as exc:
                span.record_exception(exc)
                raise

    async def _failed(self, item: _Ready, exc: Exception) -> float | None:
        msg, event_id = item.msg, item.event_id
        delivered = msg.metadata.num_delivered
        seq = msg.metadata.sequence.stream
        # Checked first: a handler that wrapped an outage in a PermanentError must not lose the event.
        if infra.is_infrastructure(exc):
            self.infra_failures += 1
            delay = self._infra_backoff(delivered)
            metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "unavailable"})
            log.warning(
                "%s: %s waits for the infrastructure (delivery %d, retry in %.1fs): %r",
                self.durable,
                event_id,
                delivered,
                delay,
                exc,
            )
            await msg.nak(delay=delay)
            return delay
        if isinstance(exc, NotYet):
            delay = self._infra_backoff(delivered)
            metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "not_yet"})
            log.info("%s: %s waits (delivery %d, retry in %.1fs): %s", self.durable, event_id, delivered, delay, exc)
            await msg.nak(delay=delay)
            return None
        if isinstance(exc, PermanentError):
            self._failures.pop(seq, None)
            return await self._give_up(item, f"permanent: {exc}", 1)
        metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "error"})
        failures = self._failures.pop(seq, 0) + 1
        if failures >= self.max_deliver:
            log.error("%s: giving up on %s after %d failures: %r", self.durable, event_id, failures, exc)
            return await self._give_up(item, repr(exc), failures)
        self._failures[seq] = failures
        while len(self._failures) > _MAX_TRACKED:
            self._failures.popitem(last=False)
        log.warning("%s: %s failed (%d of %d), retrying: %r", self.durable, event_id, failures, self.max_deliver, exc)
        await msg.nak(delay=self._backoff(failures))
        return None

    async def _give_up(self, item: _Ready, reason: str, failures: int) -> float | None:
        """Dead-letter an event its handler failed on, after its subscription's on_dead_letter (if any) kept
        what it keeps of it. Returns the back-off when the infrastructure failed in that hook: the event is
        put back, remembered as failed `failures` times (so it is not retried past max_deliver again)."""
        hook = item.sub.on_dead_letter
        if hook is not None:
            try:
                async with self._uow_factory() as uow:
                    await hook(item.event, uow)
                    await uow.commit()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if infra.is_infrastructure(exc):
                    self.infra_failures += 1
                    delay = self._infra_backoff(item.msg.metadata.num_delivered)
                    if failures > 1:
                        self._failures[item.msg.metadata.sequence.stream] = failures - 1
                    log.warning("%s: %s waits to be dead-lettered (%r)", self.durable, item.event_id, exc)
                    await item.msg.nak(delay=delay)
                    return delay
                log.exception(
                    "%s: on_dead_letter failed for %s; dead-lettering it all the same", self.durable, item.event_id
                )
        await self._dead_letter(item.msg, reason, item.event_type, failures, item.event_id)
        return None

    async def _keep_alive(self, msgs: list[Msg]) -> None:
        """Extend ack_wait while handlers run (a slow database must not cause a redelivery meanwhile)."""
        interval = max(self._ack_wait / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            for msg in msgs:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _apply(self, item: _Ready) -> bool:
        async with self._uow_factory() as uow:
            if not await inbox.claim(await uow.driver(), self.durable, [(item.event_id, item.msg.subject)]):
                return False
            await item.sub.handler(item.event, uow)
            await uow.commit()
            return True

    async def _dead_letter(self, msg: Msg, reason: str, event_type: str, failures: int = 1, event_id: str = "") -> None:
        original = msg.headers or {}
        headers = {k: v for k, v in original.items() if k not in (MSG_ID_HEADER, EVENT_ID_HEADER, REPLAY_FOR_HEADER)}
        headers.setdefault(EVENT_TYPE_HEADER, event_type)
        headers.update(
            {
                ORIGINAL_SUBJECT_HEADER: msg.subject,
                ORIGINAL_MSG_ID_HEADER: event_id or original.get(EVENT_ID_HEADER) or original.get(MSG_ID_HEADER, ""),
                CONSUMER_HEADER: self.durable,
                "Onepool-Stream": msg.metadata.stream,
                "Onepool-Stream-Seq": str(msg.metadata.sequence.stream),
                "Onepool-Deliveries": str(msg.metadata.num_delivered),
                "Onepool-Failures": str(failures),
                ERROR_HEADER: reason[:500],
                "Onepool-Dead-Lettered-At": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        try:
            await self._js.publish(self.dlq_subject, msg.data, headers=headers)
        except NoStreamResponseError:
            # The DLQ stream is not there (module doc): ensured again, once; otherwise the message stays
            # unsettled and comes back after ack_wait.
            await self._ensure_streams()
            await self._js.publish(self.dlq_subject, msg.data, headers=headers)
        await msg.term()
        metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "dead_lettered"})
        metrics.dead_letters.add(1, {"consumer": self.durable})
