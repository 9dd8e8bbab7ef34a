from __future__ import annotations

from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_dealers.adapters.integration import translate
from onepool_dealers.adapters.repository import DealersRepository


class DealersUnitOfWork(UnitOfWork):
    repo: DealersRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, source="dealers", translate=translate)

    def _start(self) -> None:
        self.repo = DealersRepository(self.session, self)
