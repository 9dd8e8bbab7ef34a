"""Pure datetime conversions: every instant the domain keeps is an aware UTC datetime.

Protobuf Timestamps are converted at the edges (`onepool_runtime.protobuf`), not here: the kernel imports no
protobuf. Failure modes: `from_iso` and `instant_from_iso` raise ValueError for text that is not ISO 8601
or names an instant outside datetime's range once in UTC; `from_epoch_seconds` raises OverflowError/ValueError
outside that range.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken to be UTC; an aware one is converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_epoch_seconds(value: datetime) -> float:
    return as_utc(value).timestamp()


def from_epoch_seconds(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_iso(value: datetime) -> str:
    """ISO 8601 with the UTC offset, microseconds kept: `from_iso(to_iso(t)) == t` for every aware t."""
    return as_utc(value).isoformat()


def from_iso(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except OverflowError as exc:  # "0001-01-01T00:00+01:00" parses but is before year 1 in UTC
        raise ValueError(f"{text!r} is outside the range of datetime") from exc


def instant_from_iso(text: str) -> datetime:
    """An ISO 8601 instant that names its offset (as a page token carries one), in UTC. ValueError for text
    without an offset, and for one outside datetime's range once in UTC ("0001-01-01T00:00+01:00"), which
    would otherwise fail only when a driver converts it."""
    if datetime.fromisoformat(text).tzinfo is None:
        raise ValueError(f"{text!r} names no UTC offset")
    return from_iso(text)


def now() -> datetime:
    """The current instant, in UTC (what the domain stamps its changes with)."""
    return datetime.now(UTC)
