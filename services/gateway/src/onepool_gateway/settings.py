from __future__ import annotations

from onepool_runtime.settings import ServiceSettings
from pydantic import Field


class GatewaySettings(ServiceSettings):
    """The gateway reads the shared settings for where the services are (`*_addr`), upstream TLS and logging;
    it opens no database and no NATS connection."""

    service_name: str = "gateway"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    # Browser origins allowed to call the API from another site, comma-separated
    # (e.g. "https://shop.example.com,http://localhost:5173"). Empty: same-origin only (the portal).
    gateway_cors_origins: str = ""
    # Request headers those origins' pages may send beyond the ones every Connect or gRPC-Web client needs
    # (app.ALLOWED_HEADERS, always allowed), comma-separated: a storefront whose error tracker adds
    # "sentry-trace,baggage" fails its preflight unless they are listed. "*" allows any. The gateway still
    # forwards none of them (forward.py passes on Authorization and trace context only).
    gateway_cors_headers: str = ""
    # A unary call without Connect-Timeout-Ms / grpc-timeout gets this deadline upstream, so a browser that
    # went away never leaves work running for ever. Streams (WatchChannelStock) have none unless asked.
    gateway_default_timeout_seconds: float = Field(default=30.0, gt=0)
    # Largest request message accepted (bytes).
    gateway_read_max_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    # Largest reply taken from a service (bytes; one message of a stream). Services send any size: a brand's
    # GetAvailability for 500 SKUs is ~5 MB over 200 stores. A larger reply is FAILED_PRECONDITION
    # MESSAGE_TOO_LARGE (forward.py). The reply is held, and written as JSON, in memory: writing one peaks at
    # some 42 times its size (a 3 MB reply took ~126 MB), so the pod's memory limit (deploy/base/gateway.yaml)
    # is sized for two replies of this size at once (docs/gateway.md "Message sizes").
    gateway_reply_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    @property
    def metrics_host(self) -> str:
        return self.gateway_host  # it serves HTTP there, and no gRPC

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.gateway_cors_origins.split(",") if o.strip()]

    @property
    def cors_headers(self) -> list[str]:
        return [h.strip().lower() for h in self.gateway_cors_headers.split(",") if h.strip()]
