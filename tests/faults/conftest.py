"""The fault suite's stack (real processes, started once per module) and its table, printed at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.runner import RESULTS, format_table
from tests.faults.supervisor import FaultStack
from tests.faults.workload import Client, Stats, World, build_world, new_tag


@pytest.fixture(scope="module")
async def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultStack]:
    stack = FaultStack(Path(tmp_path_factory.mktemp("fault-stack")))
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()


@pytest.fixture(scope="module")
async def fault_world(fault_stack: FaultStack) -> World:
    client = Client(fault_stack, Stats())
    try:
        return await build_world(client, new_tag("W"))
    finally:
        await client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if RESULTS:
        terminalreporter.section("fault runs")
        terminalreporter.write_line(format_table(RESULTS))
        for row in RESULTS:
            if not row.passed:
                terminalreporter.write_line(f"\n{row.fault}:\n{row.explain()}")
