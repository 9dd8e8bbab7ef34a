"""Checks every decoded request against rules that hold for every RPC, before any handler sees it.

The call pipeline (`grpc_errors.decoder`) calls `check_request` right after decoding, so no servicer can forget them and
no caller value reaches SQL or datetime arithmetic unchecked. One generic walker follows the message's
descriptor (nested messages, repeated and map fields included) and collects every violation with its
field path (`lines[2].sku`, `labels["k"]`):

- text: no NUL or other control characters (Unicode category Cc; PostgreSQL refuses 0x00 in text, and
  control characters in ids, names or regions are never meant). Free-text fields (`MULTILINE`: reasons,
  addresses, notes, payloads) may contain tab, newline and carriage return. Every string has a length
  bound: `DEFAULT_MAX_CHARS` unless `MAX_CHARS` names its field (looked up by the proto field name).
- `google.protobuf.Timestamp`: between `MIN_TIME` and `MAX_TIME`, nanos in range. The range keeps any
  arithmetic a service does on a request's time (a period of days or years either side) inside what
  Python's datetime and PostgreSQL hold, so it can never overflow.
- repeated and map fields: at most `MAX_REPEATED` entries (handlers have tighter, domain-specific bounds).

Services still validate meaning (ids' alphabet, tighter lengths, required fields); these are the floor.
Failure modes: raises `errors.InvalidArgument` naming every offending field; nothing else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from onepool_runtime.errors import Violations

DEFAULT_MAX_CHARS = 256  # ids, codes, names, regions, currencies, tokens: all far shorter in practice
# Per field name. Fields not named here get the default; keep each bound at or above the servicer's own.
MAX_CHARS: dict[str, int] = {
    "reason": 2048,
    "address": 2048,
    "status_reason": 2048,
    "memo": 2048,
    "detail": 2048,
    "page_token": 1024,
    # ImportOrder's marketplace JSON; channels refuses far less (`import_max_payload_bytes`), this is the
    # outer bound (the server's maximum message size).
    "payload": 8 * 1024 * 1024,
}
# Free text a person writes may span lines; nothing else may.
MULTILINE = frozenset({"reason", "address", "status_reason", "memo", "detail", "payload"})
MAX_REPEATED = 2000

MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)
_MIN_SECONDS = int(MIN_TIME.timestamp())
_MAX_SECONDS = int(MAX_TIME.timestamp())

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TIMESTAMP = "google.protobuf.Timestamp"


def check_request(message: Message) -> None:
    v = Violations()
    _walk(v, message, "")
    v.raise_if_any()


def check_string(v: Violations, path: str, name: str, value: str) -> None:
    limit = MAX_CHARS.get(name, DEFAULT_MAX_CHARS)
    if len(value) > limit:
        v.add(path, f"must be at most {limit} characters")
    pattern = _CONTROL_EXCEPT_LINES if name in MULTILINE else _CONTROL
    found = pattern.search(value)
    if found:
        v.add(path, f"must not contain control characters (U+{ord(found.group()):04X} at {found.start()})")


def check_timestamp(v: Violations, path: str, seconds: int, nanos: int) -> None:
    if not 0 <= nanos < 1_000_000_000:
        v.add(path, "nanos must be between 0 and 999999999")
    elif not _MIN_SECONDS <= seconds < _MAX_SECONDS:
        v.add(path, f"must be between {MIN_TIME:%Y-%m-%d} and {MAX_TIME:%Y-%m-%d}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(v: Violations, message: Message, prefix: str) -> None:
    if message.DESCRIPTOR.full_name == _TIMESTAMP:
        check_timestamp(v, prefix, message.seconds, message.nanos)  # type: ignore[attr-defined]
        return
    for field, value in message.ListFields():
        path = _join(prefix, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _map(v, field, value, path)
        elif field.is_repeated:
            if len(value) > MAX_REPEATED:
                v.add(path, f"must have at most {MAX_REPEATED} entries")
                continue
            for i, item in enumerate(value):
                _value(v, field, item, f"{path}[{i}]")
        else:
            _value(v, field, value, path)


def _map(v: Violations, field: Any, value: dict[Any, Any], path: str) -> None:
    if len(value) > MAX_REPEATED:
        v.add(path, f"must have at most {MAX_REPEATED} entries")
        return
    key_field, value_field = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
    for key, item in value.items():
        entry = f"{path}[{str(key)[:64]!r}]"  # a hostile key must not blow up the path either
        _value(v, key_field, key, f"{entry}.key")
        _value(v, value_field, item, entry)


def _value(v: Violations, field: Any, value: Any, path: str) -> None:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        _walk(v, value, path)
    elif field.type == FieldDescriptor.TYPE_STRING:
        check_string(v, path, field.name, value)
