"""What forward.py passes on and how it words an upstream failure, without a network: the trace headers (one
of each, bounded), the deadline (clamped), and an UNAVAILABLE of the channel's own told from a service's."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
from connectrpc.code import Code
from google.rpc import code_pb2, error_details_pb2, status_pb2
from onepool_gateway import forward
from onepool_gateway.settings import GatewaySettings

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_one_traceparent_and_one_tracestate_go_on() -> None:
    trace = forward._trace_context
    assert trace([("traceparent", PARENT), ("tracestate", "a=1"), ("tracestate", "b=2")]) == [
        ("traceparent", PARENT),
        ("tracestate", "a=1,b=2"),  # W3C: one list split over several headers
    ]
    # Two traceparents are no trace context (W3C): neither goes on, nor tracestate without one.
    assert trace([("traceparent", PARENT), ("traceparent", PARENT), ("tracestate", "a=1")]) == []
    assert trace([("tracestate", "a=1")]) == []
    # A tracestate over 512 characters is dropped; the traceparent still goes on.
    assert trace([("traceparent", PARENT), ("tracestate", "k=" + "a" * 511)]) == [("traceparent", PARENT)]
    assert trace([("traceparent", PARENT), ("tracestate", "k=" + "a" * 510)])[1] == ("tracestate", "k=" + "a" * 510)
    assert trace([("traceparent", "0" * 513)]) == []


def test_a_deadline_past_what_grpc_can_add_to_its_clock_is_clamped_to_a_year() -> None:
    def timeout(ms: float | None) -> float | None:
        return forward._timeout(SimpleNamespace(timeout_ms=ms), 30.0)  # type: ignore[arg-type]

    assert timeout(99_999_999 * 3_600_000) == 365 * 24 * 3600
    assert timeout(1500) == 1.5
    assert timeout(None) == 30.0


def _failure(code: grpc.StatusCode, details: str, status: status_pb2.Status | None = None) -> grpc.aio.AioRpcError:
    trailers = grpc.aio.Metadata()
    if status is not None:
        trailers.add("grpc-status-details-bin", status.SerializeToString())
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers, details)


def test_the_channels_own_unavailable_names_the_service_and_not_its_address() -> None:
    raw = "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.0.3.7:50052: Connection refused"
    error = forward.connect_error(_failure(grpc.StatusCode.UNAVAILABLE, raw), "inventory", GatewaySettings())
    assert error.code is Code.UNAVAILABLE
    assert "inventory service" in error.message and "10.0.3.7" not in error.message
    assert [d.type_name for d in error.details] == ["google.rpc.RetryInfo"]


def test_a_services_own_unavailable_is_passed_on_as_it_is() -> None:
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.seconds = 1
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message="temporarily unavailable: database")
    status.details.add().Pack(retry)
    failure = _failure(grpc.StatusCode.UNAVAILABLE, status.message, status)
    error = forward.connect_error(failure, "inventory", GatewaySettings())
    assert (error.code, error.message) == (Code.UNAVAILABLE, "temporarily unavailable: database")
    assert [d.type_name for d in error.details] == ["google.rpc.RetryInfo"]
