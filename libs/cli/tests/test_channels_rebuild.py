"""`onepool channels rebuild` says what it rebuilt, from which inventory, in words (it printed a raw
`RebuildReport(locations=1, levels=1, ...)` repr), and names ONEPOOL_INVENTORY_ADDR when that inventory cannot
be reached (with only the banner's old export line it failed UNAVAILABLE on the default 127.0.0.1:50052)."""

from __future__ import annotations

import asyncio
import os
import uuid

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_cli.main import app
from onepool_cli.services import BY_NAME
from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings
from onepool_runtime.embedded import free_port
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import TEST_SECRET, metadata, running_service, test_settings
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio


def _env(database_url: str, inventory: str) -> dict[str, str | None]:
    cleared: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ONEPOOL_")}
    return {
        **cleared,
        "ONEPOOL_DATABASE_URL": database_url,
        "ONEPOOL_INVENTORY_ADDR": inventory,
        "ONEPOOL_JWT_SECRET": TEST_SECRET,
    }


async def test_rebuild_reports_in_words_from_which_inventory(database_url: str, nats_url: str) -> None:
    await upgrade(BY_NAME["channels"].migrations, database_url, "channels")
    settings = test_settings(InventorySettings, database_url, nats_url, grpc_port=free_port())
    async with running_service(settings, build, BY_NAME["inventory"].migrations) as host:
        address = f"127.0.0.1:{host.port}"
        async with grpc.aio.insecure_channel(address) as channel:
            stub = inventory_pb2_grpc.InventoryServiceStub(channel)
            location = f"WH-{uuid.uuid4().hex[:8]}"
            await stub.UpsertLocation(
                ipb.UpsertLocationRequest(
                    location=ipb.Location(id=location, name="wh", type=ipb.LOCATION_TYPE_WAREHOUSE, ships=True)
                ),
                metadata=metadata("admin"),
            )
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["channels", "rebuild"], env=_env(database_url, address)
        )
    assert result.exit_code == 0, (result.exception, result.output)
    assert "RebuildReport(" not in result.output, result.output
    said = f"rebuilt from inventory at {address}: locations: 1, stock levels: 0, dedicated stock allocations: 0, "
    assert said in result.output, result.output
    assert "expected receipts: 0; listing updates published: " in result.output, result.output


async def test_an_unreachable_inventory_names_its_setting(database_url: str) -> None:
    await upgrade(BY_NAME["channels"].migrations, database_url, "channels")
    address = f"127.0.0.1:{free_port()}"
    result = await asyncio.to_thread(CliRunner().invoke, app, ["channels", "rebuild"], env=_env(database_url, address))
    assert result.exit_code == 1, (result.exception, result.output)
    assert f"inventory at {address} (ONEPOOL_INVENTORY_ADDR) refused or is unreachable: UNAVAILABLE" in result.output
