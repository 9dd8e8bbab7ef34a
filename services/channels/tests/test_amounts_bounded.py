"""An amount in a marketplace payload is read in one pass however it is written (review of 6b285f5): the strict
decimal pattern could split a run of digits two ways, so "1" * 16,000 + "x" took 5 s to refuse, and a 512 KiB
payload of such amounts held a channels replica's event loop (every RPC, its probes) for hours. Refused now
by length before anything reads it; a JSON number of as many digits likewise."""

from __future__ import annotations

from decimal import Decimal

import pytest
from onepool_channels.domain.imports import to_minor

# Before the fix each of these took minutes (quadratic in their length): the suite's timeout ends the test.
HOSTILE = [
    "1" * 200_000 + "x",
    "1" * 200_000 + ".",
    "1." + "0" * 200_000 + "x",
    "1" + "0" * 200_000,
    " " * 100 + "12.50",
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: f"{len(t)} characters")
def test_a_long_amount_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="decimal amount"):
        to_minor(text, "CNY")


def test_a_json_number_of_thousands_of_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="decimal amount"):
        to_minor(Decimal("1." + "0" * 200_000), "CNY")


@pytest.mark.parametrize(
    ("text", "minor"), [("12.50", 1250), (" 12.5 ", 1250), ("1e3", 100_000), (".5", 50), ("0", 0), ("7.", 700)]
)
def test_what_a_marketplace_writes_is_still_read(text: str, minor: int) -> None:
    assert to_minor(text, "CNY") == minor
