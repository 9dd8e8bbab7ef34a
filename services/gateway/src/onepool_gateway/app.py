"""The gateway's ASGI application:

    /healthz                      200 "ok" (liveness and readiness: the gateway holds no state of its own)
    /portal/                      the reference dealer portal (static files, calling the API below)
    /<package>.<Service>/<Method> every RPC of the five services, Connect protocol (JSON and binary) and
                                  gRPC-Web, served by connectrpc and forwarded by forward.py

CORS (Starlette's middleware) answers browsers from `gateway_cors_origins` only: a preflight from any other
origin is refused (HTTP 400) and no response carries an Access-Control-Allow-Origin for it. A preflight naming a
request header that is neither a protocol header (ALLOWED_HEADERS) nor one of `gateway_cors_headers` is refused
too. The portal is same-origin and needs none.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from connectrpc.compat import google_protobuf_codecs
from connectrpc.server import ConnectASGIApplication
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from onepool_gateway import forward, routes
from onepool_gateway.settings import GatewaySettings

PORTAL = Path(__file__).parent / "portal"

# What a Connect or gRPC-Web browser client sends and must be allowed to read (connectrpc.com/docs/cors; the
# request headers are connect-es's `cors.allowedHeaders`), plus the headers the gateway forwards.
ALLOWED_HEADERS = [
    "authorization",
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "connect-content-encoding",
    "connect-accept-encoding",
    "content-encoding",
    "accept-encoding",
    "grpc-timeout",
    "grpc-message-type",
    "x-grpc-web",
    "x-user-agent",
    "traceparent",
    "tracestate",
]
EXPOSED_HEADERS = [
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "content-encoding",
    "connect-content-encoding",
]


class RefuseUnreadableRequests:
    """Answers, before connectrpc reads them, the requests it would answer with an internal error: a header
    that is not UTF-8 (connectrpc decodes every header; a browser sends Latin-1 as it is) is a client error,
    and plain gRPC (HTTP/2 with trailers, which this HTTP/1.1 door cannot send) belongs on the services' own
    ports."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _refusal(scope["headers"])
            if refusal is not None:
                status, message = refusal
                await JSONResponse({"code": "invalid_argument", "message": message}, status_code=status)(
                    scope, receive, send
                )
                return
        await self.app(scope, receive, send)


def _refusal(headers: list[tuple[bytes, bytes]]) -> tuple[int, str] | None:
    for name, value in headers:
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            return 400, f"header {name.decode('latin-1')!r} is not UTF-8 text"
        if (
            name == b"content-type"
            and value.startswith(b"application/grpc")
            and not value.startswith(b"application/grpc-web")
        ):
            return 415, "plain gRPC goes to the services' own ports; this door speaks Connect and gRPC-Web"
    return None


class OnePoolConnect(ConnectASGIApplication[forward.Upstreams]):
    """connectrpc's ASGI application over routes read from the descriptors, rather than over one generated
    service class: one application serves every path in `endpoints`, whatever service it belongs to."""

    @property
    def path(self) -> str:
        return "/"


def create_app(settings: GatewaySettings) -> Starlette:
    upstreams = forward.Upstreams(settings)
    table = forward.endpoints(routes.routes(settings), upstreams, settings)

    def resolve(_: forward.Upstreams) -> Mapping[str, Any]:
        return table

    connect = OnePoolConnect(
        service=upstreams,
        endpoints=resolve,
        # google.protobuf messages (the generated contracts) rather than connectrpc's own protobuf runtime.
        codecs=google_protobuf_codecs(),
        read_max_bytes=settings.gateway_read_max_bytes,
    )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def to_portal(_: Request) -> Response:
        return RedirectResponse("/portal/")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await upstreams.close()

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", to_portal, methods=["GET"]),
            Route("/portal", to_portal, methods=["GET"]),
            Mount("/portal", app=StaticFiles(directory=PORTAL, html=True), name="portal"),
            Mount("/", app=RefuseUnreadableRequests(connect)),
        ],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[*ALLOWED_HEADERS, *settings.cors_headers],
                expose_headers=EXPOSED_HEADERS,
                max_age=7200,
            )
        ],
        lifespan=lifespan,
    )
