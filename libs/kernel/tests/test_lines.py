"""The order-line checks: every problem is reported with its field path, all at once."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from onepool_kernel.errors import InvalidArgument, Violations
from onepool_kernel.lines import MAX_LINES, MAX_QUANTITY, check_lines


@dataclass
class Line:
    sku: str
    quantity: int


def problems(lines: list[Line], *, unique_skus: bool = True) -> dict[str, str]:
    v = Violations()
    check_lines(v, "lines", lines, unique_skus=unique_skus)
    return {item.field: item.description for item in v.items}


def test_good_lines_pass() -> None:
    assert problems([Line("SKU-1", 1), Line("a/b:c.d_e", MAX_QUANTITY)]) == {}


def test_every_bad_line_is_named() -> None:
    found = problems([Line("", 1), Line("-bad", 0), Line("OK", MAX_QUANTITY + 1), Line("OK", -3)])
    assert found == {
        "lines[0].sku": "is required",
        "lines[1].sku": "must be 1-64 letters, digits, '-', '_', '.', ':', '/'",
        "lines[1].quantity": "must be positive",
        "lines[2].quantity": f"must be at most {MAX_QUANTITY}",
        "lines[3].quantity": "must be positive",
        "lines[3].sku": "appears twice; merge the lines",
    }


def test_repeated_skus_may_be_allowed() -> None:
    assert problems([Line("A", 1), Line("A", 2)], unique_skus=False) == {}


def test_line_count_is_bounded() -> None:
    assert problems([]) == {"lines": "must not be empty"}
    too_many = [Line(f"S{i}", 1) for i in range(MAX_LINES + 1)]
    assert problems(too_many) == {"lines": f"must have at most {MAX_LINES} lines"}


def test_violations_raise_one_invalid_argument() -> None:
    v = Violations()
    check_lines(v, "lines", [Line("", 0)])
    with pytest.raises(InvalidArgument) as caught:
        v.raise_if_any()
    assert [x.field for x in caught.value.violations] == ["lines[0].sku", "lines[0].quantity"]
