"""The currencies an amount may be in: ISO 4217's active codes, not any three capital letters."""

from __future__ import annotations

import pytest
from onepool_kernel.currencies import MINOR_UNITS, is_currency


@pytest.mark.parametrize("code", ["CNY", "USD", "EUR", "JPY", "KWD", "XOF", "XCG", "ZWG", "SLE", "VED"])
def test_active_codes_are_currencies(code: str) -> None:
    assert is_currency(code)


@pytest.mark.parametrize(
    "code",
    [
        "ZZZ",  # format alone let it in (audit Y)
        "ABC",
        "XXX",  # "no currency"
        "XTS",  # reserved for testing
        "XAU",  # gold: no minor unit, never a price
        "XDR",
        "HRK",  # withdrawn (the euro, 2023)
        "SLL",
        "ZWL",
        "cny",
        "CNY ",
        "",
    ],
)
def test_other_codes_are_not(code: str) -> None:
    assert not is_currency(code)


def test_minor_units_are_iso_4217s() -> None:
    assert len(MINOR_UNITS) == 165  # List One 2026-01-01, less its 13 codes without a minor unit
    assert (MINOR_UNITS["CNY"], MINOR_UNITS["JPY"], MINOR_UNITS["KWD"], MINOR_UNITS["CLF"]) == (2, 0, 3, 4)
    assert (MINOR_UNITS["XOF"], MINOR_UNITS["UGX"], MINOR_UNITS["IQD"]) == (0, 0, 3)
    with pytest.raises(TypeError):
        MINOR_UNITS["ZZZ"] = 2  # type: ignore[index]
