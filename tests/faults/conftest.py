"""The fault suite's stack (real processes, started once per module) and its table, printed at the end."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.runner import RESULTS, format_table
from tests.faults.supervisor import FaultStack
from tests.faults.workload import Client, Stats, World, build_world, new_tag


@pytest.fixture(scope="module")
async def fault_stack() -> AsyncIterator[FaultStack]:
    # Not under pytest's basetemp: pytest prunes all but the newest three of those, and other sessions on the
    # machine would delete the database of a long run from under it. Logs stay when a run failed.
    base = Path(tempfile.mkdtemp(prefix="onepool-faults-"))
    stack = FaultStack(base)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
    if all(row.passed for row in RESULTS):
        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"\nfault stack logs kept in {stack.logs}")


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
