"""`ts()` builds a Timestamp without the pure-Python `FromDatetime` (a third of mapping an order to its reply and
events) and gives what it gave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool_runtime.protobuf import ts


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 5, 20, 58, 6, 123456, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # before the epoch: seconds floored
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 3, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 3, 1, 8, 0, 0, 5),  # naive: read as UTC, as FromDatetime does
    ],
)
def test_ts_matches_from_datetime(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    assert ts(value) == expected
