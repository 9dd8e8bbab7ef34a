"""SQLModel tables of the channels schema."""

from __future__ import annotations

from sqlalchemy.orm import registry
from sqlmodel import SQLModel


class ChannelsTable(SQLModel, registry=registry()):
    pass


metadata = ChannelsTable.metadata
