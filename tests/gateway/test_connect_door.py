"""Issue 16: the Connect / gRPC-Web door, through the real gateway (uvicorn + connectrpc) in front of the five real
services (PostgreSQL, NATS, gRPC). A browser's view of the API: JSON and binary bodies, gRPC-Web frames,
gRPC statuses as Connect errors with their details, deadlines, CORS, and WatchChannelStock as a stream."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.rpc import error_details_pb2
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool_gateway.routes import service_descriptors
from onepool_runtime.testing.services import metadata

from tests.support.gateway import ALLOWED_ORIGIN, envelope, frames, running_gateway
from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio

AVAILABILITY = "/onepool.inventory.v1.InventoryService/GetAvailability"
WATCH = "/onepool.channels.v1.ChannelService/WatchChannelStock"
STEP = 10.0  # bound per awaited stream message (set-up latency, not a performance assertion)


def bearer(md: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {"Authorization": dict(md)["authorization"]}


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders", "channels", "dealers", "settlement")
    return stack


@pytest.fixture(scope="module")
async def web(services) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with running_gateway(services) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def world(services, admin) -> World:  # type: ignore[no-untyped-def]
    return World(services.stub("inventory"), services.stub("orders"), admin, services.nats_url)


@pytest.fixture(scope="module")
async def stocked(world) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(a warehouse, a SKU with 7 units there)."""
    warehouse, sku = await world.location("WH"), uid("SKU")
    await world.stock(warehouse, {sku: 7})
    return warehouse, sku


async def test_the_curl_check_json_with_a_token_answers_json_and_without_one_401(web, admin, stocked) -> None:  # type: ignore[no-untyped-def]
    warehouse, sku = stocked
    body = json.dumps({"skus": [sku]})
    reply = await web.post(AVAILABILITY, content=body, headers={"Content-Type": "application/json", **bearer(admin)})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    [item] = reply.json()["items"]
    assert (item["sku"], item["onHand"], item["available"]) == (sku, 7, 7)
    assert [(b["locationId"], b["onHand"]) for b in item["byLocation"]] == [(warehouse, 7)]

    anonymous = await web.post(AVAILABILITY, content=body, headers={"Content-Type": "application/json"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/json" and anonymous.json()["code"] == "unauthenticated"


async def test_a_binary_protobuf_body_gets_a_binary_protobuf_answer(web, admin, stocked) -> None:  # type: ignore[no-untyped-def]
    _, sku = stocked
    request = ipb.GetAvailabilityRequest(skus=[sku]).SerializeToString()
    reply = await web.post(
        AVAILABILITY, content=request, headers={"Content-Type": "application/proto", **bearer(admin)}
    )
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/proto"
    answer = ipb.GetAvailabilityResponse.FromString(reply.content)
    assert [(i.sku, i.on_hand) for i in answer.items] == [(sku, 7)]


async def test_grpc_web_frames_the_answer_and_puts_the_status_in_a_trailer_frame(web, admin, stocked) -> None:  # type: ignore[no-untyped-def]
    _, sku = stocked
    headers = {"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1"}
    body = envelope(ipb.GetAvailabilityRequest(skus=[sku]).SerializeToString())

    reply = await web.post(AVAILABILITY, content=body, headers={**headers, **bearer(admin)})
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/grpc-web+proto"
    (flags, message), (trailer_flags, trailer) = frames(reply.content)
    assert (flags, trailer_flags) == (0, 0x80)
    assert [(i.sku, i.on_hand) for i in ipb.GetAvailabilityResponse.FromString(message).items] == [(sku, 7)]
    assert b"grpc-status: 0" in trailer.lower() or b"grpc-status:0" in trailer.lower()

    refused = await web.post(AVAILABILITY, content=body, headers=headers)
    status = refused.headers.get("grpc-status") or _trailer(refused.content).get("grpc-status")
    assert status == "16"  # UNAUTHENTICATED


def _trailer(body: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for flags, payload in frames(body):
        if flags & 0x80:
            for line in payload.decode().strip().split("\r\n"):
                key, _, value = line.partition(":")
                out[key.strip().lower()] = value.strip()
    return out


async def test_bad_input_is_invalid_argument_with_the_services_field_violations_as_details(web, admin) -> None:  # type: ignore[no-untyped-def]
    reply = await web.post(
        AVAILABILITY, content=b'{"skus": []}', headers={"Content-Type": "application/json", **bearer(admin)}
    )
    assert reply.status_code == 400
    error = reply.json()
    assert error["code"] == "invalid_argument" and "skus" in error["message"]
    [detail] = [d for d in error["details"] if d["type"] == "google.rpc.BadRequest"]
    bad = error_details_pb2.BadRequest.FromString(base64.b64decode(detail["value"] + "=="))
    assert [v.field for v in bad.field_violations] == ["skus"]


async def test_a_dealer_token_asking_for_another_dealers_data_is_permission_denied(web) -> None:  # type: ignore[no-untyped-def]
    reply = await web.post(
        "/onepool.dealers.v1.DealerService/GetDealerOverview",
        json={"dealerId": "someone-else"},
        headers=bearer(metadata("dealer", dealer_id="me")),
    )
    assert (reply.status_code, reply.json()["code"]) == (403, "permission_denied")


async def test_a_deadline_already_spent_is_deadline_exceeded(web, admin, stocked) -> None:  # type: ignore[no-untyped-def]
    _, sku = stocked
    reply = await web.post(AVAILABILITY, json={"skus": [sku]}, headers={"Connect-Timeout-Ms": "0", **bearer(admin)})
    assert (reply.status_code, reply.json()["code"]) == (504, "deadline_exceeded")


async def test_cors_answers_configured_origins_only(web) -> None:  # type: ignore[no-untyped-def]
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,connect-protocol-version,connect-timeout-ms",
    }
    allowed = await web.options(AVAILABILITY, headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()

    denied = await web.options(AVAILABILITY, headers={"Origin": "https://evil.example", **preflight})
    assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers

    # The call itself: the browser may read the answer only when the origin is allowed.
    for origin, readable in ((ALLOWED_ORIGIN, True), ("https://evil.example", False)):
        reply = await web.post(AVAILABILITY, json={"skus": ["X"]}, headers={"Origin": origin})
        assert reply.status_code == 401
        assert ("access-control-allow-origin" in reply.headers) is readable
        if readable:
            assert "grpc-status" in reply.headers["access-control-expose-headers"].lower()


async def test_cors_allows_the_request_headers_an_operator_configured(services) -> None:  # type: ignore[no-untyped-def]
    """A storefront whose error tracker adds `sentry-trace` and `baggage` to every fetch: refused by default,
    allowed once listed in ONEPOOL_GATEWAY_CORS_HEADERS, with the protocol headers still allowed beside them."""
    protocol = "authorization,content-type,connect-protocol-version,content-encoding,grpc-message-type"
    preflight = {
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": f"{protocol},sentry-trace,baggage",
    }
    async with running_gateway(services) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.options(AVAILABILITY, headers=preflight)).status_code == 400
    async with (
        running_gateway(services, gateway_cors_headers=" Sentry-Trace, baggage ") as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        allowed = await client.options(AVAILABILITY, headers=preflight)
        assert allowed.status_code == 200, allowed.text
        listed = {h.strip() for h in allowed.headers["access-control-allow-headers"].lower().split(",")}
        assert {*protocol.split(","), "sentry-trace", "baggage"} <= listed


async def _messages(response: httpx.Response) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """(flags, JSON) of each Connect streaming frame as it arrives."""
    buffer = b""
    async for chunk in response.aiter_raw():
        buffer += chunk
        while len(buffer) >= 5:
            length = int.from_bytes(buffer[1:5], "big")
            if len(buffer) < 5 + length:
                break
            flags, payload, buffer = buffer[0], buffer[5 : 5 + length], buffer[5 + length :]
            yield flags, json.loads(payload)


async def test_watch_channel_stock_streams_current_numbers_then_each_change(services, world, web, admin) -> None:  # type: ignore[no-untyped-def]
    channels, sku = services.stub("channels"), uid("SKU")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 4})
    channel = (
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                request_id=uid("req"),
                code=uid("web"),
                name="web",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                allocation=cpb.AllocationPolicy(location_ids=[warehouse]),
            ),
            metadata=admin,
        )
    ).channel
    await channels.UpsertListing(
        cpb.UpsertListingRequest(
            channel_id=channel.id,
            sku=sku,
            channel_sku="WEB-1",
            price=common_pb2.Money(currency="CNY", amount_minor=100),
            active=True,
        ),
        metadata=admin,
    )

    async def sellable() -> int:
        reply = await channels.GetChannelStock(
            cpb.GetChannelStockRequest(channel_id=channel.id, skus=[sku]), metadata=admin
        )
        return reply.items[0].sellable

    await eventually(sellable, lambda n: n == 4)

    token = bearer(metadata("channel", channel_id=channel.id))
    headers = {"Content-Type": "application/connect+json", "Connect-Protocol-Version": "1", **token}
    body = envelope(json.dumps({"channelId": channel.id}).encode())
    async with web.stream("POST", WATCH, content=body, headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"] == "application/connect+json"
        stream = _messages(response)
        flags, first = await asyncio.wait_for(anext(stream), STEP)
        assert (flags, first["sku"], first["channelSku"], first["sellable"]) == (0, sku, "WEB-1", 4)

        await world.stock(warehouse, {sku: 4})
        while True:
            flags, moved = await asyncio.wait_for(anext(stream), STEP)
            if moved.get("sku") == sku and moved.get("sellable") == 8:
                break

    # A stream refused by the service ends with the error in its end-of-stream frame.
    no_token = {k: v for k, v in headers.items() if k != "Authorization"}
    refused = await web.post(WATCH, content=body, headers=no_token)
    [(flags, end)] = frames(refused.content)
    assert flags == 0x02 and json.loads(end)["error"]["code"] == "unauthenticated"


async def test_a_stream_ends_with_deadline_exceeded_when_its_deadline_passes(services, web, admin) -> None:  # type: ignore[no-untyped-def]
    channel = (
        await services.stub("channels").CreateChannel(
            cpb.CreateChannelRequest(
                request_id=uid("req"), code=uid("quiet"), name="quiet", type=cpb.CHANNEL_TYPE_ONLINE_STORE
            ),
            metadata=admin,
        )
    ).channel
    headers = {
        "Content-Type": "application/connect+json",
        "Connect-Protocol-Version": "1",
        "Connect-Timeout-Ms": "500",
        **bearer(admin),
    }
    # A watch never ends by itself: only its deadline ends this one.
    reply = await web.post(WATCH, content=envelope(json.dumps({"channelId": channel.id}).encode()), headers=headers)
    end = [json.loads(payload) for flags, payload in frames(reply.content) if flags == 0x02]
    assert end[0]["error"]["code"] == "deadline_exceeded"

    # The same watch over gRPC-Web, its deadline in grpc-timeout: DEADLINE_EXCEEDED (4) in the trailer frame.
    grpc_web = {"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1", "Grpc-Timeout": "500m"}
    request = envelope(cpb.WatchChannelStockRequest(channel_id=channel.id).SerializeToString())
    reply = await web.post(WATCH, content=request, headers={**grpc_web, **bearer(admin)})
    assert reply.status_code == 200 and _trailer(reply.content)["grpc-status"] == "4"


async def test_every_rpc_of_every_service_is_served_and_reaches_its_service(web) -> None:  # type: ignore[no-untyped-def]
    """Routes come from the descriptors: each RPC answers the service's own refusal of an anonymous caller
    (401 unauthenticated), never 404 / unimplemented."""
    services = service_descriptors()
    assert {s.full_name for s in services} >= {
        "onepool.orders.v1.OrderService",
        "onepool.inventory.v1.InventoryService",
        "onepool.channels.v1.ChannelService",
        "onepool.dealers.v1.DealerService",
        "onepool.settlement.v1.SettlementService",
    }
    answers: dict[str, tuple[int, str]] = {}
    for service in services:
        for method in service.methods:
            if method.server_streaming:
                continue
            reply = await web.post(f"/{service.full_name}/{method.name}", json={})
            answers[f"{service.name}/{method.name}"] = (reply.status_code, reply.json()["code"])
    assert len(answers) >= 60
    assert {k: v for k, v in answers.items() if v != (401, "unauthenticated")} == {}


async def test_an_unknown_path_is_404_and_the_portal_is_served(web) -> None:  # type: ignore[no-untyped-def]
    assert (await web.post("/onepool.inventory.v1.InventoryService/NoSuchMethod", json={})).status_code == 404
    portal = await web.get("/portal/")
    assert portal.status_code == 200 and "text/html" in portal.headers["content-type"]
    for path in ("/", "/portal"):
        assert (await web.get(path, follow_redirects=True)).url.path == "/portal/"
    assert (await web.get("/healthz")).text == "ok"


HOSTILE_JSON = {
    "deeply nested": b'{"skus": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested unknown field": b'{"x": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    "not utf-8": b'{"skus": ["\xff\xfe"]}',
    "a NUL in a string": b'{"skus": ["a\\u0000b"]}',
    "a lone surrogate": b'{"skus": ["\\ud800"]}',
    "a number where a list goes": b'{"skus": 1e999999}',
    "truncated": b'{"skus": ["a"',
    "not an object": b"[]",
    "empty": b"",
}


@pytest.mark.parametrize("body", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
async def test_a_hostile_json_body_is_a_client_error_never_internal(web, admin, body: bytes) -> None:  # type: ignore[no-untyped-def]
    reply = await web.post(AVAILABILITY, content=body, headers={"Content-Type": "application/json", **bearer(admin)})
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:500])
    assert reply.json()["code"] in {"invalid_argument", "failed_precondition"}, reply.text[:500]


HOSTILE_PROTO = {
    "garbage": b"\xff\xff\xff\xff\xff",
    "a length past the end": b"\x0a\xff\xff\xff\x0f" + b"a",
    "deep groups": b"\x0b" * 100_000,
}


@pytest.mark.parametrize("body", list(HOSTILE_PROTO.values()), ids=list(HOSTILE_PROTO))
async def test_a_hostile_binary_body_is_a_client_error_never_internal(web, admin, body: bytes) -> None:  # type: ignore[no-untyped-def]
    reply = await web.post(AVAILABILITY, content=body, headers={"Content-Type": "application/proto", **bearer(admin)})
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text[:500])


async def test_headers_grpc_or_the_door_cannot_carry_are_client_errors_never_internal(web, admin, stocked) -> None:  # type: ignore[no-untyped-def]
    body = json.dumps({"skus": [stocked[1]]}).encode()
    token = bearer(admin)["Authorization"]
    # A Latin-1 byte in any header (a browser sends one as it is): connectrpc could not decode it.
    latin1 = [(b"content-type", b"application/json"), (b"authorization", token.encode()), (b"x-customer", b"Zo\xeb")]
    reply = await web.post(AVAILABILITY, content=body, headers=latin1)
    assert (reply.status_code, reply.json()["code"]) == (400, "invalid_argument"), reply.text[:300]
    # An authorization header gRPC metadata cannot carry: no token can, so the caller is not authenticated.
    for odd in ("Bearer t\u00f6ken", "Bearer a\x01b"):
        headers = [(b"content-type", b"application/json"), (b"authorization", odd.encode())]
        reply = await web.post(AVAILABILITY, content=body, headers=headers)
        assert (reply.status_code, reply.json()["code"]) == (401, "unauthenticated"), reply.text[:300]
    # A trace header it cannot carry is dropped; the call goes through.
    traced = [
        (b"content-type", b"application/json"),
        (b"authorization", token.encode()),
        (b"traceparent", b"caf\xc3\xa9"),
    ]
    reply = await web.post(AVAILABILITY, content=body, headers=traced)
    assert reply.status_code == 200, reply.text[:300]
    # Plain gRPC (it needs HTTP/2 trailers) is refused as a media type, not failed inside.
    reply = await web.post(AVAILABILITY, content=b"\x00\x00\x00\x00\x00", headers={"content-type": "application/grpc"})
    assert reply.status_code == 415, reply.text[:300]
