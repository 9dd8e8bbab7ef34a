"""`make test-scale`: >= 1,000 orders through two replicas of every service on a three-node JetStream cluster,
one NATS node lost and back, one replica of inventory and of orders killed mid-run. Every order placed once,
every event applied once, no oversell, every reservation expired once, outboxes empty, ledger zero; the
table is printed at the end. SCALE_ORDERS changes the orders (default 1,000)."""

from __future__ import annotations

import os

import pytest

from tests.faults.supervisor import FaultStack
from tests.faults.workload import World
from tests.scale.scenario import RESULTS, run_scale

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]

ORDERS = int(os.environ.get("SCALE_ORDERS", "1000"))


# A safety net only: 8 to 12 minutes on a shared 2-core machine (a busy one stretches every call).
@pytest.mark.timeout(1500)
async def test_two_replicas_of_everything_on_a_three_node_cluster(scale_stack: FaultStack, scale_world: World) -> None:
    row = await run_scale(scale_stack, scale_world, ORDERS)
    RESULTS.append(row)
    print(f"\n{row.explain()}", flush=True)
    assert row.passed, row.explain()
