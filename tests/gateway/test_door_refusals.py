"""What the door refuses, over real HTTP (uvicorn + connectrpc in front of real services), answered with the
code the docs promise and in the shape the caller's protocol reads (docs/gateway.md "Errors", "Message sizes").

An audit found these answered otherwise: a frame flagged compressed without an encoding INTERNAL; a body over
the read limit, or a gzip bomb, 429 "retry later"; an oversized or doubled Authorization header 429 at random
or passed on (the service took the last); a tracestate of 14 KB 429 at random (gRPC's metadata soft limit); a
grpc-timeout of 99999999H DEADLINE_EXCEEDED at once; the door's own refusal of a gRPC-Web call an HTTP 400
(INTERNAL to a gRPC-Web client); a service down a 503 naming its address.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
import pytest
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_runtime.embedded import free_port

from tests.support.gateway import envelope, frames, running_gateway

pytestmark = pytest.mark.asyncio

AVAILABILITY = "/onepool.inventory.v1.InventoryService/GetAvailability"
WATCH = "/onepool.channels.v1.ChannelService/WatchChannelStock"
OVERVIEW = "/onepool.dealers.v1.DealerService/GetDealerOverview"
BODY = ipb.GetAvailabilityRequest(skus=["A"]).SerializeToString()
GRPC_WEB = {"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1"}
CONNECT_STREAM = {"Content-Type": "application/connect+json", "Connect-Protocol-Version": "1"}


def bearer(md: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {"Authorization": dict(md)["authorization"]}


def grpc_status(reply: httpx.Response) -> tuple[str, str]:
    """(grpc-status, grpc-message) of a gRPC-Web answer: in the headers (trailers-only) or the trailer frame."""
    fields = {k: v for k, v in reply.headers.items() if k.startswith("grpc-")}
    for flags, payload in frames(reply.content) if reply.content else []:
        if flags & 0x80:
            for line in payload.decode().strip().split("\r\n"):
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
    return fields["grpc-status"], unquote(fields.get("grpc-message", ""))


def end_of_stream(reply: httpx.Response) -> dict[str, object]:
    [end] = [json.loads(payload) for flags, payload in frames(reply.content) if flags & 2]
    return end


def error_info(reply: httpx.Response) -> error_details_pb2.ErrorInfo:
    [detail] = reply.json()["details"]
    assert detail["type"] == "google.rpc.ErrorInfo"
    return error_details_pb2.ErrorInfo.FromString(base64.b64decode(detail["value"] + "=="))


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels")
    return stack


@pytest.fixture(scope="module")
async def web(services) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with running_gateway(services) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


# D1: a frame flagged compressed in a request that names no encoding is the caller's mistake.


async def test_a_grpc_web_frame_flagged_compressed_without_grpc_encoding_is_invalid_argument(web, admin) -> None:  # type: ignore[no-untyped-def]
    reply = await web.post(AVAILABILITY, content=envelope(BODY, flags=1), headers={**GRPC_WEB, **bearer(admin)})
    status, message = grpc_status(reply)
    assert status == "3", (status, message)  # was 13 INTERNAL
    assert "grpc-encoding" in message
    # Compressed and named: read as before.
    named = {**GRPC_WEB, "grpc-encoding": "gzip", **bearer(admin)}
    reply = await web.post(AVAILABILITY, content=envelope(gzip.compress(BODY), flags=1), headers=named)
    assert grpc_status(reply)[0] == "0", reply.content


async def test_a_connect_stream_frame_flagged_compressed_without_an_encoding_is_invalid_argument(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = {**CONNECT_STREAM, "Connect-Timeout-Ms": "5000", **bearer(admin)}
    reply = await web.post(WATCH, content=envelope(b'{"channelId":"x"}', flags=1), headers=headers)
    assert reply.status_code == 200
    assert end_of_stream(reply)["error"]["code"] == "invalid_argument"  # type: ignore[index]  # was internal


# D2: over the door's read limit is MESSAGE_TOO_LARGE (400), not 429: no retry would pass.


async def test_a_json_body_over_the_read_limit_is_message_too_large(web, admin) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"skus": ["S" * 1000] * 5300})  # ~5.3 MB, over the 4 MiB default
    reply = await web.post(AVAILABILITY, content=body, headers={"Content-Type": "application/json", **bearer(admin)})
    assert (reply.status_code, reply.json()["code"]) == (400, "failed_precondition"), reply.text[:300]
    info = error_info(reply)
    assert (info.reason, info.metadata["request_max_bytes"]) == ("MESSAGE_TOO_LARGE", str(4 * 1024 * 1024))
    assert "ask for less" in reply.json()["message"]


async def test_a_gzip_bomb_is_message_too_large(web, admin) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip.compress(b'{"skus":["' + b"a" * (20 * 1024 * 1024) + b'"]}')  # ~20 KB on the wire, 20 MiB inflated
    assert len(bomb) < 100_000
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", **bearer(admin)}
    reply = await web.post(AVAILABILITY, content=bomb, headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (400, "failed_precondition"), reply.text[:300]
    assert error_info(reply).reason == "MESSAGE_TOO_LARGE"


async def test_a_grpc_web_frame_over_the_read_limit_is_failed_precondition(web, admin) -> None:  # type: ignore[no-untyped-def]
    big = ipb.GetAvailabilityRequest(skus=["S" * 1000] * 5000).SerializeToString()
    reply = await web.post(AVAILABILITY, content=envelope(big), headers={**GRPC_WEB, **bearer(admin)})
    assert grpc_status(reply)[0] == "9", reply.content[:300]  # FAILED_PRECONDITION, was 8 RESOURCE_EXHAUSTED


# D3: forwarded headers are bounded in size and count.


@pytest.mark.parametrize("length", [4097, 9000, 12000, 15000])
async def test_an_authorization_header_over_4_kib_is_unauthenticated(web, length: int) -> None:  # type: ignore[no-untyped-def]
    token = "Bearer " + "a" * (length - len("Bearer "))
    reply = await web.post(AVAILABILITY, json={"skus": ["A"]}, headers={"Authorization": token})
    assert (reply.status_code, reply.json()["code"]) == (401, "unauthenticated"), reply.text[:300]  # was 429 at random
    assert "longer than 4096" in reply.json()["message"]


async def test_an_authorization_header_of_4_kib_reaches_the_service_every_time(web) -> None:  # type: ignore[no-untyped-def]
    token = "Bearer " + "a" * (4096 - len("Bearer "))
    for _ in range(6):
        reply = await web.post(AVAILABILITY, json={"skus": ["A"]}, headers={"Authorization": token})
        # The service's verdict on a token that is no JWT, never gRPC's metadata limit.
        assert (reply.status_code, reply.json()["code"]) == (401, "unauthenticated"), reply.text[:300]
        assert "longer than" not in reply.json()["message"]


async def test_two_authorization_headers_are_unauthenticated(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = [
        ("content-type", "application/json"),
        ("authorization", "Bearer someone-else"),
        ("authorization", bearer(admin)["Authorization"]),
    ]
    reply = await web.post(AVAILABILITY, content=b'{"skus":["A"]}', headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (401, "unauthenticated"), reply.text[:300]  # was 200


async def test_a_huge_tracestate_is_dropped_and_the_call_passes(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = {
        **bearer(admin),
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "tracestate": "k=" + "a" * 14000,
    }
    seen = [(await web.post(AVAILABILITY, json={"skus": ["A"]}, headers=headers)).status_code for _ in range(6)]
    assert set(seen) == {200}, seen  # was a mix of 200 and 429


# D4: a gRPC-Web deadline the grammar allows is a long deadline, not one already past.


async def test_a_grpc_timeout_of_99999999_hours_is_not_an_immediate_deadline_exceeded(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = {**GRPC_WEB, "grpc-timeout": "99999999H", **bearer(admin)}
    reply = await web.post(AVAILABILITY, content=envelope(BODY), headers=headers)
    assert grpc_status(reply)[0] == "0", reply.content  # was 4 DEADLINE_EXCEEDED


# D5: the door's own refusal in the shape the caller's protocol reads.


async def test_a_latin1_header_on_grpc_web_is_a_trailers_only_invalid_argument(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = [
        (b"content-type", b"application/grpc-web+proto"),
        (b"authorization", bearer(admin)["Authorization"].encode()),
        (b"x-customer", b"Zo\xeb"),
    ]
    reply = await web.post(AVAILABILITY, content=envelope(BODY), headers=headers)
    assert reply.status_code == 200, (reply.status_code, reply.text[:300])  # was 400 (INTERNAL to gRPC-Web)
    assert reply.headers["content-type"].startswith("application/grpc-web")
    status, message = grpc_status(reply)
    assert status == "3" and "'x-customer' is not UTF-8" in message, (status, message)


async def test_a_latin1_header_on_a_connect_stream_ends_the_stream_with_invalid_argument(web, admin) -> None:  # type: ignore[no-untyped-def]
    headers = [
        (b"content-type", b"application/connect+json"),
        (b"connect-protocol-version", b"1"),
        (b"authorization", bearer(admin)["Authorization"].encode()),
        (b"x-customer", b"Zo\xeb"),
    ]
    reply = await web.post(WATCH, content=envelope(b'{"channelId":"x"}'), headers=headers)
    assert reply.status_code == 200, (reply.status_code, reply.text[:300])
    assert end_of_stream(reply)["error"]["code"] == "invalid_argument"  # type: ignore[index]


# D6: a service the door cannot reach is named, its address is not.


async def test_a_service_down_is_unavailable_naming_the_service_not_its_address(services, admin) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    async with (
        running_gateway(services, dealers_addr=f"127.0.0.1:{port}") as url,
        httpx.AsyncClient(base_url=url, timeout=30) as web,
    ):
        reply = await web.post(OVERVIEW, json={"dealerId": "D-1"}, headers=bearer(admin))
    assert (reply.status_code, reply.json()["code"]) == (503, "unavailable"), reply.text[:300]
    assert "dealers service" in reply.json()["message"]
    assert "127.0.0.1" not in reply.text and str(port) not in reply.text, reply.text  # was gRPC's words and address
    [detail] = reply.json()["details"]
    assert detail["type"] == "google.rpc.RetryInfo"


# An anonymous caller is turned away on its headers, before the door reads or decodes its body.


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer"], ids=["none", "basic", "scheme-only"])
async def test_a_call_without_a_bearer_token_is_unauthenticated_before_its_body_is_read(web, authorization) -> None:  # type: ignore[no-untyped-def]
    headers = {"Content-Type": "application/json", **({"Authorization": authorization} if authorization else {})}
    garbage = await web.post(AVAILABILITY, content=b"{not json", headers=headers)
    assert (garbage.status_code, garbage.json()["code"]) == (401, "unauthenticated"), garbage.text[:300]
    # Over the read limit too: the body is never read, so it is not MESSAGE_TOO_LARGE either.
    huge = json.dumps({"skus": ["S" * 1000] * 5300})
    reply = await web.post(AVAILABILITY, content=huge, headers=headers)
    assert (reply.status_code, reply.json()["code"]) == (401, "unauthenticated"), reply.text[:300]
    stream = await web.post(WATCH, content=envelope(b"{not json"), headers={**headers, **CONNECT_STREAM})
    assert end_of_stream(stream)["error"]["code"] == "unauthenticated"  # type: ignore[index]
