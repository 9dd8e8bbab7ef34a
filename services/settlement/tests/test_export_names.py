"""A statement file is named for the business date its period ends on, in the brand's business time zone
(settings.business_time_zone): a month closed at midnight in Shanghai ends at 16:00 UTC the day before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from onepool_settlement.adapters.export import filename
from onepool_settlement.domain.statements import Statement
from onepool_settlement.settings import SettlementSettings

SHANGHAI = timezone(timedelta(hours=8))


def statement(end: datetime) -> Statement:
    return Statement("st-1", "dealer:D1", "CNY", end - timedelta(days=30), end, 0, [], 0)


def test_a_shanghai_month_is_named_for_the_day_it_ends_there() -> None:
    end = datetime(2026, 12, 1, tzinfo=SHANGHAI)  # 2026-11-30T16:00Z
    assert filename(statement(end), ZoneInfo("Asia/Shanghai")) == "statement-dealer-D1-CNY-2026-12-01-st-1.csv"
    # The same instant's business date elsewhere is that zone's own.
    assert "-2026-11-30-" in filename(statement(end), ZoneInfo("America/New_York"))
    assert "-2026-11-30-" in filename(statement(end), UTC)


def test_the_business_time_zone_defaults_to_shanghai_and_must_be_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEPOOL_BUSINESS_TIME_ZONE", raising=False)
    assert SettlementSettings().business_zone == ZoneInfo("Asia/Shanghai")
    monkeypatch.setenv("ONEPOOL_BUSINESS_TIME_ZONE", "Europe/Berlin")
    assert SettlementSettings().business_zone == ZoneInfo("Europe/Berlin")
    monkeypatch.setenv("ONEPOOL_BUSINESS_TIME_ZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="not an IANA time zone"):
        SettlementSettings()
