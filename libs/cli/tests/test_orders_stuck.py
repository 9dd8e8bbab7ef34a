"""`onepool orders stuck` refuses what it cannot read in one line: a duration it does not understand (exit 2
naming --older-than) and a database whose orders schema was never migrated (exit 1 saying so); on a migrated
one with nothing waiting it still names every state (an operator reading it learns what may wait). Its tables
against a running stack: tests/flows/test_orders_stuck.py."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from onepool_cli.main import app
from onepool_cli.services import BY_NAME
from onepool_runtime.migrations import upgrade
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio


def _env(database_url: str) -> dict[str, str | None]:
    return {**{k: None for k in os.environ if k.startswith("ONEPOOL_")}, "ONEPOOL_DATABASE_URL": database_url}


async def test_an_unreadable_duration_is_refused_naming_the_option(database_url: str) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["orders", "stuck", "--older-than", "5 minutes"], env=_env(database_url)
    )
    assert result.exit_code == 2, result.output
    assert "--older-than" in result.output and "5m" in result.output, result.output


async def test_an_unmigrated_database_is_said_so(database_url: str) -> None:
    result = await asyncio.to_thread(CliRunner().invoke, app, ["orders", "stuck"], env=_env(database_url))
    assert result.exit_code == 1, result.output
    assert "not migrated" in result.output, result.output
    assert "Traceback" not in result.output


async def test_every_state_is_listed_when_nothing_waits(database_url: str) -> None:
    await upgrade(BY_NAME["orders"].migrations, database_url, "orders")
    result = await asyncio.to_thread(CliRunner().invoke, app, ["orders", "stuck", "--json"], env=_env(database_url))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["row"], r["state"], r["orders"]) for r in rows] == [
        ("waiting", state, 0)
        for state in (
            "awaiting_reservation",  # PENDING; "awaiting stock" is lines waiting for goods, as goods_overdue
            "awaiting_payment",
            "balance_overdue",
            "awaiting_inventory",
            "goods_overdue",
        )
    ]
