"""lifecycle.Turns: calls that ask inventory while holding a connection take turns (at most `slots` at
once); one that cannot have a turn within `wait` is UNAVAILABLE before anything is done. The real-stack
side (a stalled inventory, GetOrder still served) is tests/flows/test_orders_inventory_turns.py."""

from __future__ import annotations

import asyncio

import pytest
from onepool_orders.service_layer.lifecycle import Turns
from onepool_runtime.errors import Unavailable

pytestmark = pytest.mark.asyncio


async def test_a_call_waits_for_a_turn_and_gives_up_after_the_wait() -> None:
    turns = Turns(slots=1, wait=0.05)
    async with turns.turn():
        with pytest.raises(Unavailable, match="nothing was recorded; retry"):
            async with turns.turn():
                raise AssertionError("had a turn while the only one was taken")
    async with turns.turn():  # the turn was given back, and the refused wait took none
        pass


async def test_a_waiting_call_has_the_turn_as_soon_as_it_is_given_back() -> None:
    turns = Turns(slots=1, wait=5)
    order: list[str] = []

    async def first() -> None:
        async with turns.turn():
            await asyncio.sleep(0.05)
            order.append("first")

    async def second() -> None:
        await asyncio.sleep(0.01)
        async with turns.turn():
            order.append("second")

    await asyncio.gather(first(), second())
    assert order == ["first", "second"]
