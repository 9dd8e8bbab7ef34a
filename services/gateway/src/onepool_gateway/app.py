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
import json
import struct
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from connectrpc.code import Code
from connectrpc.compat import google_protobuf_binary_codec
from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
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
from onepool_gateway.jsoncodec import StrictJsonCodec
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
    ports. Each in the shape the caller's protocol reads: a gRPC-Web or Connect streaming client takes any
    HTTP status but 200 for INTERNAL, whatever the body says."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = _refusal(scope["headers"])
            if refusal is not None:
                status, message = refusal
                content_type = dict(scope["headers"]).get(b"content-type", b"")
                if content_type.startswith(b"application/grpc-web"):
                    response = _grpc_web_refusal(message)
                elif content_type.startswith(b"application/connect+"):
                    response = _connect_stream_refusal(content_type, message)
                else:
                    response = JSONResponse({"code": "invalid_argument", "message": message}, status_code=status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _grpc_web_refusal(message: str) -> Response:
    """gRPC-Web's trailers-only answer: HTTP 200, grpc-status 3 (INVALID_ARGUMENT) and the message
    percent-encoded as gRPC's grammar asks (printable ASCII but '%' as is)."""
    encoded = "".join(c if " " <= c <= "~" and c != "%" else quote(c, safe="") for c in message)
    headers = {"grpc-status": "3", "grpc-message": encoded}  # INVALID_ARGUMENT
    return Response(b"", status_code=200, headers=headers, media_type="application/grpc-web+proto")


def _connect_stream_refusal(content_type: bytes, message: str) -> Response:
    """Connect streaming's answer: HTTP 200 and the error in the end-of-stream frame (flags 2, JSON)."""
    end = json.dumps({"error": {"code": "invalid_argument", "message": message}}).encode()
    json_codec = content_type.startswith(b"application/connect+json")
    media_type = "application/connect+json" if json_codec else "application/connect+proto"
    return Response(struct.pack(">BI", 2, len(end)) + end, status_code=200, media_type=media_type)


class DoorRefusals:
    """What connectrpc refuses while reading a request body, in OnePool's codes. A leading metadata
    interceptor runs before the body is read and its on_end sees every error, those raised reading the body
    included; what on_end raises replaces the error (connectrpc.interceptor.MetadataInterceptor).

    - A body or message over `gateway_read_max_bytes` (also once decompressed: a gzip bomb) is connectrpc's
      RESOURCE_EXHAUSTED, HTTP 429 "retry later": here FAILED_PRECONDITION MESSAGE_TOO_LARGE, as for any hop.
    - A request without one plausible `Authorization: Bearer <token>` is UNAUTHENTICATED before its body is
      read (forward.check_authorization): an anonymous flood costs the door no decoding.
    - A frame flagged compressed in a request that names no encoding (gRPC-Web without grpc-encoding,
      Connect streaming without connect-content-encoding) is connectrpc's INTERNAL: the caller's mistake,
      INVALID_ARGUMENT here.
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings

    async def on_start(self, ctx: RequestContext) -> None:
        forward.check_authorization(ctx)  # before the body is read: no decoding for a caller with no token

    async def on_end(self, token: None, ctx: RequestContext, error: Exception | None) -> None:
        if not isinstance(error, ConnectError):
            return
        if error.code is Code.RESOURCE_EXHAUSTED and error.message.startswith(_OVER_READ_MAX):
            raise forward.message_too_large(f"request {error.message}", self._settings) from None
        if error.code is Code.INTERNAL and error.message.startswith(_COMPRESSED_UNNAMED):
            raise ConnectError(
                Code.INVALID_ARGUMENT,
                "a message is flagged compressed but the request names no encoding "
                "(grpc-encoding for gRPC-Web, connect-content-encoding for Connect streaming)",
            ) from None


# connectrpc's words (connectrpc._shared.message_too_large_error, connectrpc._envelope.EnvelopeReader); a test
# (tests/gateway/test_door_refusals.py) notices if an upgrade changes them.
_OVER_READ_MAX = "message is larger than configured max"
_COMPRESSED_UNNAMED = "protocol error: sent compressed message without compression support"


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
        # google.protobuf messages (the generated contracts) rather than connectrpc's own protobuf runtime; JSON
        # refusing enum values it does not know and writing defaults (jsoncodec.py).
        codecs=[google_protobuf_binary_codec(), StrictJsonCodec()],
        read_max_bytes=settings.gateway_read_max_bytes,
        # Leading, so that it also sees the errors of reading the body, before any handler runs.
        interceptors=[DoorRefusals(settings)],
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
                # POST only: no RPC declares idempotency_level NO_SIDE_EFFECTS, so connectrpc answers GET with 405.
                allow_methods=["POST"],
                allow_headers=[*ALLOWED_HEADERS, *settings.cors_headers],
                expose_headers=EXPOSED_HEADERS,
                max_age=7200,
            )
        ],
        lifespan=lifespan,
    )
