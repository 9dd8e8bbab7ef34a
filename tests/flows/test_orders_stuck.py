"""At night inventory goes away: an order cannot be placed (PENDING), a payment cannot be committed, and by the
time inventory is back the paid order's reservation has lapsed, so inventory refuses the commit. The operator
sees each of them, and why, in `onepool orders stuck` and in the onepool_orders_waiting gauges, read from the
running stack."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import grpc
import pytest
from onepool.orders.v1 import orders_pb2 as opb
from onepool_cli import orders as orders_command
from onepool_cli.main import app
from onepool_orders.entrypoints import waiting_gauges
from typer.testing import CliRunner

from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio
TTL_SECONDS = 2


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start(
        "orders",
        recovery_interval_seconds=0.2,
        recovery_after_seconds=1.0,
        stock_retry_seconds=0.2,
        stock_retry_max_seconds=0.5,
        waiting_gauge_interval_seconds=0.2,
    )
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


async def _stuck(database_url: str, *args: str) -> str:
    orders_command.console.width = 250  # one table row per line
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONEPOOL_")}
    env["ONEPOOL_DATABASE_URL"] = database_url
    result = await asyncio.to_thread(CliRunner().invoke, app, ["orders", "stuck", *args], env=env)
    assert result.exit_code == 0, (result.exception, result.output)
    # stdout only: the services run on this event loop while the command runs in a thread, and whatever they
    # log to stderr meanwhile lands in the runner's interleaved `output`.
    return result.stdout


def _rows(output: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for line in output.splitlines():
        row = json.loads(line)
        found.setdefault(row.pop("row"), []).append(row)
    return found


async def test_orders_waiting_on_an_absent_inventory_and_its_refusal_are_shown(world: World, stack: Any) -> None:
    sku, warehouse = uid("TEE"), await world.location("WH")
    await world.stock(warehouse, {sku: 10})
    channel = await world.channel(location_ids=[warehouse])
    paid = await world.place(channel, {sku: (1, 1000)}, payment_ttl_seconds=TTL_SECONDS)
    await stack.stop("inventory")
    try:
        await world.pay(paid)  # recorded; its commit waits for inventory
        with pytest.raises(grpc.aio.AioRpcError) as unavailable:
            await world.place(channel, {sku: (1, 1000)}, external_order_id="night-1")
        assert unavailable.value.code() == grpc.StatusCode.UNAVAILABLE
        listed = await world.orders.ListOrders(opb.ListOrdersRequest(channel_id=channel), metadata=world.admin)
        placing = next(o for o in listed.orders if o.external_order_id == "night-1")

        rows = _rows(await _stuck(stack.database_url, "--older-than", "0s", "--json"))
        by_order = {r["order_id"]: r for r in rows["order"]}
        assert by_order[placing.id]["state"] == "awaiting_reservation", rows
        assert by_order[placing.id]["channel_id"] == channel
        assert by_order[paid.id]["state"] == "awaiting_inventory", rows
        assert by_order[paid.id]["status"] == "PAID"
        assert "commit not applied by inventory" in by_order[paid.id]["reason"], rows
        assert "unavailable" in by_order[paid.id]["reason"].lower(), rows
        waiting = {r["state"]: r["orders"] for r in rows["waiting"]}
        assert waiting["awaiting_reservation"] >= 1 and waiting["awaiting_inventory"] >= 1, rows

        # The running service's gauges say the same (measured every 0.2 s here).
        await eventually(
            _measured,
            lambda m: m.get("awaiting_reservation", 0) >= 1 and m.get("awaiting_inventory", 0) >= 1,
        )
        await asyncio.sleep(TTL_SECONDS + 0.5)  # the paid order's reservation lapses meanwhile
    finally:
        await stack.start("inventory", sweeper_interval_seconds=0.2)

    # Back: the PENDING order is placed by the recovery loop; the lapsed commit is refused (and the order
    # cancelled, by the refusal or by inventory's ReservationExpired, whichever orders hears first).
    async def read() -> dict[str, list[dict[str, Any]]]:
        return _rows(await _stuck(stack.database_url, "--older-than", "0s", "--json"))

    rows = await eventually(
        read,
        lambda r: (
            any(x["order_id"] == paid.id for x in r.get("refused", []))
            and any(x["order_id"] == placing.id and x["state"] == "awaiting_payment" for x in r.get("order", []))
        ),
        within=30,
    )
    refusal = next(r for r in rows["refused"] if r["order_id"] == paid.id)
    assert (refusal["kind"], refusal["order_status"], refusal["channel_id"]) == ("commit", "CANCELLED", channel)
    assert refusal["error"].startswith("FailedPrecondition "), refusal
    assert "RESERVATION" in refusal["error"], refusal  # RESERVATION_EXPIRED, or INVALID_RESERVATION_STATE once swept
    assert paid.id not in {r["order_id"] for r in rows["order"]}, rows

    output = await _stuck(stack.database_url)  # the tables, at the default --older-than 5m
    assert "no order has waited longer than 5m" in output, output
    line = next(x for x in output.splitlines() if paid.id in x)
    assert "commit" in line and "CANCELLED" in line and "FailedPrecondition" in line, output
    await eventually(_measured, lambda m: m.get("awaiting_reservation") == 0 and m.get("awaiting_inventory") == 0)


async def _measured() -> dict[str, int]:
    return {state: w.orders for state, w in waiting_gauges.last_measured().items()}
