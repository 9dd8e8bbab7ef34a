"""What every service's SQLModel tables (adapters/orm.py) and repositories share: the timestamp and
money column shapes, and the SQLAlchemy Core tables behind the SQLModel classes (repositories write Core
statements; SQLModel does not declare `__table__` to type checkers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Column, DateTime, Table, func


def timestamp_column(nullable: bool = False, default: bool = True) -> Column[datetime]:
    """A timezone-aware timestamp; a required one defaults to the database's now() unless default=False."""
    return Column(
        DateTime(timezone=True), nullable=nullable, server_default=func.now() if default and not nullable else None
    )


def money_column(nullable: bool = False) -> Column[int]:
    """An amount in minor units (BIGINT: a yuan total in fen overflows INTEGER at about 21 million)."""
    return Column(BigInteger, nullable=nullable, server_default="0")


def counter_column(start: int = 0) -> Column[int]:
    """A version or revision number that only grows (BIGINT, so it never wraps)."""
    return Column(BigInteger, nullable=False, server_default=str(start))


def core_table(model: Any) -> Table:
    """The Core `Table` behind a SQLModel class (what repositories build their statements on)."""
    return cast(Table, model.__table__)


def core_tables(*models: Any) -> tuple[Table, ...]:
    """The Core `Table` of each SQLModel class, in order: `_ORDERS, _LINES = core_tables(OrderRow, LineRow)`."""
    return tuple(core_table(model) for model in models)
