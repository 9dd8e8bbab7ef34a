from __future__ import annotations

from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_inventory.adapters.integration import translate
from onepool_inventory.adapters.repository import InventoryRepository


class InventoryUnitOfWork(UnitOfWork):
    repo: InventoryRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, source="inventory", translate=translate)

    def _start(self) -> None:
        self.repo = InventoryRepository(self.session, self)

    async def commit(self) -> None:
        await self.repo.save_levels()
        await super().commit()
