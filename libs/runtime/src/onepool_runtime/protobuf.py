"""Small conversions every service's mappers need between Python values and protobuf well-known types."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp


def ts(value: datetime | None) -> Timestamp | None:
    """datetime -> Timestamp; None stays unset (proto3 message fields accept None in constructors)."""
    if value is None:
        return None
    out = Timestamp()
    out.FromDatetime(value)
    return out
