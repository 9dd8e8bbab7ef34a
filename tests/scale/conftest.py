"""The scale suite's stack: one PostgreSQL, a three-node JetStream cluster (streams R3) and two replicas of
every service, as real processes (tests/faults/supervisor.py), started once per module."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.supervisor import FaultStack
from tests.faults.workload import Client, Stats, World, build_world, new_tag
from tests.scale.scenario import RESULTS


@pytest.fixture(scope="module")
async def scale_stack() -> AsyncIterator[FaultStack]:
    base = Path(tempfile.mkdtemp(prefix="onepool-scale-"))
    # Ten service processes starting at once on a small machine: give them longer than the fault suite's one each.
    stack = FaultStack(base, replicas=2, nats_nodes=3, ready_timeout=240.0)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()
    if RESULTS and all(row.passed for row in RESULTS):
        shutil.rmtree(base, ignore_errors=True)
    else:
        print(f"\nscale stack logs kept in {stack.logs}")


@pytest.fixture(scope="module")
async def scale_world(scale_stack: FaultStack) -> World:
    client = Client(scale_stack, Stats())
    try:
        return await build_world(client, new_tag("W"))
    finally:
        await client.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for row in RESULTS:
        terminalreporter.section("scale run")
        terminalreporter.write_line(row.explain())
