"""`onepool events tail`, `onepool outbox status` and `onepool migrate current|history|--to` against a real
nats-server and a real PostgreSQL, run as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import events_pb2 as inventory_events
from onepool.orders.v1 import events_pb2 as order_events
from onepool_cli import migrate as migrations
from onepool_cli import natsconn, outbox
from onepool_cli.main import app
from onepool_cli.services import BY_NAME
from onepool_runtime import messaging
from onepool_runtime.migrations import resolve, upgrade
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio
ONEPOOL = str(Path(sys.executable).parent / "onepool")


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}, **extra}


@dataclass
class Ran:
    returncode: int
    stdout: str


async def _onepool(*args: str, **env: str) -> Ran:
    """`onepool ...` in this process (importing the CLI once, not per call) with `env` set, in a thread: the
    commands run their own event loops."""
    for module in (migrations, outbox, natsconn):
        module.console.width = 200  # one table row per line
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    return Ran(result.exit_code, result.output)


async def test_events_tail_prints_each_event_as_json_decoded_by_its_type(nats_url: str) -> None:
    tail = subprocess.Popen(  # noqa: ASYNC220
        [ONEPOOL, "events", "tail", "--nats-url", nats_url, "--count", "3", "inventory.>", "orders.order.placed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    nc: Client = await messaging.connect(nats_url, "tail-test")
    try:
        assert tail.stderr is not None
        ready = await asyncio.wait_for(asyncio.to_thread(tail.stderr.readline), timeout=60)
        assert ready.startswith("tailing inventory.> orders.order.placed"), ready

        sku, order_id = f"SKU-{uuid.uuid4().hex[:6]}", str(uuid.uuid4())
        stock = inventory_events.StockChanged(meta=common_pb2.EventMeta(event_id="e-stock"))
        stock.level.sku = sku
        placed = order_events.OrderPlaced(meta=common_pb2.EventMeta(event_id="e-placed"))
        placed.order.id = order_id
        published = [
            ("inventory.stock.changed", stock.SerializeToString(), "e-stock", stock),
            ("channels.channel.created", b"", "e-other", None),  # not tailed
            ("orders.order.placed", placed.SerializeToString(), "e-placed", placed),
            ("inventory.stock.changed", b"\xff\xfe", "e-broken", stock),  # what a broken producer would send
        ]
        for subject, data, event_id, message in published:
            headers = {MSG_ID_HEADER: event_id}
            if message is not None:
                headers[EVENT_TYPE_HEADER] = message.DESCRIPTOR.full_name
            await nc.publish(subject, data, headers=headers)
        await nc.flush()
        out, err = await asyncio.to_thread(tail.communicate, timeout=60)
    finally:
        if tail.poll() is None:
            tail.kill()
        await nc.close()
    assert tail.returncode == 0, err
    # Each subscription delivers in order; between two subscriptions the order is the server's to choose.
    lines = {line["event_id"]: line for line in map(json.loads, out.splitlines())}
    assert {(e, line["subject"]) for e, line in lines.items()} == {
        ("e-stock", "inventory.stock.changed"),
        ("e-placed", "orders.order.placed"),
        ("e-broken", "inventory.stock.changed"),
    }
    stock_line, placed_line, broken = lines["e-stock"], lines["e-placed"], lines["e-broken"]
    assert stock_line["type"] == "onepool.inventory.v1.StockChanged"
    assert stock_line["event"]["level"]["sku"] == sku and stock_line["event"]["meta"]["eventId"] == "e-stock"
    assert placed_line["type"] == "onepool.orders.v1.OrderPlaced" and placed_line["event"]["order"]["id"] == order_id
    assert "event" not in broken and broken["data_hex"] == "fffe" and broken["undecodable"]


async def test_events_tail_says_when_nats_is_unreachable() -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [ONEPOOL, "events", "tail", "--nats-url", "nats://127.0.0.1:1", "--count", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert result.returncode == 1 and "not reachable" in result.stderr and result.stdout == ""


async def test_outbox_status_shows_backlog_and_oldest_age_per_service(postgres) -> None:  # type: ignore[no-untyped-def]
    database_url = await postgres.new_database("obx")
    for name in ("orders", "inventory"):
        await upgrade(BY_NAME[name].migrations, database_url, name)
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        await conn.execute(
            """INSERT INTO orders.outbox (id, subject, payload, created_at, published_at, attempts, last_error)
               VALUES ('a', 'orders.order.placed', '', now() - interval '90 seconds', NULL, 2, 'nats: timeout'),
                      ('b', 'orders.order.paid', '', now() - interval '5 seconds', NULL, 0, NULL),
                      ('c', 'orders.order.placed', '', now() - interval '1 hour', now(), 1, NULL)"""
        )
    finally:
        await conn.close()

    result = await _onepool("outbox", "status", "--json", "--database-url", database_url)
    assert result.returncode == 0, result.stdout
    rows = {row["service"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {"orders", "inventory", "channels", "dealers", "settlement"}
    orders = rows["orders"]
    assert (orders["migrated"], orders["backlog"], orders["retried"]) == (True, 2, 1)  # the published row is not
    assert 90 <= orders["oldest_age_seconds"] < 3600 and orders["last_error"] == "nats: timeout"
    assert rows["inventory"] == {**rows["inventory"], "migrated": True, "backlog": 0, "oldest_age_seconds": 0.0}
    assert not rows["channels"]["migrated"]

    table = await _onepool("outbox", "status", "--database-url", database_url)
    assert table.returncode == 0
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in table.stdout.splitlines() if "│" in line]
    assert next(c for c in cells if c[0] == "orders")[:2] == ["orders", "2"], table.stdout
    assert "not migrated" in table.stdout


async def test_migrate_current_history_and_to_a_revision(postgres) -> None:  # type: ignore[no-untyped-def]
    database_url = await postgres.new_database("mig")
    orders = BY_NAME["orders"]
    head = resolve(orders.migrations, "head")
    env = {"ONEPOOL_DATABASE_URL": database_url}

    before = await _onepool("migrate", "current", "-s", "orders", **env)
    assert before.returncode == 0 and "not migrated" in before.stdout

    assert (await _onepool("migrate", "-s", "orders", **env)).returncode == 0
    now = await _onepool("migrate", "current", "-s", "orders", **env)
    assert f" {head} " in now.stdout and "up to date" in now.stdout

    down = await _onepool("migrate", "--to", "0002", "-s", "orders", **env)
    assert down.returncode == 0, down.stdout
    assert f"orders: downgraded from {head} to 0002" in down.stdout
    assert await _tables(database_url, "orders") >= {"orders", "order_lines"}
    assert "channels" not in await _tables(database_url, "orders")  # 0003's table is gone
    behind = await _onepool("migrate", "current", "-s", "orders", **env)
    assert " 0002 " in behind.stdout and "behind" in behind.stdout

    listed = await _onepool("migrate", "history", "-s", "orders", **env)
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if line.count("│") >= 5}
    assert {"0001", "0002", head} <= rows.keys()
    assert "current" in rows["0002"] and "head" in rows[head] and "current" not in rows[head]

    up = await _onepool("migrate", "--to", "head", "-s", "orders", **env)
    assert up.returncode == 0 and "channels" in await _tables(database_url, "orders")

    refused = await _onepool("migrate", "--to", "0002", **env)  # a revision of which service?
    assert refused.returncode == 2 and "--service" in refused.stdout
    unknown = await _onepool("migrate", "--to", "9999", "-s", "orders", **env)
    assert unknown.returncode == 2 and "9999" in unknown.stdout
    assert "up to date" in (await _onepool("migrate", "current", "-s", "orders", **env)).stdout


async def _tables(database_url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()
