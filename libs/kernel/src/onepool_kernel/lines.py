"""Checks on the lines of an order, a reservation, a return or a replenishment: SKU format, quantity range,
line count, one line per SKU. They collect every problem with its field path, so a caller learns everything
wrong with a request in one INVALID_ARGUMENT (`Violations.raise_if_any`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from onepool_kernel.errors import Violations

SKU_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}\Z")
MAX_QUANTITY = 1_000_000
MAX_LINES = 500


@dataclass(frozen=True)
class StockLine:
    """Units of one SKU: a line of a transfer, a replenishment's request, a fulfillment or a return."""

    sku: str
    quantity: int


class Line(Protocol):
    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> int: ...


def check_sku(v: Violations, path: str, value: str) -> None:
    if not value:
        v.add(path, "is required")
    elif not SKU_RE.match(value):
        v.add(path, "must be 1-64 letters, digits, '-', '_', '.', ':', '/'")


def check_quantity(v: Violations, path: str, value: int, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if value < low:
        v.add(path, "must be positive" if not allow_zero else "must not be negative")
    elif value > MAX_QUANTITY:
        v.add(path, f"must be at most {MAX_QUANTITY}")


def check_lines(v: Violations, path: str, lines: Sequence[Line], *, unique_skus: bool = True) -> None:
    """At least one and at most MAX_LINES lines, each with a valid SKU and a quantity in 1..MAX_QUANTITY;
    with `unique_skus`, a SKU appears on one line only (the caller merges lines, so amounts stay exact)."""
    if not lines:
        v.add(path, "must not be empty")
    if len(lines) > MAX_LINES:
        v.add(path, f"must have at most {MAX_LINES} lines")
    seen: set[str] = set()
    for i, line in enumerate(lines):
        check_sku(v, f"{path}[{i}].sku", line.sku)
        check_quantity(v, f"{path}[{i}].quantity", line.quantity)
        if unique_skus and line.sku in seen:
            v.add(f"{path}[{i}].sku", "appears twice; merge the lines")
        seen.add(line.sku)
