from __future__ import annotations

from onepool_runtime.uow import UnitOfWork

from onepool_dealers.adapters.integration import translate
from onepool_dealers.adapters.repository import DealersRepository


class DealersUnitOfWork(UnitOfWork, source="dealers", translate=translate):
    repo: DealersRepository

    def _start(self) -> None:
        self.repo = DealersRepository(self.session, self)
