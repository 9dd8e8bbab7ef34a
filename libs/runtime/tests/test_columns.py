"""The column blocks tables take as mixins: each table gets columns of its own, in its own registry, with the
same DDL as the columns written out in the table."""

from __future__ import annotations

from datetime import datetime

from onepool_runtime.columns import LocationColumns, Stamped, priced_line_checks, timestamp_column
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import registry
from sqlalchemy.schema import CreateTable
from sqlmodel import Field, SQLModel


class OneSchema(SQLModel, registry=registry()):
    pass


class OtherSchema(SQLModel, registry=registry()):
    pass


class WrittenOut(OneSchema, table=True):
    __tablename__ = "written_out"

    id: str = Field(primary_key=True, max_length=64)
    created_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    updated_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class Mixed(OneSchema, Stamped, table=True):
    __tablename__ = "mixed"
    __table_args__ = priced_line_checks()

    id: str = Field(primary_key=True, max_length=64)
    quantity: int
    unit_price_minor: int


class LocationsHere(OneSchema, LocationColumns, table=True):
    __tablename__ = "locations"


class LocationsThere(OtherSchema, LocationColumns, table=True):
    __tablename__ = "locations"


def _ddl(model: object) -> dict[str, str]:
    table = model.__table__  # type: ignore[attr-defined]
    return {
        c.name: str(CreateTable(table).columns[i].compile(dialect=postgresql.dialect()))
        for i, c in enumerate(table.columns)
    }


def test_a_mixed_in_timestamp_is_the_column_written_out() -> None:
    written, mixed = _ddl(WrittenOut), _ddl(Mixed)
    assert mixed["created_at"] == written["created_at"] == "created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL"
    assert mixed["updated_at"] == written["updated_at"]


def test_each_table_gets_columns_and_constraints_of_its_own() -> None:
    here, there = LocationsHere.__table__, LocationsThere.__table__  # type: ignore[attr-defined]
    assert here.metadata is OneSchema.metadata and there.metadata is OtherSchema.metadata
    assert [c.name for c in here.columns] == [c.name for c in there.columns]
    assert all(a is not b for a, b in zip(here.columns, there.columns, strict=True))
    assert {c.name for c in here.columns} >= {"id", "name", "type", "owner_dealer_id", "active", "updated_at"}
    first, second = priced_line_checks(), priced_line_checks()
    assert [c.name for c in first] == [c.name for c in second] == ["line_quantity_positive", "unit_price_not_negative"]
    assert all(a is not b for a, b in zip(first, second, strict=True))
    assert {c.name for c in Mixed.__table__.constraints} >= {"line_quantity_positive", "unit_price_not_negative"}  # type: ignore[attr-defined]
