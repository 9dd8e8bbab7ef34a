"""Durable pull consumers with an inbox: each event's effect is applied exactly once.

For every message: decode it, open a transaction, insert (consumer, event id) into the inbox (a duplicate
finds the row and is acked without effect), run the handler, commit, then ack. A handler that raises is
nak'ed with a growing delay; once a message has been delivered `max_deliver` times it is copied to the
dead-letter subject `dlq.<service>.<consumer>` (stream DLQ) and terminated. Undecodable messages cannot
succeed on retry and go to the dead-letter subject at once, and so do messages whose `Onepool-Event-Type`
header names another message than the subscription's (see `wrong_event_type`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError, Message
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from onepool_contracts.events import subject_of
from opentelemetry import propagate, trace
from sqlalchemy.dialects.postgresql import insert

from onepool_runtime import metrics
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER
from onepool_runtime.tables import inbox
from onepool_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)
tracer = trace.get_tracer("onepool.consumer")

M = TypeVar("M", bound=Message)
U = TypeVar("U", bound=UnitOfWork)

DLQ_STREAM = "DLQ"
DLQ_SUBJECTS = ["dlq.>"]


class PermanentError(Exception):
    """Raised by a handler for an event that can never be processed: dead-lettered without retries."""


@dataclass(frozen=True)
class Subscription(Generic[M, U]):
    subject: str
    message_type: type[M]
    handler: Callable[[M, U], Awaitable[None]]

    @classmethod
    def of(cls, message_type: type[M], handler: Callable[[M, U], Awaitable[None]]) -> Subscription[M, U]:
        """Subscribe to an event by its message type, on the subject the event registry binds it to."""
        return cls(subject_of(message_type), message_type, handler)


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
        batch: int = 50,
        deliver_new_only: bool = False,
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
        self._batch = batch
        self._deliver_new = deliver_new_only
        self.dlq_subject = f"dlq.{service}.{name}"
        self.processed = 0
        self.duplicates = 0
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
        measured = 0.0
        try:
            while True:
                if loop.time() - measured > 5.0:
                    measured = loop.time()
                    await self._measure_lag(sub)
                try:
                    msgs = await sub.fetch(self._batch, timeout=1.0)
                except TimeoutError:
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("fetch failed on %s; retrying", self.durable)
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    await self.process(msg)
        finally:
            # Messages the server already pushed to this subscription are redelivered after ack_wait.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sub.unsubscribe(), timeout=2.0)

    async def _measure_lag(self, sub: Any) -> None:
        with contextlib.suppress(Exception):
            info = await sub.consumer_info()
            self.lag = int(info.num_pending or 0)
            metrics.set_consumer_lag(self.durable, self.lag)

    def _route(self, subject: str) -> Subscription[Any, Any] | None:
        for s in self._subs:
            if _subject_matches(s.subject, subject):
                return s
        return None

    async def process(self, msg: Msg) -> None:
        headers = msg.headers or {}
        delivered = msg.metadata.num_delivered
        if delivered > 1:
            metrics.consumer_redeliveries.add(1, {"consumer": self.durable})
        sub = self._route(msg.subject)
        if sub is None:
            await msg.ack()  # not ours (filter subjects changed); nothing to do
            return
        mismatch = wrong_event_type(sub, headers)
        if mismatch is not None:
            await self._dead_letter(msg, mismatch)
            return
        try:
            event = sub.message_type.FromString(msg.data)
        except DecodeError as exc:
            await self._dead_letter(msg, f"undecodable payload: {exc}")
            return
        event_id = headers.get(MSG_ID_HEADER) or getattr(getattr(event, "meta", None), "event_id", "")
        if not event_id:
            # Without an id the inbox cannot tell this event from any other id-less one.
            await self._dead_letter(msg, "no event id (Nats-Msg-Id header or meta.event_id)")
            return
        parent = propagate.extract(headers)
        with tracer.start_as_current_span(
            f"consume {msg.subject}", context=parent, kind=trace.SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.system", "nats")
            span.set_attribute("messaging.consumer.group.name", self.durable)
            span.set_attribute("messaging.message.id", event_id)
            try:
                applied = await self._apply(sub, event, event_id, msg.subject)
            except asyncio.CancelledError:
                raise
            except PermanentError as exc:
                await self._dead_letter(msg, f"permanent: {exc}")
                return
            except Exception as exc:
                span.record_exception(exc)
                metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "error"})
                if delivered >= self.max_deliver:
                    log.error("%s: giving up on %s after %d deliveries: %r", self.durable, event_id, delivered, exc)
                    await self._dead_letter(msg, repr(exc))
                else:
                    log.warning("%s: %s failed (delivery %d), retrying: %r", self.durable, event_id, delivered, exc)
                    await msg.nak(delay=self._backoff(delivered))
                return
        await msg.ack()
        if applied:
            self.processed += 1
            metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "applied"})
        else:
            self.duplicates += 1
            metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "duplicate"})

    async def _apply(self, sub: Subscription[Any, Any], event: Message, event_id: str, subject: str) -> bool:
        async with self._uow_factory() as uow:
            claimed = await uow.session.execute(
                insert(inbox)
                .values(consumer=self.durable, event_id=event_id, subject=subject)
                .on_conflict_do_nothing()
                .returning(inbox.c.event_id)
            )
            if claimed.first() is None:
                return False
            await sub.handler(event, uow)
            await uow.commit()
            return True

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        headers = {k: v for k, v in (msg.headers or {}).items() if k != MSG_ID_HEADER}
        headers.update(
            {
                "Onepool-Original-Subject": msg.subject,
                "Onepool-Original-Msg-Id": (msg.headers or {}).get(MSG_ID_HEADER, ""),
                "Onepool-Consumer": self.durable,
                "Onepool-Deliveries": str(msg.metadata.num_delivered),
                "Onepool-Error": reason[:500],
            }
        )
        await self._js.publish(self.dlq_subject, msg.data, headers=headers)
        await msg.term()
        metrics.consumer_processed.add(1, {"consumer": self.durable, "outcome": "dead_lettered"})
