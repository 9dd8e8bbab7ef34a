"""The door's JSON codec (Connect `application/json`, `application/connect+json`, `application/grpc-web+json`):
proto3 JSON as google.protobuf's json_format reads and writes it, with three differences from connectrpc's own
codec, each for a storefront written with `fetch`:

- An enum value the enum does not define (a short name such as "PAID" for the prefixed one, or a number) is
  INVALID_ARGUMENT naming the field and listing the names it takes. json_format, told to ignore unknown fields
  (forward compatibility), also drops unknown enum names, so a ListOrders asked for "PAID" orders listed every order.
  Unknown fields stay ignored: a client built against a newer proto still talks to this door.
- Any other value the parser refuses (an int64 out of range, a number that is not one, a key twice) is
  INVALID_ARGUMENT with a google.rpc.BadRequest naming the field by its proto path (`lines[0].quantity`), as
  the services name theirs, rather than only the parser's sentence.
- Replies carry every field that has no presence, at its default (`"amountMinor": "0"`, `"items": []`), so a
  zero amount is a number, not a missing key. Message fields and `optional` ones are still left out when unset.
"""

from __future__ import annotations

import json
import re
from typing import Any

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from google.protobuf import descriptor, json_format, message_factory
from google.protobuf.message import Message
from google.rpc import error_details_pb2

from onepool_gateway import details

MAX_VIOLATIONS = 20
_VALUE_TEXT = 80
_FIELD_PREFIX = re.compile(r"^(Failed to parse \w+ field: )+")


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once (json.loads keeps the last)."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    seen: set[str] = set()
    result.repeated = [key for key, _ in pairs if key in seen or seen.add(key)]  # type: ignore[func-returns-value]
    return result


class StrictJsonCodec:
    """connectrpc's Codec protocol (name, encode, decode) for google.protobuf messages."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        return json_format.MessageToJson(message, always_print_fields_with_no_presence=True, indent=None).encode()

    def decode(self, data: bytes | bytearray, message_class: type[Message]) -> Message:
        try:
            tree = json.loads(bytes(data), object_pairs_hook=_object)
        except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise ConnectError(Code.INVALID_ARGUMENT, f"the request is not JSON: {error}") from None
        if not isinstance(tree, dict):
            raise ConnectError(Code.INVALID_ARGUMENT, f"the request must be a JSON object ({_name(message_class)})")
        violations: list[tuple[str, str]] = []
        _check(tree, message_class.DESCRIPTOR, "", violations)
        if violations:
            raise bad_request(violations)
        message = message_class()
        try:
            json_format.ParseDict(tree, message, ignore_unknown_fields=True)
        except json_format.ParseError as error:
            found = _locate(tree, message_class, "")
            if not found:
                raise ConnectError(
                    Code.INVALID_ARGUMENT, f"the request is not a {_name(message_class)}: {_cleaned(error)}"
                ) from None
            raise bad_request(found) from None
        return message


def bad_request(violations: list[tuple[str, str]]) -> ConnectError:
    shown = violations[:MAX_VIOLATIONS]
    summary = "; ".join(f"{field}: {why}" for field, why in shown)
    if len(violations) > len(shown):
        summary += f"; and {len(violations) - len(shown)} more"
    info = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in shown]
    )
    return ConnectError(Code.INVALID_ARGUMENT, f"invalid argument: {summary}", [details.detail(info)])


def _name(message_class: type[Message]) -> str:
    return message_class.DESCRIPTOR.name


def _cleaned(error: Exception) -> str:
    return _FIELD_PREFIX.sub("", str(error)).rstrip(".")


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _VALUE_TEXT else text[: _VALUE_TEXT - 3] + "..."


def _field(desc: Any, key: str) -> descriptor.FieldDescriptor | None:
    for field in desc.fields:
        if key in (field.json_name, field.name):
            return field
    return None


def _well_known(desc: Any) -> bool:
    """Timestamp, Duration, wrappers, Struct...: JSON forms of their own, which json_format checks."""
    return desc.full_name.startswith("google.protobuf.")


def _check(js: dict[str, Any], desc: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    """Keys given twice and enum values the enum does not define, anywhere in the request."""
    for key in getattr(js, "repeated", ()):
        field = _field(desc, key)
        out.append((prefix + (field.name if field else key), "given more than once"))
    if _well_known(desc):
        return
    for key, value in js.items():
        field = _field(desc, key)
        if field is None or value is None:
            continue  # unknown fields are ignored (forward compatibility); null is the default
        path = prefix + field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            if isinstance(value, dict):
                entry = field.message_type.fields_by_name["value"]
                for k, v in value.items():
                    _check_value(entry, v, f"{path}[{json.dumps(k)}]", out)
        elif field.is_repeated:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    _check_value(field, item, f"{path}[{i}]", out)
        else:
            _check_value(field, value, path, out)


def _check_value(field: descriptor.FieldDescriptor, value: Any, path: str, out: list[tuple[str, str]]) -> None:
    if field.message_type is not None and isinstance(value, dict):
        _check(value, field.message_type, path + ".", out)
    elif (
        field.enum_type is not None
        and field.enum_type.full_name != "google.protobuf.NullValue"
        and _enum_number(field.enum_type, value) is None
    ):
        names = ", ".join(v.name for v in field.enum_type.values)
        out.append((path, f"unknown {field.enum_type.name} {_shown(value)}; one of {names}"))


def _enum_number(enum: descriptor.EnumDescriptor, value: Any) -> int | None:
    """The number of a name or number the enum defines (json_format also takes a number as a string)."""
    if isinstance(value, str) and value in enum.values_by_name:
        return enum.values_by_name[value].number
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,10}", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in enum.values_by_number:
        return value
    return None


def _locate(js: dict[str, Any], message_class: type[Message], prefix: str) -> list[tuple[str, str]]:
    """Which field json_format refused, by parsing one field (one item) at a time: only on the error path."""
    desc = message_class.DESCRIPTOR
    for key, value in js.items():
        field = _field(desc, key)
        if field is None:
            continue
        error = _parse_error(message_class, {key: value})
        if error is None:
            continue
        path = prefix + field.name
        sub = field.message_type
        if sub is not None and not _well_known(sub) and not sub.GetOptions().map_entry:
            sub_class = message_factory.GetMessageClass(sub)
            if field.is_repeated and isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and _parse_error(message_class, {key: [item]}) is not None:
                        return _locate(item, sub_class, f"{path}[{i}].") or [(f"{path}[{i}]", _cleaned(error))]
            elif isinstance(value, dict):
                return _locate(value, sub_class, path + ".") or [(path, _cleaned(error))]
        elif field.is_repeated and isinstance(value, list):
            for i, item in enumerate(value):
                item_error = _parse_error(message_class, {key: [item]})
                if item_error is not None:
                    return [(f"{path}[{i}]", _cleaned(item_error))]
        return [(path, _cleaned(error))]
    return []


def _parse_error(message_class: type[Message], js: dict[str, Any]) -> json_format.ParseError | None:
    try:
        json_format.ParseDict(js, message_class(), ignore_unknown_fields=True)
    except json_format.ParseError as error:
        return error
    return None
