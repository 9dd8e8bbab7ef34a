"""SQLModel tables of the orders schema."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class OrdersTable(SQLModel, registry=registry()):
    pass


metadata = OrdersTable.metadata
