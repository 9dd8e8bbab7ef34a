"""Trace context for gRPC calls: spans where they pay, propagation always.

What the generic OpenTelemetry gRPC instrumentation does on every call (a proxy around the servicer context,
peer parsing, a span even when nothing records it) cost inventory a third of its CPU on a one-row read. This
does the part OnePool needs:

- `server_scope` (entered by the call pipeline, pipeline.py, around each call of a service's own methods):
  takes the caller's `traceparent` from the metadata and makes it the current context while the handler
  runs, so log lines carry the trace id and every call, outbox event and NATS message made meanwhile
  carries the trace on. When an SDK TracerProvider is installed (an exporter is
  configured, or a test records spans) it also records a SERVER span named after the method, with its status
  code. A call without `traceparent` into a process that records nothing costs nothing (a shared no-op
  context manager). Health checks and reflection are never traced (the pipeline never wraps them).
- `inject`/`client_span` for outgoing calls (`clients.service_channel`): the current trace context goes into
  the metadata; a CLIENT span is recorded only when spans are recorded.
- `forwarding_span` for the gateway, which forwards a browser's call: its SERVER span joins the browser's
  trace and becomes the parent of the service's span, when spans are recorded.

Failure modes: a malformed `traceparent` is ignored (the call starts no trace), as the W3C propagator does.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.environment_variables import OTEL_PYTHON_TRACER_PROVIDER
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("onepool.grpc")
# Server-side codes that mean the server failed (OpenTelemetry's semantic conventions); the rest are the
# caller's doing and leave the span's status unset.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


# While no provider is set, `trace.get_tracer_provider()` looks OTEL_PYTHON_TRACER_PROVIDER up in os.environ on
# every call (a KeyError raised and caught: ~1 µs, the costliest step of a call that records nothing). The
# environment names a provider at start-up or never; the global it fills is read directly (set once).
_PROVIDER_FROM_ENV = OTEL_PYTHON_TRACER_PROVIDER in os.environ
_UNKNOWN = object()


def recording() -> bool:
    """True when spans are recorded: an SDK TracerProvider is installed (telemetry.configure_telemetry
    installs one only with an exporter; a test may install its own)."""
    if getattr(trace, "_TRACER_PROVIDER", _UNKNOWN) is None and not _PROVIDER_FROM_ENV:
        return False  # nothing set: get_tracer_provider() would answer its no-op proxy
    return isinstance(trace.get_tracer_provider(), TracerProvider)


class _MetadataGetter(Getter[Sequence[tuple[str, Any]]]):
    def get(self, carrier: Sequence[tuple[str, Any]], key: str) -> list[str] | None:
        values = [str(v) for k, v in carrier if k == key]
        return values or None

    def keys(self, carrier: Sequence[tuple[str, Any]]) -> list[str]:
        return [k for k, _ in carrier]


_getter = _MetadataGetter()


def _attributes(method: str) -> dict[str, str]:
    service, _, name = method.lstrip("/").partition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def _finish(span: trace.Span, code: grpc.StatusCode | None) -> None:
    code = code or grpc.StatusCode.OK
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code in _SERVER_ERRORS:
        span.set_status(Status(StatusCode.ERROR, code.name))


@contextlib.contextmanager
def _server_span(method: str, parent: otel_context.Context, context: Any) -> Iterator[None]:
    if not recording():  # pass the caller's context on; nothing to record
        token = otel_context.attach(parent)
        try:
            yield
        finally:
            otel_context.detach(token)
        return
    with _tracer.start_as_current_span(
        method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes=_attributes(method),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield
        finally:
            _finish(span, context.code())


_NOTHING = contextlib.nullcontext()


def server_scope(
    method: str, metadata: Sequence[tuple[str, Any]], context: Any
) -> contextlib.AbstractContextManager[Any]:
    """What to enter around a server call: the caller's trace context (and a SERVER span when spans are
    recorded), or a shared no-op when there is neither a `traceparent` nor anything recording."""
    if not recording() and not any(k == "traceparent" for k, _ in metadata):
        return _NOTHING
    return _server_span(method, propagate.extract(metadata, getter=_getter), context)


def inject(metadata: grpc.aio.Metadata) -> None:
    """Put the current trace context (if any) into an outgoing call's metadata."""
    propagate.inject(metadata)


@contextlib.contextmanager
def client_span(method: bytes | str) -> Iterator[trace.Span | None]:
    """A CLIENT span around an outgoing call when spans are recorded (None otherwise); `inject` inside it."""
    if not recording():
        yield None
        return
    name = method.decode() if isinstance(method, bytes) else method
    with _tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=_attributes(name), record_exception=False
    ) as span:
        yield span


def trace_headers() -> dict[str, str]:
    """The current trace context as headers (`traceparent`, `tracestate`): what a forwarded call carries on."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def finish_span(span: trace.Span, code: grpc.StatusCode) -> None:
    """Record the call's status code on a span of `client_span` or `forwarding_span`."""
    _finish(span, code)


@contextlib.contextmanager
def forwarding_span(method: str, headers: Mapping[str, str]) -> Iterator[trace.Span | None]:
    """For a proxy (the gateway): a SERVER span of `method` under the caller's trace (its `traceparent`
    header), current while the call is forwarded, so `inject` passes the proxy's hop on; None and nothing
    entered when spans are not recorded (the caller's headers then go on as they are)."""
    if not recording():
        yield None
        return
    with _tracer.start_as_current_span(
        method,
        context=propagate.extract(headers),
        kind=SpanKind.SERVER,
        attributes=_attributes(method),
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span
