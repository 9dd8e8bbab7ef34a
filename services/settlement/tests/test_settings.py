"""The fulfillment fee setting answers to the contract's spelling and, for deployments that set it, its first one."""

from __future__ import annotations

import pytest
from onepool_settlement.settings import SettlementSettings


def test_the_fee_is_read_from_the_contract_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPOOL_FULFILLMENT_FEE_BPS", "700")
    assert SettlementSettings().fulfillment_fee_bps == 700


def test_the_first_spelling_still_sets_the_fee(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPOOL_FULFILMENT_FEE_BPS", "650")
    assert SettlementSettings().fulfillment_fee_bps == 650


def test_the_contract_spelling_wins_when_both_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEPOOL_FULFILMENT_FEE_BPS", "650")
    monkeypatch.setenv("ONEPOOL_FULFILLMENT_FEE_BPS", "700")
    assert SettlementSettings().fulfillment_fee_bps == 700


def test_the_default_and_the_bounds_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEPOOL_FULFILLMENT_FEE_BPS", raising=False)
    monkeypatch.delenv("ONEPOOL_FULFILMENT_FEE_BPS", raising=False)
    assert SettlementSettings().fulfillment_fee_bps == 500
    assert SettlementSettings(fulfillment_fee_bps=300).fulfillment_fee_bps == 300
    monkeypatch.setenv("ONEPOOL_FULFILMENT_FEE_BPS", "10001")
    with pytest.raises(ValueError, match="less than or equal to 10000"):
        SettlementSettings()
