"""SQLModel tables of the settlement schema."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class SettlementTable(SQLModel, registry=registry()):
    pass


metadata = SettlementTable.metadata
