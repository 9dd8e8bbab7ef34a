"""The call pipeline: admission, trace context, auth, decoding and request checks, error mapping and metrics
folded into ONE wrapper per RPC method, built once when the service registers its handlers.

Why not grpc.aio server interceptors (what this replaced): grpc.aio awaits every interceptor on every call,
health checks included, and each interceptor that acts builds a closure and an RpcMethodHandler per call;
four of them cost a health check more than the whole bare server does. Here the service's own handlers are
wrapped at registration (`Registrar`, handed to the service's `register` in place of the server), the server
has no interceptors, and grpc.aio resolves a method with one dict lookup. Reflection is registered on the
server itself, unwrapped. Health is only counted (`Metered`): no admission, auth or decoding, so a saturated
service still answers its probes, and an operator still sees the checks in the metrics.

Each call of a service method, in this order (the interceptors' order, unchanged):
1. admission (`admission.Admission`): a refused call is answered RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED and
   costs nothing else;
2. trace context (`tracing.server_scope`): the caller's `traceparent`, and a SERVER span when spans are
   recorded; nothing at all otherwise;
3. auth (`auth.Authorizer`): the bearer token (cached verification) and the role table; the principal
   becomes the call's (`auth.current_principal`);
4. decoding and `request_checks` (`grpc_errors.decoder`): malformed bytes are INVALID_ARGUMENT;
5. the servicer; a domain error, an infrastructure failure or a bug becomes its status
   (`grpc_errors.refusal`), and every call is counted (`grpc_errors.record`).

Failure modes: none of its own; a call's refusal is always a gRPC status, never an exception out of grpc.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc

from onepool_runtime import tracing
from onepool_runtime.admission import Admission
from onepool_runtime.auth import Authorizer
from onepool_runtime.grpc_errors import decoder, record, refusal

_OK = grpc.StatusCode.OK


class CallPipeline:
    """`coalesced`: full method names whose handlers only hand their work to a batching worker and wait for
    its answer (inventory's Reserve). Such a call passes admission like any other (deadline, queue, shedding
    when the service is saturated) but gives its slot back at once: the slots are sized to the database pool,
    and a call waiting for its batch holds no connection (the batch's worker does). Holding slots while
    waiting capped a batch at the slot count and left no one to form the next batch while one committed.
    Instead it then takes a slot of the `batched` gate, held until answered and refused at once when none is
    free: without it, a flood of Reserves all waited in the batch queue, unbounded, behind a slow batch."""

    def __init__(self, admission: Admission, authorizer: Authorizer, coalesced: frozenset[str] = frozenset()) -> None:
        self._admission = admission
        self._auth = authorizer
        self._coalesced = coalesced

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        """`handler` with the whole pipeline around it (client streams, which OnePool has none of, as they are)."""
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary, decoder(handler.request_deserializer)),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream, decoder(handler.request_deserializer)),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _unary(self, method: str, inner: Any, parse: Callable[[bytes], Any]) -> Any:
        enter, gate, auth = self._admission.enter, self._admission.unary, self._auth
        scope, perf_counter = tracing.server_scope, time.perf_counter
        held = self._admission.batched if method in self._coalesced else gate

        async def unary(raw: bytes, context: Any) -> Any:
            start = perf_counter()
            await enter(gate, method, context)
            if held is not gate:
                gate.release()
                await enter(held, method, context)
            code = _OK
            try:
                metadata = context.invocation_metadata()
                with scope(method, metadata, context):
                    try:
                        if auth.enabled:
                            auth.enter(await auth.authorize(method, metadata))
                        return await inner(parse(raw), context)
                    except grpc.aio.AbortError:
                        code = context.code() or grpc.StatusCode.UNKNOWN
                        raise
                    except Exception as exc:
                        code, status = refusal(method, exc)
                        await context.abort_with_status(status)
            finally:
                held.release()
                record(method, code, start)

        return unary

    def _stream(self, method: str, inner: Any, parse: Callable[[bytes], Any]) -> Any:
        enter, gate, auth = self._admission.enter, self._admission.streams, self._auth

        async def stream(raw: bytes, context: Any) -> AsyncIterator[Any]:
            start = time.perf_counter()
            await enter(gate, method, context)
            code = _OK
            try:
                metadata = context.invocation_metadata()
                with tracing.server_scope(method, metadata, context):
                    try:
                        if auth.enabled:
                            auth.enter(await auth.authorize(method, metadata))
                        async for item in inner(parse(raw), context):
                            yield item
                    except grpc.aio.AbortError:
                        code = context.code() or grpc.StatusCode.UNKNOWN
                        raise
                    except Exception as exc:
                        code, status = refusal(method, exc)
                        await context.abort_with_status(status)
            finally:
                gate.release()
                record(method, code, start)

        return stream


class Metered:
    """Only counting (`grpc_errors.record`), for health checks: they skip admission, auth and decoding, yet
    an operator still sees them in `onepool_rpc_requests_total`. One coroutine of ours per call, nothing else."""

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if handler.unary_unary is None:
            return handler  # Watch streams live long; a count per stream says nothing
        inner = handler.unary_unary
        perf_counter = time.perf_counter

        async def unary(request: Any, context: Any) -> Any:
            start = perf_counter()
            try:
                return await inner(request, context)
            finally:
                record(method, context.code() or _OK, start)

        return grpc.unary_unary_rpc_method_handler(
            unary,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class _WrappedGeneric(grpc.GenericRpcHandler):
    """A service's generic handler (grpc's fallback to its registered handlers), wrapped once per method."""

    def __init__(self, inner: grpc.GenericRpcHandler, pipeline: CallPipeline | Metered) -> None:
        self._inner = inner
        self._pipeline = pipeline
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        method = handler_call_details.method
        if method in self._wrapped:
            return self._wrapped[method]
        handler = self._inner.service(handler_call_details)
        if handler is None:
            return None  # not cached: callers choose method names, the cache must stay bounded
        wrapped = self._wrapped[method] = self._pipeline.wrap(method, handler)
        return wrapped


class Registrar:
    """What a service's `register` gets instead of the server: the handlers it adds are wrapped in the
    pipeline; everything else goes to the server."""

    def __init__(self, server: grpc.aio.Server, pipeline: CallPipeline | Metered) -> None:
        self._server = server
        self._pipeline = pipeline

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers([_WrappedGeneric(h, self._pipeline) for h in handlers])

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self._server.add_registered_method_handlers(  # type: ignore[attr-defined]  # grpc.aio.Server has it
            service, {name: self._pipeline.wrap(f"/{service}/{name}", h) for name, h in handlers.items()}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)
