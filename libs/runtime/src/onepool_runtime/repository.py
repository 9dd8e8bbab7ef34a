"""The base of every service's repositories: the unit of work's session, and the unit itself.

A repository reports each aggregate it loads for change, or adds, to the unit (`self._uow.track`), so the
events the aggregate records are written to the outbox in the same transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from onepool_runtime.uow import UnitOfWork


class Repository:
    def __init__(self, session: AsyncSession, uow: UnitOfWork) -> None:
        self.session = session
        self._uow = uow
