from __future__ import annotations

from onepool_runtime.uow import UnitOfWork

from onepool_channels.adapters.integration import translate
from onepool_channels.adapters.repository import ChannelsRepository


class ChannelsUnitOfWork(UnitOfWork, source="channels", translate=translate):
    repo: ChannelsRepository

    def _start(self) -> None:
        self.repo = ChannelsRepository(self.session, self)
