"""The operator tools' tables are whole when they do not go to a terminal (`onepool_cli.tables`): piped into
grep or less, written to a log, run by `kubectl exec` without a TTY, rich laid them out in 80 columns and folded
long cells over several lines, so `onepool migrate history | grep 0020` found half a row. Every command's
tables go through `print_table`; `migrate history` stands for them here (it needs only a database)."""

from __future__ import annotations

import asyncio
import os

import pytest
from onepool_cli.main import app
from typer.testing import CliRunner

pytestmark = pytest.mark.asyncio

# Orders migration 0020's description, longer than 80 columns with the revision columns beside it.
DESCRIPTION = (
    "orders: partial indexes for ListOrders filtered by a status in flight (orders, and fulfillments to leave)"
)


async def test_a_piped_table_keeps_each_row_on_one_line(database_url: str) -> None:
    env = {**{k: None for k in os.environ if k.startswith("ONEPOOL_")}, "ONEPOOL_DATABASE_URL": database_url}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["migrate", "history", "--service", "orders"], env=env)
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if [c.strip() for c in line.split("│")][1:2] == ["0020"]]
    assert DESCRIPTION in row, result.stdout
