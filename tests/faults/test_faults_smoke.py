"""The fault suite's smoke subset for `make test`: a short workload with a kill -9 of the orders service
(the saga's owner) mid-way, on its own stack of real processes, held to the same targets as the full suite."""

from __future__ import annotations

import pytest

from tests.faults.runner import BY_NAME, RESULTS, run_fault
from tests.faults.supervisor import FaultStack
from tests.faults.workload import World

pytestmark = pytest.mark.asyncio


@pytest.mark.timeout(900)  # a safety net only: about a minute on an idle 2-core machine
async def test_kill9_orders_mid_workload(fault_stack: FaultStack, fault_world: World) -> None:
    row = await run_fault(fault_stack, fault_world, BY_NAME["kill9-orders"], 100)
    RESULTS.append(row)
    assert row.passed, row.explain()
