"""SQLModel tables of the dealers schema."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class DealersTable(SQLModel, registry=registry()):
    pass


metadata = DealersTable.metadata
