"""Every stream keeps events 7 days; the dead-letter stream also stops at DLQ_MAX_BYTES, oldest letters first, so a
flood of poison messages cannot fill the JetStream store every stream shares (a full store refuses every publish).
An existing stream is brought to these limits when a service starts (update_stream)."""

from __future__ import annotations

import pytest
from nats.js.api import DiscardPolicy
from onepool_runtime import messaging
from onepool_runtime.consumer import DLQ_STREAM, DLQ_SUBJECTS

pytestmark = pytest.mark.asyncio


async def test_the_dead_letter_stream_is_capped_and_service_streams_are_not(env) -> None:  # type: ignore[no-untyped-def]
    await env.js.update_stream(name=DLQ_STREAM, subjects=DLQ_SUBJECTS, max_bytes=-1)  # as streams were made before
    await messaging.ensure_stream(env.js, DLQ_STREAM, DLQ_SUBJECTS)
    dlq = (await env.js.stream_info(DLQ_STREAM)).config
    assert dlq.max_bytes == messaging.DLQ_MAX_BYTES and dlq.discard == DiscardPolicy.OLD
    assert dlq.max_age == 7 * 24 * 3600

    service = (await env.js.stream_info("TESTSVC")).config
    assert service.max_bytes == -1 and service.max_age == 7 * 24 * 3600
