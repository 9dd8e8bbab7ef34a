"""gRPC client channels for service-to-service calls: a `service` token, trace propagation, optional TLS, and
the deadline of the call being served: a call made while serving another never outlives its caller's."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from onepool_runtime.admission import remaining_time
from onepool_runtime.auth import mint_token
from onepool_runtime.settings import ServiceSettings


class _BearerToken(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Adds `authorization: Bearer <token>`, re-minting the token well before it expires."""

    def __init__(self, make_token: Callable[[], str], ttl_seconds: int) -> None:
        self._make = make_token
        self._ttl = ttl_seconds
        self._token = ""
        self._expires = 0.0

    def _metadata(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        now = time.monotonic()
        if now > self._expires:
            self._token = self._make()
            self._expires = now + self._ttl / 2
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add("authorization", f"Bearer {self._token}")
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._metadata(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._metadata(details), request)


class _PropagatedDeadline(grpc.aio.UnaryUnaryClientInterceptor, grpc.aio.UnaryStreamClientInterceptor):
    """Timeout = min(the call's own, what is left of the server call being handled). Work for a caller that
    has given up is waste, and under overload it is what keeps the queue long."""

    @staticmethod
    def _details(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        left = remaining_time()
        if left is None:
            return details  # not serving a call (a background loop, a consumer) or the caller set no deadline
        timeout = max(0.0, left if details.timeout is None else min(details.timeout, left))
        return grpc.aio.ClientCallDetails(
            details.method, timeout, details.metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

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


def service_channel(target: str, settings: ServiceSettings, *, role: str = "service") -> grpc.aio.Channel:
    ttl = 3600
    interceptors: list[Any] = [
        *aio_client_interceptors(),
        _BearerToken(
            lambda: mint_token(settings, role, subject=f"service:{settings.service_name}", ttl_seconds=ttl), ttl
        ),
        _PropagatedDeadline(),
    ]
    options = [("grpc.keepalive_time_ms", 30000), ("grpc.enable_retries", 1)]
    creds = channel_credentials(settings)
    if creds is not None:
        return grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
