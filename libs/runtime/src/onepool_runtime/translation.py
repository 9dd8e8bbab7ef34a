"""Domain events -> integration events: the rule most of a service's events follow, written once.

A domain event that records one aggregate's new state (`DealerRegistered(dealer)`) is published as the
integration message of the same name in the service's `events_pb2`, carrying the aggregate's wire form under
the same field name (`dealers.v1.DealerRegistered(dealer=dealer_to_proto(...))`). `carrying(to_proto, *events)`
states that for the events of one aggregate; `Translator(events_pb2, *rules, rest=...)` is a service's
`translate`: the rules first, then `rest` (a `match` over the events that say more than their aggregate, or
are published under another name), for the unit of work and the Reserve batch path alike.

Failure modes: at import, TypeError when a rule's event is not a dataclass of exactly one field, when the events
module has no message of the event's name, when that message has no message field of the event's field's
name, or when two rules name one event; at run time, TypeError for an event no rule and no `rest` translates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

ToProto = Callable[[Any], Message]


@dataclasses.dataclass(frozen=True)
class Carrying:
    """Events of one aggregate, each published under its own name with the aggregate as `to_proto` sends it."""

    to_proto: ToProto
    events: tuple[type, ...]


def carrying(to_proto: ToProto, *events: type) -> Carrying:
    return Carrying(to_proto, events)


def _only_field(event: type) -> str:
    if not dataclasses.is_dataclass(event):
        raise TypeError(f"{event.__name__} is not a dataclass")
    fields = [f.name for f in dataclasses.fields(event)]
    if len(fields) != 1:
        raise TypeError(f"{event.__name__} has {len(fields)} fields; only an event of one aggregate is carried")
    return fields[0]


def _bind(module: ModuleType, event: type, to_proto: ToProto) -> tuple[type[Message], Callable[[Any], Message]]:
    field = _only_field(event)
    message: type[Message] | None = getattr(module, event.__name__, None)
    if message is None:
        raise TypeError(f"{module.__name__} has no message {event.__name__}")
    wire = message.DESCRIPTOR.fields_by_name.get(field)
    if wire is None or wire.type != FieldDescriptor.TYPE_MESSAGE:
        raise TypeError(f"{message.DESCRIPTOR.full_name} has no message field {field!r}")

    def build(domain_event: Any) -> Message:
        return message(**{field: to_proto(getattr(domain_event, field))})

    return message, build


class Translator:
    """A service's `translate(domain_event) -> integration events`; `produces` names the messages its rules build
    (the event registry test adds them to the ones `rest` constructs)."""

    def __init__(
        self,
        module: ModuleType,
        *rules: Carrying,
        rest: Callable[[Any], Iterable[Message]] | None = None,
    ) -> None:
        self._by_type: dict[type, Callable[[Any], Message]] = {}
        produced: set[type[Message]] = set()
        for rule in rules:
            for event in rule.events:
                if event in self._by_type:
                    raise TypeError(f"{event.__name__} is carried by two rules")
                message, self._by_type[event] = _bind(module, event, rule.to_proto)
                produced.add(message)
        self.produces = frozenset(produced)
        self._rest = rest

    def __call__(self, event: object) -> Iterable[Message]:
        build = self._by_type.get(type(event))
        if build is not None:
            return (build(event),)
        if self._rest is None:
            raise TypeError(f"no integration event for {type(event).__name__}")
        return self._rest(event)
