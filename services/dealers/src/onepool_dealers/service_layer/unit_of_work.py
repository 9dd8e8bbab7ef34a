from __future__ import annotations

import logging
from collections.abc import Callable

from onepool_runtime.uow import UnitOfWork

from onepool_dealers.adapters.integration import translate
from onepool_dealers.adapters.repository import DealersRepository

log = logging.getLogger(__name__)


class DealersUnitOfWork(UnitOfWork, source="dealers", translate=translate):
    repo: DealersRepository

    def _start(self) -> None:
        self.repo = DealersRepository(self.session, self)
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction has committed (never if it rolls back): what must follow a
        change outside the transaction, e.g. a call to another service, which a consumer's transaction must
        not wait on. It runs in the committing task, so it must not block; whatever it starts must survive
        being lost (a crash right after the commit), as the recovery loop makes sure it does."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        await super().commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the change is committed: a callback's failure must not look like the commit's
                log.exception("after-commit callback failed; the recovery loop will finish its work")
