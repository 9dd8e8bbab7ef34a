from __future__ import annotations

from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_settlement.adapters.integration import translate
from onepool_settlement.adapters.repository import SettlementRepository


class SettlementUnitOfWork(UnitOfWork):
    repo: SettlementRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, source="settlement", translate=translate)

    def _start(self) -> None:
        self.repo = SettlementRepository(self.session, self)
