"""Channel rules as pure Python: allocation math (the same formula inventory enforces), versions, feed diffs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from onepool_channels.adapters.mappers import rules_to_proto
from onepool_channels.domain.events import ChannelChanged, ChannelRegistered, ChannelStockChanged
from onepool_channels.domain.model import (
    AllocationPolicy,
    Channel,
    ChannelStatus,
    ChannelStock,
    ChannelType,
    Listing,
    LocationInfo,
    LocationType,
    StockPosition,
)
from onepool_kernel.money import Money
from onepool_kernel.stock import MAX_UNITS
from onepool_runtime.errors import InvalidArgument

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WH = LocationInfo("WH-1", LocationType.WAREHOUSE)
SHOP = LocationInfo("SHOP-1", LocationType.STORE)
DEALER_SHOP = LocationInfo("DS-1", LocationType.DEALER_STORE, "D-1")
CLOSED = LocationInfo("SHOP-2", LocationType.STORE, active=False)


def stock(**available: int) -> list[StockPosition]:
    locations = {loc.id.replace("-", "_"): loc for loc in (WH, SHOP, DEALER_SHOP, CLOSED)}
    return [StockPosition("SKU", locations[key], n) for key, n in available.items()]


def channel(allocation: AllocationPolicy = AllocationPolicy(), **kw: object) -> Channel:  # noqa: B008
    values: dict[str, object] = {
        "id": "c",
        "code": "c",
        "name": "c",
        "type": ChannelType.MARKETPLACE,
        "allocation": allocation,
    }
    values.update(kw)
    return Channel(**values)  # type: ignore[arg-type]


LISTING = Listing("c", "SKU", "C-SKU", Money("CNY", 100))
POOL = stock(WH_1=60, SHOP_1=30, DS_1=10, SHOP_2=50)


@pytest.mark.parametrize(
    ("allocation", "sellable"),
    [
        (AllocationPolicy(), 100),  # every active location; the disabled shop never counts
        (AllocationPolicy(max_share_bps=3000), 30),
        (AllocationPolicy(max_share_bps=10000), 100),
        (AllocationPolicy(max_share_bps=3333), 33),  # rounded down
        (AllocationPolicy(buffer_units=5), 95),
        (AllocationPolicy(max_share_bps=500, buffer_units=5), 0),  # never negative
        (AllocationPolicy(location_ids=frozenset({"SHOP-1"})), 30),
        (AllocationPolicy(location_ids=frozenset({"SHOP-2"})), 0),  # disabled
        (AllocationPolicy(location_types=frozenset({LocationType.WAREHOUSE})), 60),
        (AllocationPolicy(location_ids=frozenset({"DS-1"}), location_types=frozenset({LocationType.STORE})), 40),
    ],
)
def test_sellable_under_the_allocation_policy(allocation: AllocationPolicy, sellable: int) -> None:
    assert channel(allocation).sellable(LISTING, POOL) == sellable


def test_a_channel_is_told_only_the_units_at_locations_that_ship() -> None:
    """Audit R item 2: a pickup-only store's units were offered, yet every imported order ships (and SHIP
    sourcing takes nothing there), so every import was rejected."""
    pickup_only = LocationInfo("SHOP-3", LocationType.STORE, ships=False)
    positions = [*stock(WH_1=60), StockPosition("SKU", pickup_only, 40)]
    dedicated = [StockPosition("SKU", WH, 5), StockPosition("SKU", pickup_only, 7)]
    sellable, rules = channel(AllocationPolicy(max_share_bps=5000)).rules(LISTING, positions, dedicated)
    assert (sellable, rules.exposed, rules.dedicated) == (35, 30, 5)
    assert channel().sellable(LISTING, [StockPosition("SKU", pickup_only, 10)]) == 0


def test_nothing_is_sellable_when_paused_unlisted_or_inactive() -> None:
    assert channel(status=ChannelStatus.PAUSED).sellable(LISTING, POOL) == 0
    assert channel().sellable(None, POOL) == 0
    assert channel().sellable(Listing("c", "SKU", "C-SKU", Money("CNY", 1), active=False), POOL) == 0


@given(
    available=st.lists(st.integers(0, 10**6), max_size=6),
    share=st.integers(0, 10000),
    buffer=st.integers(0, 10**4),
)
def test_a_channel_never_sees_more_than_its_share_of_the_pool(available: list[int], share: int, buffer: int) -> None:
    positions = [
        StockPosition("SKU", LocationInfo(f"L{i}", LocationType.WAREHOUSE), n) for i, n in enumerate(available)
    ]
    sellable = channel(AllocationPolicy(max_share_bps=share, buffer_units=buffer)).sellable(LISTING, positions)
    pool = sum(available)
    effective = share if 0 < share < 10000 else 10000
    assert 0 <= sellable <= pool * effective / 10000
    assert sellable == max(0, pool * effective // 10000 - buffer)


def test_every_number_of_the_rules_fits_the_int32_its_reply_and_event_carry() -> None:
    """One location's count stops at MAX_UNITS (inventory's STOCK_LIMIT); a sum over locations is capped, or
    building GetChannelStock's reply or the ChannelStockChanged event would fail (INTERNAL, a poisoned batch)."""
    full = [StockPosition("SKU", loc, MAX_UNITS) for loc in (WH, SHOP)]
    listing = replace(LISTING, presale_units=10)
    sellable, rules = channel().rules(listing, full, dedicated=full, expected=full)
    assert sellable == MAX_UNITS and (rules.exposed, rules.dedicated, rules.expected) == (MAX_UNITS,) * 3
    rules_to_proto(rules)  # every field in range


def test_policy_and_channel_refuse_out_of_range_rules() -> None:
    with pytest.raises(InvalidArgument):
        AllocationPolicy(max_share_bps=10001)
    with pytest.raises(InvalidArgument):
        AllocationPolicy(buffer_units=-1)
    with pytest.raises(InvalidArgument) as exc:
        channel(type=ChannelType.DEALER, fee_rate_bps=-1)
    assert {v.field for v in exc.value.violations} == {"fee_rate_bps", "owner_dealer_id"}
    with pytest.raises(InvalidArgument):
        channel(owner_dealer_id="D-1")  # only DEALER channels have an owner


def test_registering_records_version_one_and_every_change_bumps_it() -> None:
    c = Channel.register(id="c", code="c", name="C", type=ChannelType.ONLINE_STORE, allocation=AllocationPolicy())
    assert c.version == 1 and isinstance(c.events[-1], ChannelRegistered)
    assert not c.apply(NOW, c.changes(name="C"))  # nothing changed: no new version, no event
    assert c.apply(NOW, c.changes(name="C2", status=ChannelStatus.PAUSED))
    assert c.version == 2 and isinstance(c.events[-1], ChannelChanged) and c.updated_at == NOW
    assert c.apply(NOW, c.changes(allocation=AllocationPolicy(max_share_bps=100)))
    assert c.version == 3
    with pytest.raises(InvalidArgument):
        c.changes(fee_rate_bps=20000)


def test_channel_stock_publishes_the_first_number_and_then_only_changes() -> None:
    s = ChannelStock.unpublished("c", "SKU")
    assert s.update(0, "C-SKU")  # the connector learns the listing's number, even zero
    assert not s.update(0, "C-SKU")
    assert s.update(7, "C-SKU")
    assert s.update(7, "C-SKU-NEW")  # renamed on the channel: the connector needs it under the new code
    changes = [e for e in s.events if isinstance(e, ChannelStockChanged)]
    published = [(e.stock.sellable, e.previous_sellable, e.stock.version) for e in changes]
    assert published == [(0, 0, 1), (7, 0, 2), (7, 7, 3)]
