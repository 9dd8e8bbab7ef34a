"""What every service's SQLModel tables (adapters/orm.py) and repositories share: the timestamp and
money column shapes, the column blocks many tables carry (`Created`, `Updated`, `Stamped`, and the kernel's
`Location` in the two services that store it whole), and the SQLAlchemy Core tables behind the SQLModel
classes (repositories write Core statements; SQLModel does not declare `__table__` to type checkers).

A block is a SQLModel mixin: a table takes it beside its service's base, `class OrderRow(OrdersTable, Stamped,
table=True)`, and gets the columns in its own registry (each service's schema and migrations stay its own;
only the declaration is written once). The columns come first in the table's metadata, which changes
nothing in the database: every schema is built by its service's migrations, and statements name columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Table, func
from sqlmodel import Field, SQLModel


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


def priced_line_checks() -> tuple[CheckConstraint, CheckConstraint]:
    """The rule of every priced line (an order's, a replenishment's): some units, at a price that is not
    negative. Fresh constraints per call (a constraint belongs to one table), under the same names everywhere."""
    return (
        CheckConstraint("quantity > 0", name="line_quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_not_negative"),
    )


def core_table(model: Any) -> Table:
    """The Core `Table` behind a SQLModel class (what repositories build their statements on)."""
    return cast(Table, model.__table__)


def core_tables(*models: Any) -> tuple[Table, ...]:
    """The Core `Table` of each SQLModel class, in order: `_ORDERS, _LINES = core_tables(OrderRow, LineRow)`."""
    return tuple(core_table(model) for model in models)


def _now_stamp() -> Any:
    # sa_type rather than sa_column: a mixin's Column object would be shared by every table that takes it.
    return Field(
        default=None, sa_type=DateTime(timezone=True), nullable=False, sa_column_kwargs={"server_default": func.now()}
    )


class Created(SQLModel):
    """When the row was first written (the database's now() unless the repository gives the domain's time)."""

    created_at: datetime | None = _now_stamp()


class Updated(SQLModel):
    """When the row last changed (the database's now() unless the repository gives the domain's time)."""

    updated_at: datetime | None = _now_stamp()


class Stamped(Created, Updated):
    """Both: the rows of an aggregate that is created once and changed later."""


class LocationColumns(Updated):
    """The kernel's `Location` (inventory.v1.Location), as inventory stores its own locations and dealers
    keeps its copy of them: one declaration, two tables, each in its service's schema and migrations."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(default="", max_length=200)
    type: str = Field(max_length=32)
    owner_dealer_id: str = Field(default="", max_length=64, index=True)
    region: str = Field(default="", max_length=64)
    ships: bool = True
    pickup: bool = False
    priority: int = 0
    active: bool = True
