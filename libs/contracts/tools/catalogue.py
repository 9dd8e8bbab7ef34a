"""Generate the event catalogue (what `make docs` runs): docs/events.md and docs/asyncapi.yaml.

Usage: python libs/contracts/tools/catalogue.py [OUT_DIR]   (default docs/)

Sources, none written by hand: the protos compiled with their comments (generate.descriptor_set), the subjects
they declare (generate.event_messages, the same check `make proto` runs) and the consumers each service's
bootstrap builds (onepool_cli.services; building them connects nothing). events.md is for people: per subject
its message, producer, stream, consumers and fields with their comments. asyncapi.yaml (AsyncAPI 3.0) is for
subscribers in other languages: channels are subjects, payloads are protobuf (application/x-protobuf) with a
JSON Schema of the message's proto3 JSON mapping, operations are each service's sends and receives.
tests/contract/test_event_catalogue.py fails when the committed files differ from a fresh run.

Failure modes (SystemExit with the reason, nothing written): the subject checks of generate.event_messages; a
consumer subscribed to a subject no event declares; a field of a type the JSON mapping here does not know.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import descriptor_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ROOT, EventMessage, descriptor_set, event_messages

FDP = descriptor_pb2.FieldDescriptorProto
FILES = ("events.md", "asyncapi.yaml")
CONTENT_TYPE = "application/x-protobuf"

_SCALARS: dict[int, tuple[str, dict[str, Any]]] = {
    FDP.TYPE_DOUBLE: ("double", {"type": "number"}),
    FDP.TYPE_FLOAT: ("float", {"type": "number"}),
    FDP.TYPE_INT32: ("int32", {"type": "integer", "format": "int32"}),
    FDP.TYPE_SINT32: ("sint32", {"type": "integer", "format": "int32"}),
    FDP.TYPE_SFIXED32: ("sfixed32", {"type": "integer", "format": "int32"}),
    FDP.TYPE_UINT32: ("uint32", {"type": "integer", "minimum": 0}),
    FDP.TYPE_FIXED32: ("fixed32", {"type": "integer", "minimum": 0}),
    # The proto3 JSON mapping writes 64-bit integers as decimal strings (JavaScript numbers lose precision).
    FDP.TYPE_INT64: ("int64", {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
    FDP.TYPE_SINT64: ("sint64", {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
    FDP.TYPE_SFIXED64: ("sfixed64", {"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"}),
    FDP.TYPE_UINT64: ("uint64", {"type": "string", "pattern": "^[0-9]+$"}),
    FDP.TYPE_FIXED64: ("fixed64", {"type": "string", "pattern": "^[0-9]+$"}),
    FDP.TYPE_BOOL: ("bool", {"type": "boolean"}),
    FDP.TYPE_STRING: ("string", {"type": "string"}),
    FDP.TYPE_BYTES: ("bytes", {"type": "string", "contentEncoding": "base64"}),
}
# Well-known types have their own JSON forms.
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated lowerCamelCase field paths."},
}


@dataclass
class Declaration:
    """A message or an enum of the OnePool protos, with the comments written above or beside it."""

    full_name: str
    comment: str
    message: descriptor_pb2.DescriptorProto | None = None
    enum: descriptor_pb2.EnumDescriptorProto | None = None
    member_comments: list[str] = field(default_factory=list)  # per field (message) or value (enum)


@dataclass(frozen=True)
class Consumer:
    service: str
    durable: str
    stream: str


def _comment(location: descriptor_pb2.SourceCodeInfo.Location | None) -> str:
    if location is None:
        return ""
    text = " ".join(part for part in (location.leading_comments, location.trailing_comments) if part)
    return " ".join(text.split())


def declarations(files: descriptor_pb2.FileDescriptorSet) -> dict[str, Declaration]:
    """Every OnePool message and enum (nested ones too) by full name."""
    found: dict[str, Declaration] = {}
    for f in files.file:
        if f.package.startswith("onepool."):
            found.update(_declared_in(f))
    return found


def _declared_in(f: descriptor_pb2.FileDescriptorProto) -> dict[str, Declaration]:
    # Source info addresses a declaration by its path of field numbers and indexes in the FileDescriptorProto:
    # (4, i) top-level message i, then (3, j) nested message, (4, j) nested enum, (2, k) field; (5, i) enum.
    where = {tuple(loc.path): loc for loc in f.source_code_info.location}
    found: dict[str, Declaration] = {}

    def add_enum(e: descriptor_pb2.EnumDescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        found[f"{scope}.{e.name}"] = Declaration(
            f"{scope}.{e.name}",
            _comment(where.get(path)),
            enum=e,
            member_comments=[_comment(where.get((*path, 2, i))) for i in range(len(e.value))],
        )

    def add_message(m: descriptor_pb2.DescriptorProto, scope: str, path: tuple[int, ...]) -> None:
        name = f"{scope}.{m.name}"
        found[name] = Declaration(
            name,
            _comment(where.get(path)),
            message=m,
            member_comments=[_comment(where.get((*path, 2, i))) for i in range(len(m.field))],
        )
        for i, nested in enumerate(m.nested_type):
            add_message(nested, name, (*path, 3, i))
        for i, e in enumerate(m.enum_type):
            add_enum(e, name, (*path, 4, i))

    for i, m in enumerate(f.message_type):
        add_message(m, f.package, (4, i))
    for i, e in enumerate(f.enum_type):
        add_enum(e, f.package, (5, i))
    return found


def consumers_by_subject(events: list[EventMessage]) -> dict[str, list[Consumer]]:
    from onepool_cli.services import SERVICES

    known = {e.subject for e in events}
    found: dict[str, list[Consumer]] = {s: [] for s in known}
    for service in SERVICES:
        for consumer in service.event_consumers():
            for sub in consumer.subscriptions:
                if sub.subject not in known:
                    raise SystemExit(f"{consumer.durable} subscribes to {sub.subject!r}, which no event declares")
                found[sub.subject].append(Consumer(service.name, consumer.durable, consumer.stream))
    return {s: sorted(set(cs), key=lambda c: c.durable) for s, cs in found.items()}


def _type_name(f: descriptor_pb2.FieldDescriptorProto) -> str:
    return f.type_name.lstrip(".")


def _reachable(roots: list[str], decls: dict[str, Declaration]) -> list[str]:
    """The OnePool messages and enums the events' fields lead to, in order of first appearance."""
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        if name in seen or name not in decls:
            continue
        seen.append(name)
        message = decls[name].message
        if message is not None:
            todo += [_type_name(f) for f in message.field if f.type_name]
    return seen


# --- events.md -------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def _md_type(f: descriptor_pb2.FieldDescriptorProto, decls: dict[str, Declaration]) -> str:
    if f.type_name:
        name = _type_name(f)
        shown = f"[`{name.rsplit('.', 1)[1]}`](#{name})" if name in decls else f"`{name}`"
    else:
        shown = f"`{_SCALARS[f.type][0]}`"
    return f"repeated {shown}" if f.label == FDP.LABEL_REPEATED else shown


def _md_members(decl: Declaration, decls: dict[str, Declaration]) -> Iterator[str]:
    if decl.message is not None:
        yield "| field | # | type | description |"
        yield "|---|---|---|---|"
        for f, comment in zip(decl.message.field, decl.member_comments, strict=True):
            yield f"| `{f.name}` | {f.number} | {_md_type(f, decls)} | {_cell(comment)} |"
    else:
        assert decl.enum is not None
        yield "| value | # | description |"
        yield "|---|---|---|"
        for v, comment in zip(decl.enum.value, decl.member_comments, strict=True):
            yield f"| `{v.name}` | {v.number} | {_cell(comment)} |"


def _consumer_list(consumers: list[Consumer]) -> str:
    return ", ".join(f"{c.service} (`{c.durable}`)" for c in consumers) or "none in OnePool"


def events_markdown(
    events: list[EventMessage], decls: dict[str, Declaration], consumers: dict[str, list[Consumer]]
) -> str:
    lines = [
        "# Event catalogue",
        "",
        "<!-- GENERATED by `make docs` (libs/contracts/tools/catalogue.py) from protos/ and the services' consumers;"
        " do not edit. -->",
        "",
        "Each event is a protobuf message that its producer writes to its transactional outbox and publishes on NATS",
        "JetStream, on the one subject its proto declares with `option (onepool.common.v1.subject)`. The stream is the",
        "producer's. Headers: `Nats-Msg-Id` (the event id, equal to `meta.event_id`; JetStream, OnePool's consumers'",
        "inboxes and any other subscriber de-duplicate by it), `Onepool-Event-Type` (the message's full name; a",
        "consumer dead-letters a message whose type is not the one it subscribed to) and `traceparent` (W3C trace",
        "context). Consumers are durable pull consumers named `<service>-<name>`. A message that carries",
        "`Onepool-Replay-For` is a dead letter an operator replayed (`onepool dlq replay`) for that one consumer (its",
        "durable name): every other subscriber, OnePool's or not, acks it without effect, since it had the event as",
        "first published; its `Nats-Msg-Id` is the replay's own and the event id is in `Onepool-Event-Id`. The same",
        "catalogue for code generators: [asyncapi.yaml](asyncapi.yaml) (AsyncAPI 3.0).",
        "",
        "| subject | message | producer | stream | consumers |",
        "|---|---|---|---|---|",
    ]
    for e in events:
        lines.append(
            f"| [`{e.subject}`](#{e.subject}) | `{e.full_name}` | {e.producer} | `{e.stream}` | "
            f"{_consumer_list(consumers[e.subject])} |"
        )
    for producer in sorted({e.producer for e in events}):
        lines += ["", f"## Published by {producer}"]
        for e in (e for e in events if e.producer == producer):
            decl = decls[e.full_name]
            lines += ["", f'### <a id="{e.subject}"></a>`{e.subject}`', ""]
            if decl.comment:
                lines += [decl.comment, ""]
            lines += [
                f"- message: `{e.full_name}` ({e.proto_file})",
                f"- producer: {e.producer}, stream `{e.stream}`",
                f"- consumers: {_consumer_list(consumers[e.subject])}",
                "",
                *_md_members(decl, decls),
            ]
    event_names = {e.full_name for e in events}
    lines += ["", "## Types used by the events"]
    for name in _reachable([e.full_name for e in events], decls):
        if name in event_names:
            continue
        decl = decls[name]
        lines += ["", f'### <a id="{name}"></a>`{name}`', ""]
        if decl.comment:
            lines += [decl.comment, ""]
        lines += list(_md_members(decl, decls))
    return "\n".join(lines) + "\n"


# --- asyncapi.yaml ---------------------------------------------------------------------------------------------


def _schema_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _field_schema(f: descriptor_pb2.FieldDescriptorProto, comment: str, decls: dict[str, Declaration]) -> Any:
    if f.type_name:
        name = _type_name(f)
        if name in _WELL_KNOWN:
            inner = dict(_WELL_KNOWN[name])
        elif name in decls:
            inner = _schema_ref(name)
        else:
            raise SystemExit(f"field {f.name}: no JSON mapping for {name}")
    elif f.type in _SCALARS:
        inner = dict(_SCALARS[f.type][1])
    else:
        raise SystemExit(f"field {f.name}: no JSON mapping for type {f.type}")
    schema = {"type": "array", "items": inner} if f.label == FDP.LABEL_REPEATED else inner
    description = f"{comment} (proto field `{f.name}` = {f.number})".lstrip()
    if "$ref" in schema:  # a $ref's siblings are ignored in JSON Schema draft 7: wrap it to keep the description
        return {"description": description, "allOf": [schema]}
    return {**schema, "description": description}


def _json_schema(decl: Declaration, decls: dict[str, Declaration]) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": decl.full_name}
    if decl.comment:
        schema["description"] = decl.comment
    if decl.enum is not None:
        return {**schema, "type": "string", "enum": [v.name for v in decl.enum.value]}
    assert decl.message is not None
    properties = {
        f.json_name: _field_schema(f, comment, decls)
        for f, comment in zip(decl.message.field, decl.member_comments, strict=True)
    }
    return {**schema, "type": "object", "properties": properties}


def _headers(e: EventMessage) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["Nats-Msg-Id", "Onepool-Event-Type"],
        "properties": {
            "Nats-Msg-Id": {"type": "string", "description": "The event id (= meta.event_id); de-duplicate by it."},
            "Onepool-Event-Type": {"type": "string", "const": e.full_name, "description": "The payload's type."},
            "traceparent": {"type": "string", "description": "W3C trace context of the request that caused it."},
            "Onepool-Replay-For": {
                "type": "string",
                "description": "Only on a replayed dead letter: the one consumer it is for; every other subscriber "
                "acks it without effect.",
            },
            "Onepool-Event-Id": {"type": "string", "description": "Only on a replayed dead letter: the event id."},
        },
    }


def _endpoints(e: EventMessage) -> dict[str, Any]:
    """An operation's channel and message (fresh objects each time, so the YAML has no anchors)."""
    return {
        "channel": {"$ref": f"#/channels/{e.subject}"},
        "messages": [{"$ref": f"#/channels/{e.subject}/messages/{e.name}"}],
    }


def asyncapi(
    events: list[EventMessage], decls: dict[str, Declaration], consumers: dict[str, list[Consumer]]
) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for e in events:
        decl = decls[e.full_name]
        messages[e.full_name] = {
            "name": e.full_name,
            "title": e.name,
            "summary": f"{e.name} on {e.subject}",
            **({"description": decl.comment} if decl.comment else {}),
            "contentType": CONTENT_TYPE,
            "headers": _headers(e),
            "payload": _schema_ref(e.full_name),
        }
        channels[e.subject] = {
            "address": e.subject,
            "title": e.name,
            "description": f"{decl.comment} JetStream stream `{e.stream}`.".lstrip(),
            "messages": {e.name: {"$ref": f"#/components/messages/{e.full_name}"}},
        }
        operations[f"{e.producer}.send{e.name}"] = {
            "action": "send",
            **_endpoints(e),
            "summary": f"{e.producer} publishes {e.name} through its outbox.",
            "x-onepool-service": e.producer,
        }
        for c in consumers[e.subject]:
            operations[f"{c.durable}.receive{e.name}"] = {
                "action": "receive",
                **_endpoints(e),
                "summary": f"{c.service} reads {e.name} with the durable consumer {c.durable} on stream {c.stream}.",
                "x-onepool-service": c.service,
                "x-jetstream": {"stream": c.stream, "durable": c.durable},
            }
    schemas = {name: _json_schema(decls[name], decls) for name in _reachable([e.full_name for e in events], decls)}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "OnePool events",
            "version": "v1",
            "description": (
                "Integration events of the five OnePool services, published on NATS JetStream (one stream per "
                "producing service) through each service's transactional outbox. Payloads are protobuf messages "
                "(contentType application/x-protobuf; the message's full name is its `name` and the "
                "Onepool-Event-Type header): decode them with the code generated from OnePool's protos. The payload "
                "schemas describe each message's proto3 JSON mapping, field by field. GENERATED by `make docs` "
                "from protos/; do not edit."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "NATS with JetStream at the default ONEPOOL_NATS_URL; use your deployment's address.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> dict[str, str]:
    files = descriptor_set()
    events = event_messages(files)
    decls = declarations(files)
    consumers = consumers_by_subject(events)
    document = yaml.safe_dump(asyncapi(events, decls, consumers), sort_keys=False, allow_unicode=True, width=120)
    return {"events.md": events_markdown(events, decls, consumers), "asyncapi.yaml": document}


def generate(out_dir: Path) -> list[Path]:
    rendered = render()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (out_dir / name).write_text(text)
    return [out_dir / name for name in FILES]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    written = generate(target)
    print("wrote " + ", ".join(str(p) for p in written))
