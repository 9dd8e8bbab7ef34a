"""Small conversions every service's mappers need between Python values and protobuf well-known types.

The pure datetime conversions (epoch, ISO 8601) are in `onepool_kernel.time`; these are the ones that need
protobuf, so they stay out of the kernel. `from_ts` raises ValueError/OverflowError for a Timestamp outside
datetime's range (a caller's bad input: request mappers turn it into a field violation).
"""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def ts(value: datetime | None) -> Timestamp | None:
    """datetime -> Timestamp; None stays unset (proto3 message fields accept None in constructors)."""
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out


def from_ts(value: Timestamp) -> datetime:
    """Timestamp -> aware UTC datetime (the only kind the domains keep)."""
    return value.ToDatetime(tzinfo=UTC)
