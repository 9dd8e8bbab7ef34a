"""Replies larger than gRPC's 4 MiB default pass through the gateway, and one too large for any hop is a plain
client error, never HTTP 429.

A brand with a hundred-odd stores holding 500 SKUs each: GetAvailability for 500 SKUs (what the dealer portal
asks per call) is over 4 MiB. The services send it; the gateway's upstream channels used to keep gRPC's 4 MiB
receive default, so the browser got `resource_exhausted` (HTTP 429: slow down and retry), which no retry cures.
"""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as ipb
from sqlalchemy import text

from tests.support.gateway import running_gateway

pytestmark = pytest.mark.asyncio

AVAILABILITY = "/onepool.inventory.v1.InventoryService/GetAvailability"
N_LOCATIONS, N_SKUS = 120, 500
SKUS = [f"BIG-SKU-{i:04d}" for i in range(N_SKUS)]
# Ids as long as an id may be (64): each location costs the most bytes in every item's by_location.
LOCATIONS = [f"STORE-{i:04d}-".ljust(64, "X") for i in range(N_LOCATIONS)]


@pytest.fixture(scope="module")
async def services(stack, admin):  # type: ignore[no-untyped-def]
    await stack.start("inventory")
    inventory = stack.stub("inventory")
    gate = asyncio.Semaphore(4)

    async def upsert(location: str) -> None:
        async with gate:
            await inventory.UpsertLocation(
                ipb.UpsertLocationRequest(
                    location=ipb.Location(
                        id=location, name=location[:10], type=ipb.LOCATION_TYPE_STORE, region="CN-SH", ships=True
                    )
                ),
                metadata=admin,
                timeout=60,
            )

    await asyncio.gather(*(upsert(location) for location in LOCATIONS))
    # The 60,000 stock levels are written straight to inventory's table (no ledger, no events: nothing here reads
    # them): what this module tests is the size of the reply, and receiving them through ReceiveStock, relaying
    # 60,000 stock events, took 20 s and more.
    async with stack.hosts["inventory"].infra.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO stock_levels (sku, location_id, on_hand, reserved, safety_stock) "
                "SELECT sku, location_id, 1000, 0, 0 FROM unnest(CAST(:skus AS text[])) AS sku "
                "CROSS JOIN unnest(CAST(:locations AS text[])) AS location_id"
            ),
            {"skus": SKUS, "locations": LOCATIONS},
        )
    return stack


def _post(web: httpx.AsyncClient, admin: tuple[tuple[str, str], ...], body: dict[str, object]):  # type: ignore[no-untyped-def]
    headers = {"Authorization": dict(admin)["authorization"], "Content-Type": "application/json"}
    return web.post(AVAILABILITY, content=json.dumps(body), headers=headers)


async def test_an_answer_over_4_mib_reaches_the_browser(services, admin) -> None:  # type: ignore[no-untyped-def]
    async with running_gateway(services) as url, httpx.AsyncClient(base_url=url, timeout=120) as web:
        reply = await _post(web, admin, {"skus": SKUS})
    assert reply.status_code == 200, reply.text[:500]
    answer = json_format.Parse(reply.text, ipb.GetAvailabilityResponse())
    assert answer.ByteSize() > 4 * 1024 * 1024  # over gRPC's default, or this test proves nothing
    assert len(answer.items) == N_SKUS
    assert all(len(item.by_location) == N_LOCATIONS for item in answer.items)


def _error_info(reply: httpx.Response) -> error_details_pb2.ErrorInfo:
    [detail] = reply.json()["details"]
    assert detail["type"] == "google.rpc.ErrorInfo"
    return error_details_pb2.ErrorInfo.FromString(base64.b64decode(detail["value"] + "=="))


async def test_an_answer_over_the_gateways_limit_is_failed_precondition_not_retry(services, admin) -> None:  # type: ignore[no-untyped-def]
    async with (
        running_gateway(services, gateway_reply_max_bytes=1024 * 1024) as url,
        httpx.AsyncClient(base_url=url, timeout=120) as web,
    ):
        reply = await _post(web, admin, {"skus": SKUS})
        assert reply.status_code == 400, reply.text[:500]
        assert reply.json()["code"] == "failed_precondition"
        info = _error_info(reply)
        assert (info.reason, info.metadata["reply_max_bytes"]) == ("MESSAGE_TOO_LARGE", str(1024 * 1024))
        assert "ask for less" in reply.json()["message"]

        # A smaller question still passes.
        reply = await _post(web, admin, {"skus": SKUS[:20]})
        assert reply.status_code == 200, reply.text[:500]


async def test_a_request_over_what_the_services_accept_is_failed_precondition_not_retry(services, admin) -> None:  # type: ignore[no-untyped-def]
    """A gateway configured to read big bodies still cannot send a service more than its 8 MiB."""
    async with (
        running_gateway(services, gateway_read_max_bytes=32 * 1024 * 1024) as url,
        httpx.AsyncClient(base_url=url, timeout=120) as web,
    ):
        reply = await _post(web, admin, {"skus": ["S" * 100_000] * 90})  # ~9 MB
    assert reply.status_code == 400, reply.text[:500]
    assert reply.json()["code"] == "failed_precondition"
    assert _error_info(reply).reason == "MESSAGE_TOO_LARGE"
