"""Forwarding one Connect / gRPC-Web call to the service that owns it, over grpc.aio.

What travels upstream: the caller's `Authorization` header (the services authenticate and authorize it; the
gateway holds no credentials of its own and never adds any), the W3C trace headers, and the caller's
deadline (Connect-Timeout-Ms or grpc-timeout, which connectrpc reads; without one, unary calls get
`gateway_default_timeout_seconds`).

Failure modes (every one reaches the browser as a Connect error, never as a bare 500):
- the service answers a gRPC status: the same code (UNAUTHENTICATED -> HTTP 401 `unauthenticated`,
  PERMISSION_DENIED -> 403 ...), its message, and the `google.rpc.Status` details from
  `grpc-status-details-bin` (BadRequest field violations, ErrorInfo) as Connect error details;
- the service cannot be reached: `unavailable` (HTTP 503) with a fixed message naming the service and RetryInfo,
  not gRPC's words, which name the service's address;
- the deadline passes: `deadline_exceeded` (HTTP 504), and the upstream call is cancelled with it;
- a message larger than a hop takes (a reply above `gateway_reply_max_bytes`, a request above the 8 MiB a
  service accepts, or above `gateway_read_max_bytes`, which connectrpc refuses: app.py): `failed_precondition`
  (HTTP 400) with ErrorInfo reason MESSAGE_TOO_LARGE and the limits, not RESOURCE_EXHAUSTED, whose HTTP 429
  tells a browser to retry what can never pass;
- the browser goes away: connectrpc cancels the handler, which cancels the upstream call;
- an Authorization header that gRPC metadata cannot carry (not printable ASCII, longer than
  AUTHORIZATION_MAX_CHARS) or more than one: `unauthenticated` (HTTP 401), without calling. Of the trace
  headers one traceparent and one tracestate go on (several tracestate headers joined, as W3C allows); a
  tracestate longer than TRACE_MAX_CHARS, or any that gRPC cannot carry, is dropped, and tracestate with it
  when traceparent is. (A header that is not UTF-8 at all, or plain gRPC, is refused before connectrpc reads
  the request: app.py.)

Each unary call is counted and timed as a service counts its own (`onepool_rpc_requests_total`,
`onepool_rpc_duration_seconds`, by method and gRPC code, on `ONEPOOL_METRICS_PORT`) and, when spans are
recorded, is a SERVER span of the gateway between the browser's trace and the service's span.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
from connectrpc.code import Code
from connectrpc.errors import ConnectError, ErrorDetail
from connectrpc.method import StreamType
from connectrpc.request import RequestContext
from connectrpc.server import Endpoint
from google.rpc import error_details_pb2, status_pb2
from onepool_runtime import grpc_errors, tracing
from onepool_runtime.clients import channel_credentials

from onepool_gateway import details
from onepool_gateway.routes import Route
from onepool_gateway.settings import GatewaySettings

# Request headers passed on as gRPC metadata. Nothing else: cookies, hosts and the like mean nothing to a
# service, and a header the caller invents must not turn into metadata a service might trust.
TRACE_HEADERS = ("traceparent", "tracestate")
FORWARDED_HEADERS = ("authorization", *TRACE_HEADERS)
# The services' gRPC servers take 8 KiB of metadata per call (gRPC's default soft limit; between it and the
# 16 KiB hard limit a call is refused at random, RESOURCE_EXHAUSTED listing every header). What is forwarded
# stays under it: a token of up to 4 KiB (OnePool's are under 1 KiB), the trace headers up to 512 characters
# each (W3C asks a vendor to pass tracestate on up to 512), and the protocol's own headers.
AUTHORIZATION_MAX_CHARS = 4096
TRACE_MAX_CHARS = 512
# grpc-timeout allows 99999999 hours; grpc.aio adds a timeout to the clock as an int64 of nanoseconds, which
# that overflows into a deadline already past. No call needs longer than this.
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600.0

# grpc.StatusCode -> Connect code. The names match but for one spelling (CANCELLED / canceled).
_CODES: dict[grpc.StatusCode, Code] = {
    status: Code.CANCELED if status is grpc.StatusCode.CANCELLED else Code[status.name]
    for status in grpc.StatusCode
    if status is not grpc.StatusCode.OK
}


# What the services' servers accept (server.py: grpc.max_receive_message_length): a larger request is refused
# here rather than sent. They send replies of any size; the gateway takes up to gateway_reply_max_bytes.
SERVICE_MAX_REQUEST_BYTES = 8 * 1024 * 1024
# gRPC's words (client or server side) when a message is over a max_*_message_length: RESOURCE_EXHAUSTED,
# like an overload, though retrying cannot help.
_TOO_LARGE = ("Received message larger than max", "Sent message larger than max")
MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"


def too_large(error: grpc.aio.AioRpcError) -> bool:
    return error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED and any(
        words in (error.details() or "") for words in _TOO_LARGE
    )


def message_too_large(cause: str, settings: GatewaySettings) -> ConnectError:
    """FAILED_PRECONDITION MESSAGE_TOO_LARGE with the limits a call must keep to; `cause` names the hop."""
    reply_max = settings.gateway_reply_max_bytes
    request_max = min(settings.gateway_read_max_bytes, SERVICE_MAX_REQUEST_BYTES)
    info = error_details_pb2.ErrorInfo(
        reason=MESSAGE_TOO_LARGE,
        domain="onepool",
        metadata={"reply_max_bytes": str(reply_max), "request_max_bytes": str(request_max)},
    )
    return ConnectError(
        Code.FAILED_PRECONDITION,
        f"a message of this call is too large to pass ({cause}; answers up to {reply_max} bytes, "
        f"requests up to {request_max}): ask for less per call (fewer SKUs, locations or lines)",
        [details.detail(info)],
    )


def _unreachable(service: str) -> ConnectError:
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.seconds = grpc_errors.RETRY_AFTER_SECONDS
    message = f"the {service} service cannot be reached now; retry"
    return ConnectError(Code.UNAVAILABLE, message, [details.detail(retry)])


def connect_error(error: grpc.aio.AioRpcError, service: str, settings: GatewaySettings) -> ConnectError:
    """The service's status as the Connect error the browser reads (details kept byte for byte, each with its
    JSON `debug` form: details.py); a message over a size limit is FAILED_PRECONDITION MESSAGE_TOO_LARGE, and
    an UNAVAILABLE of the channel's own a fixed message (module doc)."""
    if too_large(error):
        return message_too_large(error.details() or "", settings)
    found: list[ErrorDetail] = []
    trailers: Any = error.trailing_metadata() or ()  # grpc-stubs types it as one item, not a sequence
    for key, value in trailers:
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            found = [details.from_any(d.type_url, d.value) for d in status.details]
    if error.code() is grpc.StatusCode.UNAVAILABLE and not found:
        # A service's own UNAVAILABLE always carries RetryInfo (onepool_runtime.grpc_errors); one without
        # details is the channel's (refused, reset, DNS, TLS), whose words show the service's address.
        return _unreachable(service)
    return ConnectError(_CODES.get(error.code(), Code.UNKNOWN), error.details() or "", found)


class Upstreams:
    """One grpc.aio channel per service, opened on first use (inside the server's event loop) and closed by
    the application's shutdown."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, name: str) -> grpc.aio.Channel:
        channel = self._channels.get(name)
        if channel is None:
            target = getattr(self._settings, f"{name}_addr")
            credentials = channel_credentials(self._settings)
            options = [
                ("grpc.keepalive_time_ms", 30000),
                # gRPC's 4 MiB receive default refused a brand's GetAvailability for 500 SKUs (~5 MB over 200
                # stores) with RESOURCE_EXHAUSTED; services send any size (see SERVICE_MAX_REQUEST_BYTES).
                ("grpc.max_receive_message_length", self._settings.gateway_reply_max_bytes),
                ("grpc.max_send_message_length", SERVICE_MAX_REQUEST_BYTES),
            ]
            channel = (
                grpc.aio.secure_channel(target, credentials, options=options)
                if credentials is not None
                else grpc.aio.insecure_channel(target, options=options)
            )
            self._channels[name] = channel
        return channel

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close(None)


def _metadata_value(value: str) -> bool:
    """gRPC metadata carries printable ASCII only: anything else fails the upstream call before it starts."""
    return value.isascii() and value.isprintable()


def check_authorization(ctx: RequestContext) -> str:
    """The caller's Authorization header, if it can be a token at all: one header, `Bearer <token>`, printable
    ASCII, at most AUTHORIZATION_MAX_CHARS. Anything else is UNAUTHENTICATED, decided from the headers alone, so
    the door reads and decodes no body for a caller that could not be let in (app.DoorRefusals.on_start); the
    services judge the token itself."""
    authorization = ctx.request_headers.getall("authorization")
    if len(authorization) > 1:
        raise ConnectError(Code.UNAUTHENTICATED, "send one authorization header: Bearer <token>")
    if not authorization:
        raise ConnectError(Code.UNAUTHENTICATED, "missing bearer token: send authorization: Bearer <token>")
    (value,) = authorization
    if len(value) > AUTHORIZATION_MAX_CHARS:
        raise ConnectError(
            Code.UNAUTHENTICATED, f"the authorization header is longer than {AUTHORIZATION_MAX_CHARS} characters"
        )
    if not _metadata_value(value):
        raise ConnectError(Code.UNAUTHENTICATED, "the authorization header must be printable ASCII: Bearer <token>")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ConnectError(Code.UNAUTHENTICATED, "authorization must be 'Bearer <token>'")
    return value


def _metadata(ctx: RequestContext, *, traced: bool = False) -> tuple[tuple[str, str], ...]:
    """The caller's headers for upstream; `traced`: under the gateway's own span, whose trace context
    replaces the caller's (the service's span is then a child of the gateway's hop). An Authorization header
    gRPC cannot carry, or more than one (a service would take the last, the door may have checked another),
    is UNAUTHENTICATED (no token can be it); trace headers it cannot carry are dropped."""
    headers = ctx.request_headers
    authorization = check_authorization(ctx)
    trace = (
        list(tracing.trace_headers().items())
        if traced
        else [(name, value) for name in TRACE_HEADERS for value in headers.getall(name)]
    )
    return (("authorization", authorization), *_trace_context(trace))


def _trace_context(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One traceparent and one tracestate (W3C: tracestate may be split over several headers; without a
    usable traceparent it means nothing)."""
    parents = [value for name, value in headers if name == "traceparent"]
    if len(parents) != 1 or len(parents[0]) > TRACE_MAX_CHARS or not _metadata_value(parents[0]):
        return []
    state = ",".join(value for name, value in headers if name == "tracestate")
    if not state or len(state) > TRACE_MAX_CHARS or not _metadata_value(state):
        return [("traceparent", parents[0])]
    return [("traceparent", parents[0]), ("tracestate", state)]


def _timeout(ctx: RequestContext, default: float | None) -> float | None:
    left_ms = ctx.timeout_ms
    return default if left_ms is None else min(max(left_ms, 0.0) / 1000, MAX_TIMEOUT_SECONDS)


def _unary(route: Route, upstreams: Upstreams, settings: GatewaySettings) -> Callable[..., Awaitable[Any]]:
    output = route.method.output
    default_timeout = settings.gateway_default_timeout_seconds

    async def call(request: Any, ctx: RequestContext) -> Any:
        rpc = upstreams.channel(route.upstream).unary_unary(
            route.path, request_serializer=type(request).SerializeToString, response_deserializer=output.FromString
        )
        start, code = time.perf_counter(), grpc.StatusCode.OK
        with tracing.forwarding_span(route.path, ctx.request_headers) as span:
            try:
                metadata = _metadata(ctx, traced=span is not None)
                return await rpc(request, metadata=metadata, timeout=_timeout(ctx, default_timeout))
            except grpc.aio.AioRpcError as error:
                # Counted as answered: a message too large is FAILED_PRECONDITION, not an overload.
                code = grpc.StatusCode.FAILED_PRECONDITION if too_large(error) else error.code()
                raise connect_error(error, route.upstream, settings) from None
            except ConnectError:  # refused here, before the call (a header gRPC cannot carry)
                code = grpc.StatusCode.UNAUTHENTICATED
                raise
            except asyncio.CancelledError:  # the browser went away
                code = grpc.StatusCode.CANCELLED
                raise
            finally:
                if span is not None:
                    tracing.finish_span(span, code)
                grpc_errors.record(route.path, code, start)  # onepool_rpc_requests_total / _duration, as a service

    return call


def _server_stream(route: Route, upstreams: Upstreams, settings: GatewaySettings) -> Callable[..., AsyncIterator[Any]]:
    output = route.method.output

    async def call(request: Any, ctx: RequestContext) -> AsyncIterator[Any]:
        rpc = upstreams.channel(route.upstream).unary_stream(
            route.path, request_serializer=type(request).SerializeToString, response_deserializer=output.FromString
        )
        stream = rpc(request, metadata=_metadata(ctx), timeout=_timeout(ctx, None))
        try:
            async for message in stream:
                yield message
        except grpc.aio.AioRpcError as error:
            raise connect_error(error, route.upstream, settings) from None
        finally:
            stream.cancel()  # the browser left (or the stream ended): stop the upstream watch too

    return call


def endpoints(routes: list[Route], upstreams: Upstreams, settings: GatewaySettings) -> Mapping[str, Endpoint]:
    """Unary and server-streaming RPCs (all OnePool has); a client or bidi stream, which no browser
    transport can send, is left out and answers HTTP 404 like any unknown path."""
    result: dict[str, Endpoint] = {}
    for route in routes:
        if route.server_streaming:
            result[route.path] = Endpoint.server_stream(route.method, _server_stream(route, upstreams, settings))
        elif route.method.stream_type is StreamType.UNARY:
            result[route.path] = Endpoint.unary(route.method, _unary(route, upstreams, settings))
    return result
