"""Test-only fault injection (`ServiceSettings.fault_*`, all 0 = off): the process exits like a SIGKILL at the
moments a crash hurts most, so tests/faults can prove that nothing is lost and nothing happens twice.

- `fault_relay_exit_after=N`: the service's outbox relay exits the process once it has published N events,
  after their PubAcks and before it marks them (`relay_hook`, installed by the server host). After the
  restart the rows are published again; JetStream's duplicate window drops
  the copies and the consumers' inboxes drop anything older.
- `fault_consumer_exit_after=N`: consumers whose unit of work is built on `consumer_sessions` exit the
  process right after the commit that brings the events they applied to N, before the ack (a batched commit
  counts its events, so the fault fires after about as many events whatever the batches). JetStream
  delivers the messages again after `ack_wait`; the inbox rows committed with the effects make that
  delivery a no-op.

A service opts in to the consumer fault by building its consumers' unit of work on `consumer_sessions`; with
the settings at 0 it returns what the service would use anyway.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from onepool_runtime.server import Infra

log = logging.getLogger(__name__)

FAULT_EXIT_CODE = 86
# Set by a consumer in its session's info before committing a batch: how many events the commit applies.
EVENTS_IN_COMMIT = "onepool_events_in_commit"


def _die(what: str) -> None:
    sys.stderr.write(f"FAULT INJECTION: exiting {what}\n")
    sys.stderr.flush()
    os._exit(FAULT_EXIT_CODE)


def relay_hook(settings: Any) -> Callable[[list[str]], Awaitable[None]] | None:
    """None unless `fault_relay_exit_after` is set; then the service relay's `after_publish` hook, which exits
    the process once N events were published (PubAck'ed) and before they are marked.

    It goes on the service's own relay: that relay is woken in-process on every commit, so a second relay
    beside it would rarely get a row and the fault would never fire."""
    limit = settings.fault_relay_exit_after
    if limit <= 0:
        return None
    log.warning("fault injection is ON: exiting after %d events published and not yet marked", limit)
    published = 0

    async def after_publish(ids: list[str]) -> None:
        nonlocal published
        published += len(ids)
        if published >= limit:
            _die(f"after publishing {published} outbox events and before marking them")

    return after_publish


def consumer_sessions(infra: Infra) -> async_sessionmaker[AsyncSession]:
    """`infra.sessions` unless `fault_consumer_exit_after` is set; then sessions that exit once N events
    were committed."""
    limit = infra.settings.fault_consumer_exit_after
    if limit <= 0:
        return infra.sessions
    log.warning("fault injection is ON: a consumer exits after committing %d events, before the ack", limit)
    commits = 0

    class _FaultSession(Session):
        pass

    def after_commit(session: Any) -> None:
        nonlocal commits
        commits += session.info.pop(EVENTS_IN_COMMIT, 1)
        if commits >= limit:
            _die(f"after consumer commits of {commits} events and before their ack")

    event.listen(_FaultSession, "after_commit", after_commit)
    return async_sessionmaker(
        infra.engine, class_=AsyncSession, sync_session_class=_FaultSession, expire_on_commit=False, autoflush=False
    )
