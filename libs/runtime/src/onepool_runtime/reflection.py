"""Server reflection that explains: v1 and v1alpha, serving OnePool's descriptors with their comments.

grpcio-reflection implements only `grpc.reflection.v1alpha.ServerReflection`, and serves descriptors from the
default pool, which the generated modules fill without source info: `grpcurl describe` would show no comments.
So the same servicer is also registered under `grpc.reflection.v1.ServerReflection` (v1's messages are
v1alpha's, field for field, so they are the same on the wire), and every file descriptor it answers with is
replaced by the one compiled with source info that `make proto` embeds (onepool_contracts/descriptors.binpb;
tests/contract/test_generated_code.py keeps it equal to the protos). Files outside OnePool (health, well-known
types) are served as the default pool has them.

A method is found by its full name too (`...OrderService.PlaceOrder`): the pool knows only services, messages,
enums and fields, so a method's file is its service's.

Failure modes: a missing or unreadable descriptors.binpb fails the server's start (a packaging error, found at
once); a symbol or file the server does not know is answered with NOT_FOUND inside the stream, as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import grpc
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_SERVICE_NAME: str = reflection.SERVICE_NAME
V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"


@cache
def sources() -> dict[str, bytes]:
    """OnePool's serialized FileDescriptorProtos with source info, by file name."""
    raw = resources.files("onepool_contracts").joinpath("descriptors.binpb").read_bytes()
    return {f.name: f.SerializeToString() for f in descriptor_pb2.FileDescriptorSet.FromString(raw).file}


# grpcio-reflection defines its asyncio servicer behind a version check, so its type is unknown to mypy.
_AioReflectionServicer: Any = getattr(reflection, "aio").ReflectionServicer  # noqa: B009


class ReflectionServicer(_AioReflectionServicer):  # type: ignore[misc]
    """grpcio's servicer, answering file descriptors with their source info where OnePool has it."""

    def __init__(self, service_names: Iterable[str], with_sources: dict[str, bytes]) -> None:
        super().__init__(service_names)
        self._with_sources = with_sources

    def _explained(self, response: Any) -> Any:
        if response.HasField("file_descriptor_response"):
            files = response.file_descriptor_response.file_descriptor_proto
            for i, raw in enumerate(files):
                name = descriptor_pb2.FileDescriptorProto.FromString(raw).name
                files[i] = self._with_sources.get(name, raw)
        return response

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        return self._explained(super()._file_by_filename(request, filename))

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        return self._explained(super()._file_containing_symbol(request, self._owner(fully_qualified_name)))

    def _owner(self, symbol: str) -> str:
        """The symbol to look up: a method's service, since the pool (upb) finds no methods by name, and
        `grpcurl describe pkg.Service.Method` asks for the method."""
        service, _, method = symbol.rpartition(".")
        try:
            found = self._pool.FindServiceByName(service)
        except KeyError:
            return symbol
        return service if method in found.methods_by_name else symbol

    def _file_containing_extension(self, request: Any, containing_type: str, extension_number: int) -> Any:
        return self._explained(super()._file_containing_extension(request, containing_type, extension_number))


def enable(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serve reflection v1 and v1alpha on `server`, listing `service_names` and both reflection services."""
    servicer = ReflectionServicer([*service_names, V1ALPHA_SERVICE_NAME, V1_SERVICE_NAME], sources())
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((v1,))
