"""Copying the fields two shapes of one thing share by name (a domain object, its row, its message).

`to_message` builds a protobuf message, `build` a dataclass (from a row or a message) and `row_values` the
values of a table's row, each from the attributes of the same names. A mapper then spells out only what
differs between the shapes (a renamed field, an enum, a nested list), and a field added to both shapes is
carried without a line of its own.

Failure modes: `to_message` raises TypeError for a same-named value it will not guess how to send (an enum:
translate it with `onepool_runtime.protobuf.enum_maps` in the keyword arguments; a nested domain object);
`build` raises TypeError when a required field of the dataclass is neither given nor found on the source;
`row_values` raises TypeError for a Money (two columns: write them out).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from onepool_kernel.money import Money
from sqlalchemy import Table

from onepool_runtime.protobuf import money_to_proto, ts

M = TypeVar("M", bound=Message)
T = TypeVar("T")
_ABSENT = object()


def copy_fields(source: object, *names: str) -> dict[str, Any]:
    """The named attributes of `source`, by the same names: for building an object from the fields it shares
    with another, e.g. `Location(**copy_fields(message, "id", "region"), type=..., active=not message.disabled)`.
    The fields that differ (renamed, converted) stay written out beside it, where a reader sees them."""
    return {name: getattr(source, name) for name in names}


@cache
def _message_fields(descriptor: Descriptor) -> tuple[tuple[str, bool], ...]:
    """(name, is a proto enum) of each field."""
    return tuple((f.name, f.type == FieldDescriptor.TYPE_ENUM) for f in descriptor.fields)


@cache
def _dataclass_fields(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


# Values sent as they are. Checked by exact type first: most fields are plain strings and numbers, and the
# isinstance chain below cost settlement's EntryPosted lines a third of their translation.
_PLAIN = frozenset({str, int, bool, float, bytes})


def _wire(value: Any, name: str, is_enum: bool, message_type: type[Message]) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Enum):
        if is_enum or not isinstance(value, str):
            raise TypeError(f"{message_type.__name__}.{name}: translate the enum {value!r} explicitly")
        return value.value  # a StrEnum in a string field: its text
    if isinstance(value, datetime):
        return ts(value)
    if isinstance(value, Money):
        return money_to_proto(value)
    if isinstance(value, tuple | list | frozenset | set):
        return sorted(value) if isinstance(value, frozenset | set) else list(value)
    return value


def to_message(message_type: type[M], source: object, /, **fields: Any) -> M:
    """A `message_type` message from `source`: every field of the message that is not in `fields` takes the
    same-named attribute of `source` when it has one (a datetime as a Timestamp, a Money as a common.v1.Money,
    a set sorted, a StrEnum in a string field as its text, None left unset). `fields` are the rest: renamed,
    translated or nested values."""
    values = dict(fields)
    for name, is_enum in _message_fields(message_type.DESCRIPTOR):
        if name in values:
            continue
        value = getattr(source, name, _ABSENT)
        if value is not _ABSENT and value is not None:
            values[name] = _wire(value, name, is_enum, message_type)
    return message_type(**values)


def build(cls: type[T], source: object, /, **fields: Any) -> T:
    """A `cls` dataclass from `source` (a row, a message, another object): every field not in `fields` takes
    the same-named attribute of `source`; a field `source` lacks keeps its default. `fields` are the ones
    that differ by name or type (an enum from its text, Money from currency and minor units)."""
    # A SQLAlchemy Row is read by column name: as a tuple it also has attributes (`count`, `index`).
    row = getattr(source, "_mapping", None)
    values = dict(fields)
    names: tuple[str, ...] = _dataclass_fields(cls)  # type: ignore[arg-type]  # a class is hashable
    for name in names:
        if name not in values:
            value = row.get(name, _ABSENT) if row is not None else getattr(source, name, _ABSENT)
            if value is not _ABSENT:
                values[name] = value
    return cls(**values)


def _column_value(value: Any, name: str) -> Any:
    if isinstance(value, Money):
        raise TypeError(f"column {name}: write a Money as its currency and minor units explicitly")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(v.value if isinstance(v, Enum) else v for v in value)
    return value


def row_values(table: Table, source: object, /, **fields: Any) -> dict[str, Any]:
    """The values to write for `source` into `table`: every column not in `fields` that `source` has a
    same-named attribute for takes it (an enum as its value, a set as a sorted list); columns `source` lacks,
    or has as None where the column has a server default, are left to the database. `fields` are the rest
    (renamed or split columns)."""
    values = dict(fields)
    for column in table.columns:
        name = column.name
        if name not in values:
            value = getattr(source, name, _ABSENT)
            if value is None and column.server_default is not None:
                continue  # not known yet (a created_at before the insert): the database's default
            if value is not _ABSENT:
                values[name] = _column_value(value, name)
    return values
