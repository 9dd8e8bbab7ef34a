"""The event catalogue (docs/events.md, docs/asyncapi.yaml) is what `make docs` generates, and the AsyncAPI
document holds up: AsyncAPI 3.0 structure, every reference resolves, and its payload schemas accept the proto3
JSON of real events (and refuse a wrongly typed one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from onepool_cli.services import SERVICES
from onepool_contracts import events as registry
from pydantic_asyncapi.v3 import AsyncAPI

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load((DOCS / "asyncapi.yaml").read_text())  # type: ignore[no-any-return]


def test_committed_catalogue_is_what_make_docs_generates(
    tmp_path: Path, load_tool: Callable[[str], ModuleType]
) -> None:
    catalogue = load_tool("catalogue")
    written = catalogue.generate(tmp_path)
    assert sorted(p.name for p in written) == ["asyncapi.yaml", "events.md"]
    stale = [p.name for p in written if p.read_bytes() != (DOCS / p.name).read_bytes()]
    assert stale == [], f"stale event catalogue, run `make docs`: {stale}"


def test_events_md_lists_every_subject_with_its_message_producer_and_consumers() -> None:
    text = (DOCS / "events.md").read_text()
    for e in registry.EVENTS:
        assert f'<a id="{e.subject}"></a>`{e.subject}`' in text
        assert f"| [`{e.subject}`](#{e.subject}) | `{e.full_name}` | {e.producer} | `{e.stream}` |" in text
    for service in SERVICES:
        for consumer in service.event_consumers():
            assert f"{service.name} (`{consumer.durable}`)" in text


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def test_asyncapi_document_has_the_3_0_essentials(document: dict[str, Any]) -> None:
    AsyncAPI.model_validate(document)  # the AsyncAPI 3 object model (pydantic-asyncapi)
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["defaultContentType"] == "application/x-protobuf"
    for ref in _refs(document):
        _resolve(document, ref)  # every reference resolves inside the document

    channels = document["channels"]
    assert {c["address"] for c in channels.values()} == set(registry.BY_SUBJECT)
    for key, channel in channels.items():
        [message] = channel["messages"].values()
        resolved = _resolve(document, message["$ref"])
        assert resolved["name"] == registry.BY_SUBJECT[channel["address"]].full_name
        assert resolved["contentType"] == "application/x-protobuf"
        assert resolved["headers"]["properties"]["Onepool-Event-Type"]["const"] == resolved["name"]
        assert key == channel["address"]

    messages = document["components"]["messages"]
    assert set(messages) == set(registry.BY_NAME)

    sends, receives = set(), set()
    for operation in document["operations"].values():
        channel_ref = operation["channel"]["$ref"]
        channel = _resolve(document, channel_ref)
        for message in operation["messages"]:  # AsyncAPI 3: an operation's messages are its channel's
            assert message["$ref"].startswith(channel_ref + "/messages/")
        if operation["action"] == "send":
            sends.add((operation["x-onepool-service"], channel["address"]))
        else:
            assert operation["action"] == "receive"
            receives.add((operation["x-jetstream"]["durable"], channel["address"]))
    assert sends == {(e.producer, e.subject) for e in registry.EVENTS}
    assert receives == {
        (consumer.durable, sub.subject)
        for service in SERVICES
        for consumer in service.event_consumers()
        for sub in consumer.subscriptions
    }


def _fill(message: Message, depth: int = 0) -> Message:
    """Set every field (one element per repeated field), so the JSON carries every field's form."""
    for f in message.DESCRIPTOR.fields:
        repeated = f.is_repeated
        if f.message_type is not None:
            if f.message_type.full_name == "google.protobuf.Timestamp":
                child = getattr(message, f.name).add() if repeated else getattr(message, f.name)
                child.FromSeconds(1_767_225_600)
            elif f.message_type.full_name == "google.protobuf.FieldMask":
                (getattr(message, f.name).add() if repeated else getattr(message, f.name)).paths.append("name")
            elif depth < 4:
                _fill(getattr(message, f.name).add() if repeated else getattr(message, f.name), depth + 1)
            continue
        if f.enum_type is not None:
            value: Any = f.enum_type.values[-1].number
        elif f.type == FieldDescriptor.TYPE_BOOL:
            value = True
        elif f.type == FieldDescriptor.TYPE_STRING:
            value = "x"
        elif f.type == FieldDescriptor.TYPE_BYTES:
            value = b"x"
        elif f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            value = 1.5
        else:
            value = 7
        if repeated:
            getattr(message, f.name).append(value)
        else:
            setattr(message, f.name, value)
    return message


def _validator(document: dict[str, Any], full_name: str) -> jsonschema.Draft7Validator:
    schema = {**document, "$ref": f"#/components/schemas/{full_name}"}  # refs resolve against the document
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("event", registry.EVENTS, ids=lambda e: e.subject)
def test_payload_schema_accepts_the_proto3_json_of_a_real_event(document: dict[str, Any], event: Any) -> None:
    jsonschema.Draft7Validator.check_schema(document["components"]["schemas"][event.full_name])
    payload = _resolve(document, document["components"]["messages"][event.full_name]["payload"]["$ref"])
    assert payload["title"] == event.full_name
    as_json = json_format.MessageToDict(_fill(event.message()))
    assert set(as_json) == set(payload["properties"])
    errors = [e.message for e in _validator(document, event.full_name).iter_errors(as_json)]
    assert errors == []


def test_payload_schema_refuses_a_wrongly_typed_field(document: dict[str, Any]) -> None:
    from onepool.inventory.v1 import events_pb2

    event = json_format.MessageToDict(_fill(events_pb2.StockChanged()))
    event["level"]["onHand"] = "seven"
    validator = _validator(document, "onepool.inventory.v1.StockChanged")
    assert any("'seven' is not of type 'integer'" in e.message for e in validator.iter_errors(event))
