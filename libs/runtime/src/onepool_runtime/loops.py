"""A service's background loop: one pass, again and again, that outlives its own failures.

A pass that fails (the database restarting, a peer down) is logged and the next one runs after the interval, as
if it had succeeded: the work it did not do is still there for the next. An outage (infra.py) is one WARNING
line naming what is down; anything else is an ERROR with its traceback. A pass that says more is due at once
(a full batch) is followed by the next without waiting. Cancellation (the service stopping) ends the loop.
The host also restarts a task that dies (server.py), but a second later and with no word of what it was doing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from onepool_runtime import infra

log = logging.getLogger(__name__)


async def repeat(
    one_pass: Callable[[], Awaitable[bool | None]], *, interval: float, what: str, first_after: float = 0.0
) -> None:
    """Run `one_pass` forever, `interval` seconds after each pass that did not return True (first after
    `first_after` seconds); `what` names it in the log."""
    if first_after > 0:
        await asyncio.sleep(first_after)
    while True:
        try:
            while await one_pass():
                pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if infra.is_infrastructure(exc):  # expected during an outage: one line, no traceback for alerts on
                log.warning("%s waits: %s; next pass in %.1fs", what, infra.dependency(exc), interval)
            else:
                log.exception("%s failed; next pass in %.1fs", what, interval)
        await asyncio.sleep(interval)
