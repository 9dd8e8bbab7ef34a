"""Which RPCs the gateway serves, read from the protobuf descriptors at start-up.

Every `onepool.*` module generated from the protos (libs/contracts) is imported, and every method of every
service in them becomes a route `/<package>.<Service>/<Method>`: an RPC added to a proto is served as soon as
`make proto` regenerated the contracts, with no change here. Each service is forwarded to the address the
shared settings name for it (`onepool.inventory.v1.InventoryService` -> `inventory_addr`).

Failure modes: a service whose package names no known address (a sixth service without an `<name>_addr`
setting yet) is left out with a warning naming it, and its paths answer 404; the gateway still serves the
others. tests/gateway calls every RPC in the descriptors, so such a gap fails the tests, not the door.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from dataclasses import dataclass

import onepool
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from google.protobuf import descriptor, message_factory
from google.protobuf.descriptor_pb2 import MethodOptions

from onepool_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)

_IDEMPOTENCY = {
    MethodOptions.IDEMPOTENCY_UNKNOWN: IdempotencyLevel.UNKNOWN,
    MethodOptions.NO_SIDE_EFFECTS: IdempotencyLevel.NO_SIDE_EFFECTS,
    MethodOptions.IDEMPOTENT: IdempotencyLevel.IDEMPOTENT,
}


@dataclass(frozen=True)
class Route:
    path: str  # /onepool.inventory.v1.InventoryService/GetAvailability
    upstream: str  # the settings' name of the service ("inventory")
    method: MethodInfo

    @property
    def server_streaming(self) -> bool:
        return self.method.stream_type is StreamType.SERVER_STREAM


def service_descriptors() -> list[descriptor.ServiceDescriptor]:
    """Every service declared in the generated `onepool.*` modules, in a stable order."""
    found: dict[str, descriptor.ServiceDescriptor] = {}
    for module in pkgutil.walk_packages(onepool.__path__, "onepool."):
        if module.ispkg or not module.name.endswith("_pb2"):
            continue
        file: descriptor.FileDescriptor = importlib.import_module(module.name).DESCRIPTOR
        for service in file.services_by_name.values():
            found[service.full_name] = service
    return [found[name] for name in sorted(found)]


def _stream_type(method: descriptor.MethodDescriptor) -> StreamType:
    client, server = method.client_streaming, method.server_streaming
    if client and server:
        return StreamType.BIDI_STREAM
    if client:
        return StreamType.CLIENT_STREAM
    return StreamType.SERVER_STREAM if server else StreamType.UNARY


def routes(settings: GatewaySettings) -> list[Route]:
    result: list[Route] = []
    for service in service_descriptors():
        # onepool.<name>.v1.<Service>: the settings know the service by <name>.
        upstream = service.full_name.split(".")[1]
        if not hasattr(settings, f"{upstream}_addr"):
            log.warning("%s not served: no address setting %s_addr", service.full_name, upstream)
            continue
        for method in service.methods:
            info = MethodInfo(
                name=method.name,
                service_name=service.full_name,
                input=message_factory.GetMessageClass(method.input_type),
                output=message_factory.GetMessageClass(method.output_type),
                idempotency_level=_IDEMPOTENCY[method.GetOptions().idempotency_level],
                stream_type=_stream_type(method),
            )
            result.append(Route(f"/{service.full_name}/{method.name}", upstream, info))
    return result
