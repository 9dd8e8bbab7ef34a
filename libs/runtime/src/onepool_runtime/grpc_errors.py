"""The one place domain errors become gRPC status codes (with google.rpc error details); the call pipeline
(pipeline.py) applies it to every call of a service's own methods.

Also owns request decoding (`decoder`): a malformed protobuf body is the caller's fault (INVALID_ARGUMENT), whereas
grpcio's default would report INTERNAL; a decoded request must then pass `request_checks` (text without
control characters and of bounded length, bounded repeats, timestamps in range) before its handler runs.
What an error carries is bounded (`to_status`), so a reply always fits a default client's metadata limit.
A failure of the infrastructure (database, NATS or a peer service unreachable or busy; see
`onepool_runtime.infra`) is UNAVAILABLE with google.rpc.RetryInfo: retrying with the same request id is safe
and ends with the right answer, because a use case's effect and its idempotency key commit in one
transaction. Anything else unexpected is logged with its trace and returned as a bare INTERNAL without
internals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from onepool_runtime import errors, infra, metrics
from onepool_runtime.request_checks import check_request

log = logging.getLogger(__name__)

_CODES: list[tuple[type[errors.DomainError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Conflict, grpc.StatusCode.ABORTED),
    (errors.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


# The google.rpc details `to_status` attaches, which a client of another service reads back (`peer_details`).
_DETAIL_KINDS = (
    error_details_pb2.BadRequest,
    error_details_pb2.ErrorInfo,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.ResourceInfo,
)


def peer_details(error: grpc.aio.AioRpcError) -> list[Any]:
    """The google.rpc details (BadRequest, ErrorInfo, PreconditionFailure, ResourceInfo) of a peer service's
    error status, in order; none when it sent no rich status. A client turns them back into the domain error
    the peer raised, so its own caller learns the same fields and reasons."""
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            out = []
            for detail in status_pb2.Status.FromString(value).details:
                for kind in _DETAIL_KINDS:
                    if detail.Is(kind.DESCRIPTOR):
                        message = kind()
                        detail.Unpack(message)
                        out.append(message)
            return out
    return []


def status_code_for(exc: errors.DomainError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return grpc.StatusCode.UNKNOWN


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# What an error may carry. Trailers beyond the client's metadata limit (8 KiB by default) turn a clear
# INVALID_ARGUMENT into RESOURCE_EXHAUSTED, so every part is bounded whatever the request held: the message
# (sent twice: grpc-message, percent-encoded, and inside the status) and the details (base64-encoded).
MAX_MESSAGE_BYTES = 256
MAX_ITEMS = 20  # violations / shortages listed; one more entry says how many were left out
MAX_ITEM_TEXT_BYTES = 160
DETAILS_BUDGET_BYTES = 2048


def clip(text: str, limit: int = MAX_ITEM_TEXT_BYTES) -> str:
    """At most `limit` UTF-8 bytes, cut on a character boundary and marked with an ellipsis."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "\u2026"


def _bounded(items: list[Any], size: Callable[[Any], int]) -> tuple[list[Any], int]:
    """The first items that fit both MAX_ITEMS and the byte budget, and how many were left out."""
    shown: list[Any] = []
    used = 0
    for item in items[:MAX_ITEMS]:
        used += size(item)
        if used > DETAILS_BUDGET_BYTES:
            break
        shown.append(item)
    return shown, len(items) - len(shown)


def _bad_request(exc: errors.InvalidArgument) -> tuple[str, any_pb2.Any]:
    violations = [
        error_details_pb2.BadRequest.FieldViolation(field=clip(v.field), description=clip(v.description))
        for v in exc.violations
    ]
    shown, more = _bounded(violations, lambda v: v.ByteSize() + 4)
    summary = "; ".join(f"{v.field}: {v.description}" for v in shown)
    if more:
        shown.append(
            error_details_pb2.BadRequest.FieldViolation(
                field="request", description=f"{more} more violations not listed"
            )
        )
        summary += f"; and {more} more"
    return f"invalid argument: {summary}", _pack(error_details_pb2.BadRequest(field_violations=shown))


def _shortages(exc: errors.InsufficientStock) -> any_pb2.Any:
    violations = [
        error_details_pb2.PreconditionFailure.Violation(
            type="STOCK", subject=clip(s.sku), description=f"requested {s.requested}, available {s.available}"
        )
        for s in exc.shortages
    ]
    shown, more = _bounded(violations, lambda v: v.ByteSize() + 4)
    if more:
        shown.append(
            error_details_pb2.PreconditionFailure.Violation(
                type="STOCK", subject="", description=f"{more} more shortages not listed"
            )
        )
    return _pack(error_details_pb2.PreconditionFailure(violations=shown))


def to_status(exc: errors.DomainError) -> grpc.Status:
    code = status_code_for(exc)
    message = exc.message
    details: list[any_pb2.Any] = []
    if isinstance(exc, errors.InvalidArgument):
        message, bad_request = _bad_request(exc)
        details.append(bad_request)
        if exc.reason:
            details.append(_pack(error_details_pb2.ErrorInfo(reason=clip(exc.reason), domain="onepool")))
    elif isinstance(exc, errors.FailedPrecondition):
        metadata = {clip(k, 64): clip(v) for k, v in list(exc.metadata.items())[:MAX_ITEMS]}
        details.append(_pack(error_details_pb2.ErrorInfo(reason=clip(exc.reason), domain="onepool", metadata=metadata)))
        if isinstance(exc, errors.InsufficientStock):
            details.append(_shortages(exc))
    elif isinstance(exc, errors.NotFound):
        details.append(
            _pack(error_details_pb2.ResourceInfo(resource_type=clip(exc.kind), resource_name=clip(exc.ident)))
        )
    elif isinstance(exc, errors.AlreadyExists):
        info = error_details_pb2.ResourceInfo(
            resource_type=clip(exc.kind), resource_name=clip(exc.ident), description=clip(exc.description)
        )
        details.append(_pack(info))
        if exc.reason:
            metadata = {clip(k, 64): clip(v) for k, v in list(exc.metadata.items())[:MAX_ITEMS]}
            details.append(
                _pack(error_details_pb2.ErrorInfo(reason=clip(exc.reason), domain="onepool", metadata=metadata))
            )
    status = status_pb2.Status(code=code.value[0], message=clip(message, MAX_MESSAGE_BYTES), details=details)
    return rpc_status.to_status(status)


def _internal() -> grpc.Status:
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="internal error"))


RETRY_AFTER_SECONDS = 1


def _unavailable(message: str) -> grpc.Status:
    """UNAVAILABLE with google.rpc.RetryInfo: how long a client should wait before the same call again."""
    retry = error_details_pb2.RetryInfo()
    retry.retry_delay.seconds = RETRY_AFTER_SECONDS
    status = status_pb2.Status(code=code_pb2.UNAVAILABLE, message=message, details=[_pack(retry)])
    return rpc_status.to_status(status)


def _refused(exc: errors.DomainError) -> grpc.Status:
    # A peer that could not be reached (errors.Unavailable) carries the same retry advice as an outage here.
    return _unavailable(exc.message) if isinstance(exc, errors.Unavailable) else to_status(exc)


def _unexpected(method: str, exc: Exception) -> tuple[grpc.StatusCode, grpc.Status]:
    """An exception that is not a domain error: the infrastructure's (UNAVAILABLE) or a bug (INTERNAL)."""
    if infra.is_infrastructure(exc):
        log.warning("%s: infrastructure unavailable: %r", method, exc)
        message = f"temporarily unavailable: {infra.dependency(exc)}; retry with the same request id"
        return grpc.StatusCode.UNAVAILABLE, _unavailable(message)
    log.error("unhandled error in %s", method, exc_info=exc)
    return grpc.StatusCode.INTERNAL, _internal()


def decoder(decode: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """Bytes -> a checked request: malformed bytes and `request_checks` violations raise InvalidArgument."""

    def parse(raw: bytes) -> Any:
        if decode is None:
            return raw
        try:
            request = decode(raw)
        except (DecodeError, ValueError) as exc:
            raise errors.InvalidArgument("request", f"malformed request message: {exc}") from exc
        check_request(request)
        return request

    return parse


def refusal(method: str, exc: Exception) -> tuple[grpc.StatusCode, grpc.Status]:
    """The code and status a call that raised `exc` is answered with (logged here)."""
    if isinstance(exc, errors.DomainError):
        code = status_code_for(exc)
        log.info("%s refused: %s %s", method, code.name, clip(exc.message, 1024))
        return code, _refused(exc)
    return _unexpected(method, exc)


_ATTRIBUTES: dict[tuple[str, grpc.StatusCode], dict[str, str]] = {}


def record(method: str, code: grpc.StatusCode, start: float) -> None:
    """Count the call and its latency (the attribute sets are built once per method and code)."""
    attrs = _ATTRIBUTES.get((method, code))
    if attrs is None:
        attrs = _ATTRIBUTES[(method, code)] = {"rpc.method": method, "rpc.grpc.status_code": code.name}
    metrics.rpc_requests.add(1, attrs)
    metrics.rpc_duration.record(time.perf_counter() - start, attrs)
