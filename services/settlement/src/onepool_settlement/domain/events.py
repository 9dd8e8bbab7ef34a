"""Settlement domain events: plain dataclasses, past tense."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onepool_settlement.domain.model import JournalEntry, JournalLine
    from onepool_settlement.domain.statements import Statement


@dataclass(frozen=True)
class EntryPosted:
    entry: JournalEntry
    lines: tuple[JournalLine, ...]


@dataclass(frozen=True)
class StatementGenerated:
    statement: Statement
