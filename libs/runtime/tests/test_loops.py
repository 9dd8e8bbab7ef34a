"""onepool_runtime.loops.repeat: a failed pass does not end the loop, a full batch is followed at once, and
cancellation ends it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from onepool_runtime.loops import repeat

pytestmark = pytest.mark.asyncio


async def test_a_failed_pass_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []
    done = asyncio.Event()

    async def one_pass() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("a bug in the pass")
        if len(passes) == 3:
            done.set()

    with caplog.at_level(logging.ERROR, logger="onepool_runtime.loops"):
        task = asyncio.create_task(repeat(one_pass, interval=0.01, what="the test's pass"))
        await asyncio.wait_for(done.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert passes == [0, 1, 2]
    assert "the test's pass failed; next pass in 0.0s" in caplog.text


async def test_a_pass_with_more_due_is_followed_without_waiting() -> None:
    """Three full batches then an empty one: four passes before the first wait, which lasts an hour."""
    batches = [True, True, True, False]
    passes = 0
    fourth = asyncio.Event()

    async def one_pass() -> bool:
        nonlocal passes
        passes += 1
        if passes == 4:
            fourth.set()
        return batches.pop(0) if batches else False

    task = asyncio.create_task(repeat(one_pass, interval=3600, what="sweep"))
    await asyncio.wait_for(fourth.wait(), timeout=10)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert passes == 4


async def test_an_outage_is_one_warning_line_and_a_bug_is_an_error_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Expected while the database restarts: no traceback to fire an alert on ERROR lines (before: 32 ERROR
    tracebacks in a 7 s restart)."""
    failures = [ConnectionRefusedError("connect call failed"), KeyError("a bug")]
    done = asyncio.Event()

    async def one_pass() -> None:
        if failures:
            raise failures.pop(0)
        done.set()

    with caplog.at_level(logging.WARNING, logger="onepool_runtime.loops"):
        task = asyncio.create_task(repeat(one_pass, interval=0.01, what="sweep"))
        await asyncio.wait_for(done.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    outage, bug = caplog.records[:2]
    assert outage.levelno == logging.WARNING and outage.exc_info is None
    assert outage.getMessage() == "sweep waits: the database is unreachable or busy; next pass in 0.0s"
    assert bug.levelno == logging.ERROR and bug.exc_info is not None
