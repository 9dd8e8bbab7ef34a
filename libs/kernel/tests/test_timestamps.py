"""Pure datetime conversions round-trip exactly and always give aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onepool_kernel.timestamps import as_utc, from_epoch_seconds, from_iso, to_epoch_seconds, to_iso

instants = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(instants)
def test_iso_round_trips_exactly(t: datetime) -> None:
    assert from_iso(to_iso(t)) == t
    assert from_iso(to_iso(t)).tzinfo is UTC


@given(instants.map(lambda t: t.replace(microsecond=0)))
def test_epoch_round_trips_whole_seconds(t: datetime) -> None:
    assert from_epoch_seconds(to_epoch_seconds(t)) == t


@given(instants, offsets)
def test_the_same_instant_in_another_zone_converts_to_the_same_utc(t: datetime, zone: timezone) -> None:
    assert as_utc(t.astimezone(zone)) == t
    assert as_utc(t.astimezone(zone)).utcoffset() == timedelta(0)


def test_naive_is_taken_as_utc() -> None:
    assert as_utc(datetime(2026, 1, 1, 8)) == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert from_iso("2026-01-01T08:00:00") == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert to_epoch_seconds(datetime(1970, 1, 2)) == 86400


def test_text_that_is_no_instant_is_a_value_error() -> None:
    for text in ("", "yesterday", "2026-13-01T00:00:00", "0001-01-01T00:00:00+01:00"):
        with pytest.raises(ValueError):
            from_iso(text)
