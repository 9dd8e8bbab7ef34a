"""Hostile requests generated from the proto descriptors, for every RPC the five services declare.

A seeded `random.Random`, not Hypothesis: the suite fires thousands of requests per RPC concurrently at one
running stack and judges each reply on its own (status code, time), so there is nothing to shrink and no
per-example set-up to replay; what matters is volume, speed and a run that repeats exactly from its seed
(printed, and settable with ONEPOOL_FUZZ_SEED). Every request is kept as the bytes sent, so a finding is
reported with the exact input.

Values are drawn per field type from pools of edges (empty, huge, unicode, NUL and control characters,
int32/int64 limits, unknown enum numbers, timestamps far past and future or with bad nanos, long repeated
fields), mixed with ids that exist in the seeded world (by field name), so calls also reach deep into the
handlers rather than stopping at the first check. A share of requests are bytes that are not protobuf.
"""

from __future__ import annotations

import importlib
import random
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

SERVICES: dict[str, tuple[str, str]] = {
    "inventory": ("onepool.inventory.v1.inventory_pb2", "InventoryService"),
    "orders": ("onepool.orders.v1.orders_pb2", "OrderService"),
    "channels": ("onepool.channels.v1.channels_pb2", "ChannelService"),
    "dealers": ("onepool.dealers.v1.dealers_pb2", "DealerService"),
    "settlement": ("onepool.settlement.v1.settlement_pb2", "SettlementService"),
}

INT32 = (0, 1, -1, 2, 7, 100, 1_000_000, 1_000_001, 2**31 - 1, -(2**31), 2**30)
INT64 = (*INT32, 10**15, 10**15 + 1, 2**53, 2**63 - 1, -(2**63), -(10**15))
SECONDS = (
    0,
    -1,
    int(time.time()),
    int(time.time()) - 86_400,
    int(time.time()) + 86_400 * 365,
    -62_135_596_800,  # 0001-01-01
    -62_135_596_801,
    253_402_300_799,  # 9999-12-31T23:59:59
    253_402_300_800,
    2**62,
    -(2**62),
    2**63 - 1,
)
NANOS = (0, 0, 0, 1, 999_999_999, 1_000_000_000, -1, 2**31 - 1)
CONTROL = [chr(c) for c in (*range(0x00, 0x20), 0x7F, 0x85, 0x9F)]
EDGE_STRINGS = (
    "",
    " ",
    "   \t",
    "a",
    "0",
    "-1",
    "null",
    "\x00",
    "a\x00b",
    "\n",
    "line\nbreak",
    "\r\n",
    "\u202eevil",  # right-to-left override
    "e\u0301",  # combining accent
    "\ufeffbom",
    "\u4e2d\u6587\u540d\u79f0",
    "\U0001f642" * 8,
    "\uffff",
    "'; DROP TABLE orders; --",
    "%s%n%x",
    "../../etc/passwd",
    "{{7*7}}",
    "9" * 40,
    "x" * 64,
    "x" * 65,
    "x" * 129,
    "x" * 250,  # within the generic 256 bound, too long for a key column once prefixed (was INTERNAL once)
    "x" * 257,
    "x" * 4097,
    "CNY",
    "cny",
    "XXX",
    "USD",
    "\u20ac",
    "brand",
    "clearing",
    "dealer:",
    "channel:",
    "dealer:\x00",
    "eyJhZnRlciI6IC0xfQ",  # a page token {"after": -1}
    "eyJhZnRlciI6ICJ4In0",  # {"after": "x"}
    "W10",  # []
    "!!!",
    "{}",
    '{"id": 1}',
)
MAX_REQUEST_BYTES = 2 * 1024 * 1024
ENUM_JUNK = (-1, 99, 2**31 - 1, -(2**31), 6, 10)
RAW_JUNK = (
    b"\xff",
    b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",  # a length beyond the message
    b"\x08" + b"\xff" * 11,  # a varint that never ends
    b"\x0a\x02\xc3\x28",  # invalid UTF-8 in field 1
    b"\x0b\x0c",  # a group start in proto3
    b"\x07",  # wire type 7 does not exist
    b"\x00",  # field number 0
)


def methods() -> Iterator[tuple[str, ServiceDescriptor, MethodDescriptor]]:
    """Every RPC of the five services, read from the descriptors, so a new RPC is fuzzed without edits."""
    for service, (module, name) in SERVICES.items():
        descriptor = importlib.import_module(module).DESCRIPTOR.services_by_name[name]
        for method in descriptor.methods:
            yield service, descriptor, method


@dataclass(frozen=True)
class Request:
    payload: bytes
    raw: bool  # bytes that are not (or not quite) a protobuf message of the input type


class Generator:
    """Draws hostile requests for one RPC; `known` maps field names to ids that exist in the world.

    Each request gets a hostility level: the chance that a given field holds an edge value rather than a
    plausible one (a known id, a small positive number, a defined enum, a recent time, a short list). Low
    levels get past validation into the handlers (unknown ids, wrong states, bad currencies, int edges deep
    in a valid request); high levels pile up violations.
    """

    LEVELS = (0.0, 0.05, 0.15, 0.4, 0.8)

    def __init__(self, rng: random.Random, known: Mapping[str, Sequence[str]], *, huge: bool = True) -> None:
        self.rng = rng
        self.known = known
        self.huge = huge
        self.hostility = 0.5

    def request(self, method: MethodDescriptor) -> Request:
        cls = message_factory.GetMessageClass(method.input_type)
        if self.rng.random() < 0.05:
            return Request(self._junk(cls)[:MAX_REQUEST_BYTES], raw=True)
        self.hostility = self.rng.choice(self.LEVELS)
        message = self.message(cls(), depth=0)
        if self.hostility == 0.0 and message.DESCRIPTOR.fields:  # a plausible request with exactly one edge
            self.hostility = 1.0
            field = self.rng.choice(message.DESCRIPTOR.fields)
            message.ClearField(field.name)
            if not _is_map(field):
                self._field(message, field, 0)
        payload = message.SerializeToString()
        if len(payload) > MAX_REQUEST_BYTES:
            # The services share the test's event loop: building and judging tens of MiB per call would stall
            # them all. The server's 8 MiB limit answers such a request at once (RESOURCE_EXHAUSTED) anyway.
            payload = payload[:MAX_REQUEST_BYTES]
            return Request(payload, raw=True)
        return Request(payload, raw=False)

    def _hostile(self) -> bool:
        return self.rng.random() < self.hostility

    def message(self, message: Message, depth: int) -> Message:
        descriptor = message.DESCRIPTOR
        if descriptor.full_name == "google.protobuf.Timestamp":
            if self._hostile():
                message.seconds = self.rng.choice(SECONDS)  # type: ignore[attr-defined]
                message.nanos = self.rng.choice(NANOS)  # type: ignore[attr-defined]
            else:
                message.seconds = int(time.time()) + self.rng.randint(-90 * 86_400, 86_400)  # type: ignore[attr-defined]
            return message
        if descriptor.full_name == "google.protobuf.FieldMask":
            names = ["name", "tier", "status", "credit_limit", "region", "fee_rate_bps", "allocation", "id", ""]
            for _ in range(self.rng.randint(0, 4)):
                message.paths.append(self._string("paths") if self._hostile() else self.rng.choice(names))  # type: ignore[attr-defined]
            return message
        for field in descriptor.fields:
            if _is_map(field) or self.rng.random() < (0.1 + self.hostility / 4):
                continue  # unset (no request has a map field today; the walker's unit tests cover maps)
            self._field(message, field, depth)
        return message

    def _field(self, message: Message, field: FieldDescriptor, depth: int) -> None:
        if field.is_repeated:
            self._repeated(message, field, depth)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth < 4:
                self.message(getattr(message, field.name), depth + 1)
                getattr(message, field.name).SetInParent()
        else:
            setattr(message, field.name, self._scalar(field))

    def _repeated(self, message: Message, field: FieldDescriptor, depth: int) -> None:
        count = self.rng.randint(1, 3)
        if self._hostile():
            roll = self.rng.random()
            count = 0 if roll < 0.4 else self.rng.randint(20, 80) if roll < 0.9 else self.rng.choice((501, 2001, 5000))
            if count > 1000 and not self.huge:
                count = 80
        target = getattr(message, field.name)
        # Never more than just past MAX_REQUEST_BYTES: 5,000 copies of an element holding a 300,000-character
        # string took tens of seconds to build and serialise on the loop the services share (a fuzz run's
        # DEADLINE_EXCEEDED on every RPC at once, with a 27 s event-loop stall), to be cut to 2 MiB anyway.
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 4 or count == 0:
                return
            first = self.message(target.add(), depth + 1)
            count = min(count, MAX_REQUEST_BYTES // max(1, first.ByteSize()) + 2)
            for _ in range(count - 1):
                # A long list repeats one drawn element with a twist, keeping generation cheap.
                item = target.add()
                item.CopyFrom(first)
                if self.rng.random() < 0.3:
                    self.message(item, depth + 1)
        else:
            value = self._scalar(field)
            size = 0
            for _ in range(count):
                item = value if self.rng.random() < 0.5 else self._scalar(field)
                target.append(item)
                size += len(item) if isinstance(item, str | bytes) else 8
                if size > MAX_REQUEST_BYTES:
                    break

    def _scalar(self, field: FieldDescriptor) -> Any:
        kind = field.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self._string(field.name)
        if kind == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        hostile = self._hostile()
        if kind == FieldDescriptor.TYPE_ENUM:
            numbers = [v.number for v in field.enum_type.values]
            return self.rng.choice(ENUM_JUNK) if hostile else self.rng.choice(numbers[1:] or numbers)
        if kind in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SFIXED32):
            return self.rng.choice(INT32) if hostile else self.rng.randint(1, 5)
        if kind in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64):
            return self.rng.choice(INT64) if hostile else self.rng.choice((100, 200, 1000, self.rng.randint(1, 10**6)))
        if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
            return self.rng.choice((0, 1, 2**32 - 1, 2**31))
        if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
            return self.rng.choice((0, 1, 2**64 - 1, 2**63))
        if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return self.rng.choice((0.0, -1.0, 1e308, float("inf"), float("nan")))
        if kind == FieldDescriptor.TYPE_BYTES:
            return self.rng.randbytes(self.rng.randint(0, 64))
        raise AssertionError(f"no generator for field type {kind} ({field.full_name})")

    def _string(self, name: str) -> str:
        known = self.known.get(name) or self.known.get(name.rstrip("s"))
        if not self._hostile():
            if known:
                return self.rng.choice(known)
            return "".join(
                self.rng.choice(string.ascii_letters + string.digits) for _ in range(self.rng.randint(1, 20))
            )
        roll = self.rng.random()
        if known and roll < 0.2:  # a near miss of a real id
            value = self.rng.choice(known)
            return self.rng.choice((value.upper(), value + "x", value[:-1], value + "\x00", " " + value))
        if roll < 0.6:
            return self.rng.choice(EDGE_STRINGS)
        if roll < 0.7:
            chars = string.ascii_letters + string.digits + "-_.:/"
            return "".join(self.rng.choice(chars) for _ in range(self.rng.randint(1, 70)))
        if roll < 0.85:
            base = self.rng.choice(known) if known else "text"
            cut = self.rng.randint(0, len(base))
            return base[:cut] + self.rng.choice(CONTROL) + base[cut:]
        if roll < 0.98 or not self.huge:
            return "".join(chr(self.rng.randint(0x20, 0x2FFF)) for _ in range(self.rng.randint(1, 300)))
        return self.rng.choice(("x", "\u4e2d", "\U0001f642")) * self.rng.choice((70_000, 300_000))

    def _junk(self, cls: type[Message]) -> bytes:
        roll = self.rng.random()
        if roll < 0.3:
            return self.rng.randbytes(self.rng.randint(1, 200))
        if roll < 0.6:
            valid = self.message(cls(), depth=0).SerializeToString()
            return valid[: self.rng.randint(0, max(0, len(valid) - 1))] + self.rng.choice(RAW_JUNK)
        if roll < 0.8:
            return self.rng.choice(RAW_JUNK)
        # Nested length-delimited fields far deeper than any schema (and the decoder's recursion limit).
        payload = b""
        for _ in range(self.rng.choice((50, 120, 2000))):
            payload = b"\x0a" + _varint(len(payload)) + payload
        return payload


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)
