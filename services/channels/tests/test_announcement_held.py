"""When a start-up may skip announcing (service_layer/announcement.py `still_held`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from onepool_channels.adapters.repository import StartupRun
from onepool_channels.service_layer.announcement import ANNOUNCE, CONTRACT, StreamPosition, still_held

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
CREATED = datetime(2026, 12, 1, tzinfo=UTC)
STREAM = StreamPosition(CREATED, first_seq=1, last_seq=900)
INTERVAL = timedelta(minutes=15)


def run(**changes: object) -> StartupRun:
    fields: dict[str, object] = dict(
        name=ANNOUNCE,
        started_at=NOW - timedelta(minutes=2),
        finished_at=NOW - timedelta(minutes=1),
        stream_created=CREATED,
        stream_seq=600,
        contract=CONTRACT,
    )
    return StartupRun(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_recent_announcement_of_this_release_still_in_the_stream_is_held() -> None:
    assert still_held(run(), STREAM, NOW, INTERVAL)


def test_a_release_with_other_messages_announces_again_to_fill_what_it_adds() -> None:
    assert not still_held(run(contract="a-release-before"), STREAM, NOW, INTERVAL)
    assert not still_held(run(contract=""), STREAM, NOW, INTERVAL)  # recorded before the fingerprint


def test_an_old_unfinished_or_dropped_announcement_is_not_held() -> None:
    assert not still_held(None, STREAM, NOW, INTERVAL)
    assert not still_held(run(finished_at=None), STREAM, NOW, INTERVAL)
    assert not still_held(run(finished_at=NOW - INTERVAL), STREAM, NOW, INTERVAL)
    assert not still_held(run(), StreamPosition(CREATED, first_seq=700, last_seq=900), NOW, INTERVAL)
    assert not still_held(run(), StreamPosition(NOW, first_seq=1, last_seq=5), NOW, INTERVAL)  # stream re-created
