from __future__ import annotations

from onepool_runtime.uow import UnitOfWork

from onepool_settlement.adapters.integration import translate
from onepool_settlement.adapters.repository import SettlementRepository


class SettlementUnitOfWork(UnitOfWork, source="settlement", translate=translate):
    repo: SettlementRepository

    def _start(self) -> None:
        self.repo = SettlementRepository(self.session, self)
