"""How long an imported unpaid order holds its stock (Channel.import_hold_seconds) and where the formats read
the marketplace's payment deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from onepool_channels.adapters import formats
from onepool_channels.domain.model import AllocationPolicy, Channel, ChannelType
from onepool_kernel.errors import InvalidArgument

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def channel(**terms: int) -> Channel:
    return Channel("c", "C", "C", ChannelType.MARKETPLACE, AllocationPolicy(), **terms)  # type: ignore[arg-type]


def test_the_channels_term_bounded_by_the_marketplaces_deadline() -> None:
    assert channel().import_hold_seconds(None, AT, paid=False) == 86_400
    assert channel().import_hold_seconds(AT + timedelta(minutes=30), AT, paid=False) == 1800
    assert channel(import_payment_ttl_seconds=600).import_hold_seconds(AT + timedelta(hours=5), AT, paid=False) == 600
    assert channel().import_hold_seconds(AT - timedelta(hours=1), AT, paid=False) == 60  # the least: a minute
    assert channel().import_hold_seconds(AT - timedelta(hours=1), AT, paid=True) == 86_400  # paid at once
    for wrong in (59, 7 * 86_400 + 1):
        with pytest.raises(InvalidArgument):
            channel(import_payment_ttl_seconds=wrong)


def test_taobao_and_generic_payment_deadlines() -> None:
    trade = (
        '{"tid": "1", "status": "WAIT_BUYER_PAY", "buyer_nick": "b", "receiver_state": "上海", "payment": "1.00",'
        ' "timeout_action_time": "2026-11-23 10:15:30", "orders": {"order": [{"outer_sku_id": "S", "num": 1,'
        ' "price": "1.00"}]}}'
    )
    assert formats.parse("taobao", trade).pay_by == datetime(2026, 11, 23, 2, 15, 30, tzinfo=UTC)
    generic = (
        '{"external_order_id": "G", "currency": "CNY", "pay_by": "2026-11-23T10:15:30+08:00",'
        ' "lines": [{"channel_sku": "S", "quantity": 1, "unit_price": "1.00"}]}'
    )
    assert formats.parse("generic", generic).pay_by == datetime(2026, 11, 23, 2, 15, 30, tzinfo=UTC)
    with pytest.raises(InvalidArgument) as bad:
        formats.parse("generic", generic.replace("2026-11-23T10:15:30+08:00", "tomorrow"))
    assert [v.field for v in bad.value.violations] == ["payload.pay_by"]
