"""The web door as a storefront written with `fetch` reads it (docs/gateway.md "JSON"): an enum value the enum
does not define is refused, naming the field, rather than read as 0; error details carry their JSON `debug`
form; a value the JSON parser refuses names its field; zero values are in replies; GET is not advertised; a
token without a required claim says which.

An audit (a first-time storefront developer following the docs) found `ListOrders {"status": "PAID"}` listing
every order and `PayOrder {"kind": "DEPOSIT"}` taken as a FULL payment."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.testing.services import TEST_SECRET

from tests.support.gateway import ALLOWED_ORIGIN, running_gateway

pytestmark = pytest.mark.asyncio

AVAILABILITY = "/onepool.inventory.v1.InventoryService/GetAvailability"
LIST_ORDERS = "/onepool.orders.v1.OrderService/ListOrders"
PAY_ORDER = "/onepool.orders.v1.OrderService/PayOrder"
PLACE_ORDER = "/onepool.orders.v1.OrderService/PlaceOrder"
API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture(scope="module")
async def services(stack):  # type: ignore[no-untyped-def]
    await stack.start("inventory", "orders")
    return stack


@pytest.fixture(scope="module")
async def web(services) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with running_gateway(services) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def bearer(md: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {"Authorization": dict(md)["authorization"]}


async def call(web: httpx.AsyncClient, path: str, body: str, auth: dict[str, str]) -> httpx.Response:
    return await web.post(path, content=body, headers={"Content-Type": "application/json", **auth})


def violations(reply: httpx.Response) -> dict[str, str]:
    """field -> description, read from the `debug` form of the BadRequest detail (no protobuf runtime)."""
    [detail] = [d for d in reply.json()["details"] if d["type"] == "google.rpc.BadRequest"]
    return {v["field"]: v["description"] for v in detail["debug"]["fieldViolations"]}


async def test_an_enum_name_the_enum_does_not_define_is_invalid_argument_naming_the_field(web, admin) -> None:  # type: ignore[no-untyped-def]
    short = await call(web, LIST_ORDERS, '{"status": "PAID"}', bearer(admin))
    assert (short.status_code, short.json()["code"]) == (400, "invalid_argument"), short.text
    described = violations(short)["status"]
    assert '"PAID"' in described and "ORDER_STATUS_PAID" in described and "ORDER_STATUS_SHIPPED" in described

    deposit = await call(web, PAY_ORDER, '{"orderId": "o-1", "paymentRef": "p-1", "kind": "DEPOSIT"}', bearer(admin))
    assert deposit.status_code == 400 and "PAYMENT_KIND_DEPOSIT" in violations(deposit)["kind"]

    number = await call(web, LIST_ORDERS, '{"status": 99}', bearer(admin))
    assert number.status_code == 400 and set(violations(number)) == {"status"}

    nested = await call(web, PLACE_ORDER, '{"channelId": "c", "fulfillment": {"mode": "SHIP"}}', bearer(admin))
    assert nested.status_code == 400 and "FULFILLMENT_MODE_SHIP" in violations(nested)["fulfillment.mode"]


async def test_full_enum_names_and_numbers_pass_and_unknown_fields_are_ignored(web, admin) -> None:  # type: ignore[no-untyped-def]
    for body in ('{"status": "ORDER_STATUS_PAID"}', '{"status": 3}', '{"status": "ORDER_STATUS_PAID", "later": 1}'):
        reply = await call(web, LIST_ORDERS, body, bearer(admin))
        assert reply.status_code == 200, (body, reply.text)


async def test_error_details_carry_their_json_debug_form(web, admin) -> None:  # type: ignore[no-untyped-def]
    """A service's BadRequest (passed byte for byte) and ResourceInfo, readable without decoding base64."""
    bad = await call(web, AVAILABILITY, '{"skus": []}', bearer(admin))
    assert bad.status_code == 400 and "skus" in violations(bad)
    [detail] = bad.json()["details"]
    assert detail["value"]  # the binary form stays for Connect clients

    missing = await call(web, PAY_ORDER, '{"orderId": "no-such-order", "paymentRef": "p-1"}', bearer(admin))
    assert missing.json()["code"] in ("not_found", "invalid_argument"), missing.text
    assert all("debug" in d for d in missing.json()["details"]), missing.text


async def test_an_error_info_from_the_door_itself_carries_reason_and_metadata(services, admin) -> None:  # type: ignore[no-untyped-def]
    async with running_gateway(services, gateway_read_max_bytes=1024) as url, httpx.AsyncClient(base_url=url) as web:
        reply = await call(web, AVAILABILITY, json.dumps({"skus": ["S" * 40] * 100}), bearer(admin))
    assert reply.json()["code"] == "failed_precondition", reply.text
    [info] = [d["debug"] for d in reply.json()["details"] if d["type"] == "google.rpc.ErrorInfo"]
    assert info["reason"] == "MESSAGE_TOO_LARGE" and info["metadata"]["request_max_bytes"] == "1024"


async def test_a_value_the_json_parser_refuses_names_its_field(web, admin) -> None:  # type: ignore[no-untyped-def]
    price = {"currency": "CNY", "amountMinor": "99999999999999999999"}
    too_big = json.dumps({"channelId": "c", "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "unitPrice": price}]})
    reply = await call(web, PLACE_ORDER, too_big, bearer(admin))
    described = violations(reply)["lines[1].unit_price.amount_minor"]
    assert reply.json()["code"] == "invalid_argument" and "out of range" in described

    twice = await call(web, LIST_ORDERS, '{"pageSize": 5, "pageSize": 6}', bearer(admin))
    assert twice.json()["code"] == "invalid_argument" and set(violations(twice)) == {"page_size"}

    not_json = await call(web, LIST_ORDERS, '{"pageSize": ', bearer(admin))
    assert (not_json.status_code, not_json.json()["code"]) == (400, "invalid_argument")


async def test_zero_values_are_in_json_replies(web, admin) -> None:  # type: ignore[no-untyped-def]
    reply = await call(web, AVAILABILITY, '{"skus": ["NEVER-STOCKED"]}', bearer(admin))
    assert reply.status_code == 200, reply.text
    [item] = reply.json()["items"]
    assert (item["onHand"], item["available"], item["byLocation"]) == (0, 0, [])

    orders = await call(web, LIST_ORDERS, '{"customerId": "no-such-customer"}', bearer(admin))
    assert orders.json() == {"orders": [], "nextPageToken": ""}


async def test_get_is_not_advertised_since_no_rpc_serves_it(web, admin) -> None:  # type: ignore[no-untyped-def]
    preflight = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Headers": "authorization,content-type"}
    get = await web.options(AVAILABILITY, headers={**preflight, "Access-Control-Request-Method": "GET"})
    assert get.status_code == 400
    post = await web.options(AVAILABILITY, headers={**preflight, "Access-Control-Request-Method": "POST"})
    assert post.status_code == 200 and "GET" not in post.headers["access-control-allow-methods"]
    plain = await web.get(AVAILABILITY, params={"message": "{}", "encoding": "json"}, headers=bearer(admin))
    assert plain.status_code == 405


async def test_a_token_without_a_required_claim_names_the_claim(web) -> None:  # type: ignore[no-untyped-def]
    settings = ServiceSettings(jwt_secret=TEST_SECRET)
    now = int(time.time())
    claims: dict[str, Any] = {"aud": settings.jwt_audience, "iss": settings.jwt_issuer, "exp": now + 600}
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    reply = await call(web, LIST_ORDERS, "{}", {"Authorization": f"Bearer {token}"})
    assert reply.json()["code"] == "unauthenticated" and "'role'" in reply.json()["message"], reply.text


async def test_the_reason_index_of_api_md_names_the_reasons_the_door_and_services_answer_with() -> None:
    index = API_MD.read_text().split('<a id="reasons"></a>', 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^\| `([A-Z_]+)` \|", index, re.MULTILINE))
    assert {"OVERLOADED", "MESSAGE_TOO_LARGE", "LISTING_TERMS"} <= named
