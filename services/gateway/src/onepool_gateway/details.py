"""Connect error details a `fetch` can read: each detail keeps its `type` and base64 `value` (what Connect
clients decode) and gains `debug`, the message as proto3 JSON (the Connect protocol's optional field), so a
storefront reads `reason`, `metadata` and `fieldViolations` without a protobuf runtime.

connectrpc writes `debug` only for a detail whose `value()` it can unpack without arguments, and unpacks with
its own protobuf runtime (`protobuf`, not the contracts' google.protobuf). So each detail here unpacks through
a registry built from the google.protobuf descriptor of its type (google.rpc.*, onepool.*), made once per file.

Failure modes: a type the process has no descriptor for keeps `type` and `value` only (no `debug`), as before.
"""

from __future__ import annotations

import functools
from typing import Any

from connectrpc.errors import ErrorDetail
from google.protobuf import descriptor, descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from protobuf import Registry
from protobuf.wkt import Any as ConnectAny
from protobuf.wkt import FileDescriptorSet

TYPE_PREFIX = "type.googleapis.com/"


class DebugDetail(ErrorDetail):
    """An ErrorDetail that unpacks itself (hence `debug` in Connect's JSON error body)."""

    def value(self, desc_or_registry: Any = None, /) -> Any:
        registry = desc_or_registry or _registry_for(self.type_name)
        return super().value(registry) if registry is not None else None


def detail(message: Message) -> ErrorDetail:
    return from_any(TYPE_PREFIX + message.DESCRIPTOR.full_name, message.SerializeToString())


def from_any(type_url: str, value: bytes) -> ErrorDetail:
    return DebugDetail(ConnectAny(type_url=type_url, value=value))


def _registry_for(type_name: str) -> Registry | None:
    try:
        file = descriptor_pool.Default().FindMessageTypeByName(type_name).file
    except KeyError:
        return None
    return _file_registry(file.name)


@functools.cache
def _file_registry(name: str) -> Registry:
    """The file and everything it imports, as the other runtime's registry. google.protobuf's CopyToProto
    leaves json_name out, which the other runtime needs for JSON: it is copied from the descriptors."""
    files: dict[str, descriptor.FileDescriptor] = {}

    def collect(file: descriptor.FileDescriptor) -> None:
        for dependency in file.dependencies:
            collect(dependency)
        files.setdefault(file.name, file)

    collect(descriptor_pool.Default().FindFileByName(name))
    found = descriptor_pb2.FileDescriptorSet()
    for file in files.values():
        proto = found.file.add()
        file.CopyToProto(proto)
        _json_names(proto.message_type, file.message_types_by_name)
    return FileDescriptorSet.from_binary(found.SerializeToString()).to_registry()


def _json_names(protos: Any, descriptors: Any) -> None:
    for proto in protos:
        message = descriptors[proto.name]
        for field in proto.field:
            field.json_name = message.fields_by_name[field.name].json_name
        _json_names(proto.nested_type, message.nested_types_by_name)
