"""Balance checkpoints: keep each party's balance as lines accumulate, so that a balance read between period
closes sums a bounded number of lines (adapters/balances.py).

Every `interval` the loop asks whether `every_lines` lines were posted since the last checkpoint. If so it finds
a quiet instant (the period lock held exclusively for a moment: at most `lock_wait_ms`, since postings queue
behind the wait; if they hold it longer, the next pass tries again) and, in further transactions, writes each
party's balance up to that instant, about `every_lines` lines a transaction. ClosePeriod runs a pass first, so
that what it sums under the period lock is only what was posted since. Every replica runs the loop; the writes
take turns, and a checkpoint a replica wrote already is not written again. Checkpoints older than the last
closed period are pruned on the way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.loops import repeat

from onepool_settlement.service_layer.unit_of_work import SettlementUnitOfWork

log = logging.getLogger(__name__)

Units = Callable[[], SettlementUnitOfWork]


async def keep_checkpoints(units: Units, *, every_lines: int, interval: float) -> None:
    """The service's loop (every replica runs one)."""

    async def one_pass() -> None:
        await checkpoint_once(units, every_lines=every_lines)

    await repeat(one_pass, interval=interval, what="balance checkpoint")


async def checkpoint_once(
    units: Units, *, every_lines: int, force: bool = False, lock_wait_ms: int = 1000, prune_batch: int = 5000
) -> int:
    """One pass: prune, and checkpoint if due (`force`: whenever any line was posted since the last); returns
    the rows written."""
    async with units() as uow:
        await uow.repo.prune_checkpoints(prune_batch)
        due = await uow.repo.checkpoint_due(1 if force else every_lines)
        await uow.commit()
    if not due:
        return 0
    async with units() as uow:
        at = await uow.repo.quiet_instant(lock_wait_ms)
        await uow.commit()
    if at is None:
        log.info("postings held the period lock over %d ms; balance checkpoint deferred", lock_wait_ms)
        return 0
    written = 0
    while True:  # a backlog a chunk of about every_lines lines per transaction (balances.CHECKPOINT_CAP)
        async with units() as uow:
            cap = await uow.repo.checkpoint_cap(every_lines)
            chunk_end = at if cap is None or cap >= at else cap
            written += await uow.repo.write_checkpoints(chunk_end)
            await uow.commit()
        if chunk_end == at:
            return written


async def before_close(units: Units, every_lines: int) -> None:
    """ClosePeriod's first step, outside its transaction: checkpoint what was posted up to now, so that the close
    sums under the period lock (postings wait) only the lines since, not its period's. A pass that fails only
    leaves the close more to sum: the close goes on, and answers for itself."""
    try:
        await checkpoint_once(units, every_lines=every_lines, force=True)
    except Exception:
        log.warning("balance checkpoint before a period close failed; the close sums from the last one", exc_info=True)
