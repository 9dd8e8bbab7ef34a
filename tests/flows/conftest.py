"""The orders flows' usual world: inventory and orders with quick sweeps and saga recovery. A module that needs
other services or settings defines its own `world`, which overrides this one."""

from __future__ import annotations

import pytest

from tests.support.orders import World


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await stack.start("orders", recovery_interval_seconds=0.2, recovery_after_seconds=1.0)
    return World(stack.stub("inventory"), stack.stub("orders"), admin, stack.nats_url)
