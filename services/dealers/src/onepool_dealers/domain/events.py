"""Dealers domain events: plain dataclasses, past tense, recorded by aggregates."""

from __future__ import annotations

from dataclasses import dataclass

from onepool_dealers.domain.model import Dealer, Replenishment
from onepool_dealers.domain.ownership import OwnershipMoved

__all__ = [
    "DealerRegistered",
    "DealerUpdated",
    "OwnershipMoved",  # recorded by an OwnershipMove, defined beside it (domain/ownership.py)
    "ReplenishmentPlaced",
    "ReplenishmentReceived",
    "ReplenishmentRejected",
    "ReplenishmentShipped",
]


@dataclass(frozen=True)
class DealerRegistered:
    """Recorded once the dealer's sales channel exists, so the event carries its channel id."""

    dealer: Dealer


@dataclass(frozen=True)
class DealerUpdated:
    dealer: Dealer


@dataclass(frozen=True)
class ReplenishmentPlaced:
    replenishment: Replenishment


@dataclass(frozen=True)
class ReplenishmentShipped:
    replenishment: Replenishment


@dataclass(frozen=True)
class ReplenishmentReceived:
    replenishment: Replenishment


@dataclass(frozen=True)
class ReplenishmentRejected:
    replenishment: Replenishment
