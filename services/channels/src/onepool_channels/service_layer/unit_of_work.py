from __future__ import annotations

from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_channels.adapters.integration import translate
from onepool_channels.adapters.repository import ChannelsRepository


class ChannelsUnitOfWork(UnitOfWork):
    repo: ChannelsRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, source="channels", translate=translate)

    def _start(self) -> None:
        self.repo = ChannelsRepository(self.session, self)
