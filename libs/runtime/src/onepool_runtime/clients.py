"""gRPC client channels for service-to-service calls: a `service` token, trace propagation, optional TLS."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

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
    ]
    options = [("grpc.keepalive_time_ms", 30000), ("grpc.enable_retries", 1)]
    creds = channel_credentials(settings)
    if creds is not None:
        return grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
