"""The runbook "JetStream lost its data" (docs/operations.md), performed for real: orders paid and booked by
settlement, the ORDERS stream deleted by mistake (the consumers create it again, empty), `onepool outbox
resend`; the stream holds orders' events again, in the outbox's order, settlement's inbox drops every one it
had applied (nothing booked twice), and new business flows as before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from nats.js.errors import NotFoundError
from onepool_cli import consumers, outbox
from onepool_cli.main import app
from onepool_runtime.db import plain_url
from onepool_runtime.messaging import connect
from typer.testing import CliRunner

from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def world(stack: Any, admin: Any) -> World:
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, recovery_after_seconds=1.0)
    await stack.start("settlement")
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


async def _fetch(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def _stream_ids(nats_url: str) -> list[str] | None:
    """The Nats-Msg-Id of every message ORDERS holds, in its order; None while it is not there."""
    nc = await connect(nats_url, "resend-flow")
    try:
        js = nc.jetstream()
        try:
            state = (await js.stream_info("ORDERS")).state
        except NotFoundError:
            return None
        ids = []
        for seq in range(state.first_seq, state.last_seq + 1 if state.messages else state.first_seq):
            ids.append((await js.get_msg("ORDERS", seq=seq)).headers["Nats-Msg-Id"])  # type: ignore[index]
        return ids
    finally:
        await nc.close()


async def _caught_up(nats_url: str, n: int) -> bool:
    """Every durable on ORDERS has acknowledged what it was given, and one of them the stream's n messages (the
    others filter some subjects only)."""
    nc = await connect(nats_url, "resend-flow")
    try:
        found = [d for d in await consumers.durables(nc.jetstream()) if d.stream == "ORDERS"]
    finally:
        await nc.close()
    settled = all(not d.pending and not d.ack_pending for d in found)
    return settled and max((d.ack_floor for d in found), default=0) >= n


async def _delete_stream(nats_url: str) -> None:
    nc = await connect(nats_url, "resend-flow")
    try:
        await nc.jetstream().delete_stream("ORDERS")
    finally:
        await nc.close()


async def _paid(world: World, channel: str, sku: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        order = await world.place(channel, {sku: (1, 5000)})
        await world.pay(order)
        ids.append(order.id)
    return ids


async def test_resend_after_the_orders_stream_was_deleted(world: World, database_url: str, nats_url: str) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 100})
    channel = await world.channel(location_ids=[warehouse])
    paid = await _paid(world, channel, sku, 3)
    booked = "SELECT order_id FROM settlement.order_settlements"
    await eventually(lambda: _fetch(database_url, booked), lambda got: {o for (o,) in got} >= set(paid))
    published = "SELECT id FROM orders.outbox WHERE published_at IS NOT NULL ORDER BY seq"
    events = [e for (e,) in await eventually(lambda: _fetch(database_url, published), bool)]
    await eventually(lambda: _stream_ids(nats_url), lambda got: got == events)
    applied = "SELECT count(*) FROM settlement.inbox"
    [(inbox_rows,)] = await _fetch(database_url, applied)

    await _delete_stream(nats_url)  # the disaster; settlement's consumer creates the stream again, empty
    await eventually(lambda: _stream_ids(nats_url), lambda got: got == [])

    outbox.console.width = 400
    args = ["outbox", "resend", "--since", since, "--service", "orders", "--yes"]
    result = await asyncio.to_thread(
        CliRunner().invoke, app, [*args, "--nats-url", nats_url, "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert await _stream_ids(nats_url) == events  # every event again, in the outbox's order

    # Settlement gets them again and drops each by its event id: nothing booked twice, no new inbox row.
    await eventually(lambda: _caught_up(nats_url, len(events)), bool)
    assert await _fetch(database_url, applied) == [(inbox_rows,)]
    rows = [o for (o,) in await _fetch(database_url, booked)]
    assert sorted(o for o in rows if o in paid) == sorted(paid)

    [after] = await _paid(world, channel, sku, 1)  # business goes on, on the stream created again
    await eventually(lambda: _fetch(database_url, booked), lambda got: after in {o for (o,) in got})
