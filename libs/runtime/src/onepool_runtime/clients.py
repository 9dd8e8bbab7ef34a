"""gRPC client channels for service-to-service calls: a `service` token, trace propagation, optional TLS, and
the deadline of the call being served: a call made while serving another never outlives its caller's."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from onepool_runtime import tracing
from onepool_runtime.admission import remaining_time
from onepool_runtime.auth import mint_token
from onepool_runtime.settings import ServiceSettings


class _OutgoingCall(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Everything an outgoing call carries, in one interceptor (grpc.aio runs each interceptor layer as its
    own step of every call, so one layer is cheaper than three):

    - `authorization: Bearer <token>`, re-minted well before it expires;
    - the current trace context (`traceparent`), inside a CLIENT span when spans are recorded;
    - timeout = min(the call's own, what is left of the server call being handled). Work for a caller that
      has given up is waste, and under overload it is what keeps the queue long.
    """

    def __init__(self, make_token: Callable[[], str], ttl_seconds: int) -> None:
        self._make = make_token
        self._ttl = ttl_seconds
        self._token = ""
        self._expires = 0.0

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        now = time.monotonic()
        if now > self._expires:
            self._token = self._make()
            self._expires = now + self._ttl / 2
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add("authorization", f"Bearer {self._token}")
        tracing.inject(metadata)
        timeout = details.timeout
        left = remaining_time()
        if left is not None:  # None: not serving a call (a background loop, a consumer) or no deadline
            timeout = max(0.0, left if timeout is None else min(timeout, left))
        return grpc.aio.ClientCallDetails(
            details.method, timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        with tracing.client_span(details.method) as span:
            call = await continuation(self._details(details), request)
            if span is not None:
                tracing.finish_span(span, await call.code())  # waits for the answer; never raises
            return call

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


def channel_credentials(settings: ServiceSettings) -> grpc.ChannelCredentials | None:
    if not settings.tls_ca_file:
        return None
    key = Path(settings.tls_key_file).read_bytes() if settings.tls_key_file else None
    cert = Path(settings.tls_cert_file).read_bytes() if settings.tls_cert_file else None
    return grpc.ssl_channel_credentials(
        root_certificates=Path(settings.tls_ca_file).read_bytes(), private_key=key, certificate_chain=cert
    )


# The largest reply a service takes from another (see service_channel).
REPLY_MAX_BYTES = 64 * 1024 * 1024


def service_channel(target: str, settings: ServiceSettings, *, role: str = "service") -> grpc.aio.Channel:
    ttl = 3600
    interceptors: list[Any] = [
        _OutgoingCall(
            lambda: mint_token(settings, role, subject=f"service:{settings.service_name}", ttl_seconds=ttl), ttl
        )
    ]
    # round_robin: a target that names several replicas (`ipv4:a,b`, or `dns:///` a headless Service) spreads
    # calls over all of them and skips one that is down; pick_first would send everything to the first.
    options = [
        ("grpc.keepalive_time_ms", 30000),
        ("grpc.enable_retries", 1),
        ("grpc.lb_policy_name", settings.grpc_lb_policy),
        # Servers send replies of any size (a brand's 500-SKU GetAvailability over a few hundred stores passes
        # gRPC's 4 MiB default); a caller refusing them would fail every retry alike. The web door's bound.
        ("grpc.max_receive_message_length", REPLY_MAX_BYTES),
    ]
    creds = channel_credentials(settings)
    if creds is not None:
        return grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
