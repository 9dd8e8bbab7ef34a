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


@pytest.mark.timeout(900)
async def test_a_stack_a_failed_run_left_broken_is_put_back_before_the_next(
    fault_stack: FaultStack, fault_world: World
) -> None:
    # What a run that failed mid-fault can leave: PostgreSQL and nats-server down, a service killed, a fault
    # hook still armed. Before `heal`, every later run of the module failed on it.
    await fault_stack.restart_with("dealers", {"ONEPOOL_FAULT_CONSUMER_EXIT_AFTER": "1000000"})
    await fault_stack.kill9("inventory")
    await fault_stack.nats_kill9()
    await fault_stack.pg_immediate_stop()
    healed = await fault_stack.heal()
    assert healed[:2] == ["PostgreSQL started", f"nats-server :{fault_stack.nats.url.rsplit(':', 1)[1]} started"]
    assert sorted(healed[2:]) == ["dealers restarted without its fault settings", "inventory started"]
    assert await fault_stack.heal() == []
    row = await run_fault(fault_stack, fault_world, BY_NAME["none"], 30)
    RESULTS.append(row)
    assert row.passed, row.explain()
