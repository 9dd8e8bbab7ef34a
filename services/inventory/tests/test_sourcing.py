"""Sourcing rules, as pure domain logic (fast; no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onepool_inventory.domain.model import Location, LocationType
from onepool_inventory.domain.sourcing import Hint, Line, SourcingMode, Stock, plan
from onepool_runtime.errors import FailedPrecondition, InsufficientStock


def loc(
    id_: str,
    region: str = "",
    priority: int = 0,
    *,
    ships: bool = True,
    pickup: bool = False,
    type_: LocationType = LocationType.WAREHOUSE,
    owner: str = "",
) -> Location:
    return Location(
        id=id_,
        name=id_,
        type=type_,
        owner_dealer_id=owner,
        region=region,
        ships=ships,
        pickup=pickup,
        priority=priority,
    )


def by_location(planned) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    out: dict[str, dict[str, int]] = {}
    for p in planned:
        out.setdefault(p.location_id, {})[p.sku] = out.setdefault(p.location_id, {}).get(p.sku, 0) + p.quantity
    return out


def test_single_location_covering_everything_beats_a_split_even_far_away() -> None:
    locations = [loc("NEAR", "SH", 10), loc("FAR", "BJ", 0)]
    stock = Stock({("NEAR", "A"): 5, ("NEAR", "B"): 0, ("FAR", "A"): 5, ("FAR", "B"): 5})
    planned = plan([Line("A", 2), Line("B", 1)], Hint(region="SH", allow_split=True), locations, stock)
    assert by_location(planned) == {"FAR": {"A": 2, "B": 1}}


def test_customer_region_is_preferred_among_single_locations() -> None:
    locations = [loc("BJ-1", "BJ", 50), loc("SH-1", "SH", 1)]
    stock = Stock({("BJ-1", "A"): 9, ("SH-1", "A"): 9})
    assert by_location(plan([Line("A", 3)], Hint(region="SH"), locations, stock)) == {"SH-1": {"A": 3}}


def test_priority_breaks_ties_then_id() -> None:
    locations = [loc("W-B", priority=1), loc("W-C", priority=5), loc("W-A", priority=5)]
    stock = Stock({("W-A", "A"): 9, ("W-B", "A"): 9, ("W-C", "A"): 9})
    assert by_location(plan([Line("A", 1)], Hint(), locations, stock)) == {"W-A": {"A": 1}}


def test_pickup_reserves_at_the_pickup_store_only() -> None:
    locations = [loc("WH", ships=True), loc("SHOP", ships=False, pickup=True, type_=LocationType.STORE)]
    stock = Stock({("WH", "A"): 100, ("SHOP", "A"): 2})
    hint = Hint(mode=SourcingMode.PICKUP, pickup_location_id="SHOP")
    assert by_location(plan([Line("A", 2)], hint, locations, stock)) == {"SHOP": {"A": 2}}
    with pytest.raises(InsufficientStock) as caught:
        plan([Line("A", 3)], hint, locations, stock)
    assert caught.value.shortages[0].available == 2


def test_pickup_at_a_location_without_pickup_is_refused() -> None:
    locations = [loc("WH")]
    with pytest.raises(FailedPrecondition) as caught:
        plan(
            [Line("A", 1)], Hint(mode=SourcingMode.PICKUP, pickup_location_id="WH"), locations, Stock({("WH", "A"): 5})
        )
    assert caught.value.reason == "PICKUP_NOT_AVAILABLE"


def test_split_across_locations_when_allowed_uses_fewest_locations() -> None:
    locations = [loc("W1", priority=3), loc("W2", priority=2), loc("W3", priority=1)]
    stock = Stock({("W1", "A"): 2, ("W2", "A"): 8, ("W3", "A"): 1, ("W1", "B"): 3, ("W3", "B"): 3})
    planned = plan([Line("A", 8), Line("B", 3)], Hint(allow_split=True), locations, stock)
    assert by_location(planned) == {"W2": {"A": 8}, "W1": {"B": 3}}


def test_split_is_refused_when_not_allowed() -> None:
    locations = [loc("W1"), loc("W2")]
    stock = Stock({("W1", "A"): 1, ("W2", "A"): 1})
    with pytest.raises(FailedPrecondition) as caught:
        plan([Line("A", 2)], Hint(allow_split=False), locations, stock)
    assert caught.value.reason == "SPLIT_REQUIRED"


def test_not_enough_anywhere_names_sku_requested_and_available() -> None:
    locations = [loc("W1"), loc("W2")]
    stock = Stock({("W1", "A"): 1, ("W2", "A"): 2})
    with pytest.raises(InsufficientStock) as caught:
        plan([Line("A", 4)], Hint(allow_split=True), locations, stock)
    [shortage] = caught.value.shortages
    assert (shortage.sku, shortage.requested, shortage.available) == ("A", 4, 3)


def test_channel_share_cap_limits_what_can_be_planned() -> None:
    locations = [loc("W1")]
    with pytest.raises(InsufficientStock) as caught:
        plan([Line("A", 4)], Hint(), locations, Stock({("W1", "A"): 10}), caps={"A": 3})
    assert caught.value.shortages[0].available == 3


def test_dealer_channel_sells_from_its_own_locations_first() -> None:
    locations = [
        loc("BRAND-WH", "SH", 100),
        loc("D1-SHOP", "BJ", 0, type_=LocationType.DEALER_STORE, owner="D1"),
    ]
    stock = Stock({("BRAND-WH", "A"): 50, ("D1-SHOP", "A"): 2})
    assert by_location(plan([Line("A", 2)], Hint(region="SH"), locations, stock, preferred_owner="D1")) == {
        "D1-SHOP": {"A": 2}
    }
    # When its own shelves cannot cover the order, the brand's pool fills it.
    assert by_location(plan([Line("A", 3)], Hint(region="SH"), locations, stock, preferred_owner="D1")) == {
        "BRAND-WH": {"A": 3}
    }


def test_an_unsplit_order_ships_from_one_location_when_the_owners_shelves_would_need_two() -> None:
    """A dealer channel's own stock comes first, but not at the price of refusing an order that one brand
    warehouse could ship whole (it used to answer SPLIT_REQUIRED: "no single location covers the order")."""
    locations = [
        loc("D1-A", type_=LocationType.DEALER_WAREHOUSE, owner="D1"),
        loc("D1-B", type_=LocationType.DEALER_WAREHOUSE, owner="D1"),
        loc("BRAND-WH"),
    ]
    stock = Stock({("D1-A", "A"): 1, ("D1-B", "A"): 1, ("BRAND-WH", "A"): 10})
    assert by_location(plan([Line("A", 2)], Hint(), locations, stock, preferred_owner="D1")) == {"BRAND-WH": {"A": 2}}
    # One of its own that holds it all still wins; and a split allowed still takes its own shelves first.
    assert by_location(plan([Line("A", 1)], Hint(), locations, stock, preferred_owner="D1")) == {"D1-A": {"A": 1}}
    split = by_location(plan([Line("A", 2)], Hint(allow_split=True), locations, stock, preferred_owner="D1"))
    assert split == {"D1-A": {"A": 1}, "D1-B": {"A": 1}}
    # With nowhere that holds it all, the refusal stands.
    scarce = Stock({("D1-A", "A"): 1, ("D1-B", "A"): 1, ("BRAND-WH", "A"): 1})
    with pytest.raises(FailedPrecondition) as caught:
        plan([Line("A", 2)], Hint(), locations, scarce, preferred_owner="D1")
    assert caught.value.reason == "SPLIT_REQUIRED"


def test_pinned_line_is_filled_at_its_location_or_not_at_all() -> None:
    locations = [loc("SHOP", ships=False, type_=LocationType.STORE), loc("WH")]
    stock = Stock({("SHOP", "A"): 1, ("WH", "A"): 10})
    assert by_location(plan([Line("A", 1, "SHOP")], Hint(), locations, stock)) == {"SHOP": {"A": 1}}
    with pytest.raises(InsufficientStock):
        plan([Line("A", 2, "SHOP")], Hint(), locations, stock)


@settings(max_examples=300, deadline=None)
@given(
    available=st.dictionaries(
        st.tuples(st.sampled_from(["L1", "L2", "L3", "L4"]), st.sampled_from(["A", "B", "C"])),
        st.integers(0, 6),
    ),
    demand=st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(1, 10), min_size=1),
    allow_split=st.booleans(),
)
def test_a_plan_covers_demand_exactly_and_never_exceeds_availability(available, demand, allow_split) -> None:  # type: ignore[no-untyped-def]
    locations = [loc("L1", "R1", 1), loc("L2", "R2", 2), loc("L3", "R1", 3), loc("L4", "R2", 0)]
    lines = [Line(sku, q) for sku, q in demand.items()]
    try:
        planned = plan(lines, Hint(region="R1", allow_split=allow_split), locations, Stock(available))
    except InsufficientStock as exc:
        for s in exc.shortages:
            assert sum(v for (_, sku), v in available.items() if sku == s.sku) < s.requested
        return
    except FailedPrecondition as exc:
        assert exc.reason == "SPLIT_REQUIRED" and not allow_split
        return
    placed = by_location(planned)
    for sku, q in demand.items():
        assert sum(skus.get(sku, 0) for skus in placed.values()) == q
    for location_id, skus in placed.items():
        for sku, q in skus.items():
            assert q <= available.get((location_id, sku), 0)
    if not allow_split:
        assert len(placed) == 1
    single = [
        lid for lid in ("L1", "L2", "L3", "L4") if all(available.get((lid, sku), 0) >= q for sku, q in demand.items())
    ]
    if single:
        assert len(placed) == 1  # fewest locations first


# --- a dealer channel's FILL_FIRST rule (issue 12 item 4) ---------------------------------------------------

DEALER_LOCATIONS = [
    loc("BRAND-WH", "SH", 100),
    loc("BRAND-WH2", "BJ", 50),
    loc("D1-SHOP", "BJ", 0, type_=LocationType.DEALER_STORE, owner="D1"),
    loc("D1-WH", "SH", 5, type_=LocationType.DEALER_WAREHOUSE, owner="D1"),
]


def fill_first(lines: list[Line], stock: Stock, *, allow_split: bool = True, **kw):  # type: ignore[no-untyped-def]
    hint = Hint(region="SH", allow_split=allow_split)
    return by_location(plan(lines, hint, DEALER_LOCATIONS, stock, preferred_owner="D1", fill_own_first=True, **kw))


def test_fill_first_takes_what_the_dealers_locations_hold_then_the_brands() -> None:
    stock = Stock({("BRAND-WH", "A"): 50, ("D1-SHOP", "A"): 2, ("D1-WH", "A"): 1})
    # Both of the dealer's locations give what they have (its regional one first), the brand the rest.
    assert fill_first([Line("A", 5)], stock) == {"D1-WH": {"A": 1}, "D1-SHOP": {"A": 2}, "BRAND-WH": {"A": 2}}
    # The whole-order rule (the default) leaves the dealer's 3 units and ships 5 from one brand warehouse.
    whole = plan([Line("A", 5)], Hint(region="SH", allow_split=True), DEALER_LOCATIONS, stock, preferred_owner="D1")
    assert by_location(whole) == {"BRAND-WH": {"A": 5}}


def test_fill_first_changes_nothing_when_the_dealer_covers_the_order_or_no_split_is_allowed() -> None:
    stock = Stock({("BRAND-WH", "A"): 50, ("D1-SHOP", "A"): 4})
    assert fill_first([Line("A", 4)], stock) == {"D1-SHOP": {"A": 4}}
    assert fill_first([Line("A", 6)], stock, allow_split=False) == {"BRAND-WH": {"A": 6}}


def test_fill_first_covers_the_rest_from_the_fewest_brand_locations_per_sku() -> None:
    stock = Stock({("BRAND-WH", "A"): 3, ("BRAND-WH2", "A"): 9, ("BRAND-WH2", "B"): 9, ("D1-SHOP", "A"): 1})
    assert fill_first([Line("A", 6), Line("B", 2)], stock) == {"D1-SHOP": {"A": 1}, "BRAND-WH2": {"A": 5, "B": 2}}


def test_fill_first_never_plans_beyond_the_channels_cap() -> None:
    stock = Stock({("BRAND-WH", "A"): 50, ("D1-SHOP", "A"): 2})
    with pytest.raises(InsufficientStock) as caught:
        fill_first([Line("A", 5)], stock, caps={"A": 4})
    assert caught.value.shortages[0].available == 4


@settings(max_examples=300, deadline=None)
@given(
    available=st.dictionaries(
        st.tuples(st.sampled_from([loc.id for loc in DEALER_LOCATIONS]), st.sampled_from(["A", "B"])),
        st.integers(0, 6),
    ),
    demand=st.dictionaries(st.sampled_from(["A", "B"]), st.integers(1, 12), min_size=1),
)
def test_fill_first_uses_all_the_dealers_stock_before_any_of_the_brands(available, demand) -> None:  # type: ignore[no-untyped-def]
    try:
        placed = fill_first([Line(sku, q) for sku, q in demand.items()], Stock(available))
    except InsufficientStock:
        assert any(sum(v for (_, s), v in available.items() if s == sku) < q for sku, q in demand.items())
        return
    own = {"D1-SHOP", "D1-WH"}
    for sku, q in demand.items():
        assert sum(skus.get(sku, 0) for skus in placed.values()) == q
        from_own = sum(skus.get(sku, 0) for lid, skus in placed.items() if lid in own)
        own_holds = sum(available.get((lid, sku), 0) for lid in own)
        # The dealer gives all it holds of the SKU (up to the demand) before the brand gives anything.
        assert from_own == min(q, own_holds)
    for lid, skus in placed.items():
        for sku, q in skus.items():
            assert q <= available.get((lid, sku), 0)


# --- a channel's dedicated stock and the shared pool it is exposed to (audit R item 1) -----------------------


def test_dedicated_units_at_one_location_never_open_the_shared_pool_at_another() -> None:
    locations = [loc("A-WH", priority=10), loc("B-WH")]
    # The channel sees none of the shared pool (exposed 0) and has 10 dedicated units at B; A ranks first.
    stock = Stock({("A-WH", "A"): 100, ("B-WH", "A"): 10}, dedicated={("B-WH", "A"): 10})
    bounds = {"caps": {"A": 10}, "shared_caps": {"A": 0}}
    assert by_location(plan([Line("A", 10)], Hint(), locations, stock, **bounds)) == {"B-WH": {"A": 10}}
    with pytest.raises(InsufficientStock) as caught:
        plan([Line("A", 1, "A-WH")], Hint(), locations, stock, **bounds)
    assert caught.value.shortages[0].available == 0
    emptied = Stock({("A-WH", "A"): 100}, dedicated={})
    with pytest.raises(InsufficientStock) as caught:
        plan([Line("A", 10)], Hint(), locations, emptied, **bounds)
    assert caught.value.shortages[0].available == 0


def test_the_dedicated_units_go_first_but_one_parcel_still_beats_a_split() -> None:
    locations = [loc("A-WH", priority=10), loc("B-WH")]
    stock = Stock({("A-WH", "A"): 100, ("B-WH", "A"): 5}, dedicated={("B-WH", "A"): 5})
    bounds = {"caps": {"A": 55}, "shared_caps": {"A": 50}}
    hint = Hint(allow_split=True)
    assert by_location(plan([Line("A", 5)], hint, locations, stock, **bounds)) == {"B-WH": {"A": 5}}
    # 8 from A alone is one parcel within the exposed 50: no split just to use the dedicated units.
    assert by_location(plan([Line("A", 8)], hint, locations, stock, **bounds)) == {"A-WH": {"A": 8}}
    # With only 3 of the shared pool exposed, 8 needs the 5 dedicated units and 3 shared ones.
    tight = {"caps": {"A": 8}, "shared_caps": {"A": 3}}
    assert by_location(plan([Line("A", 8)], hint, locations, stock, **tight)) == {"B-WH": {"A": 5}, "A-WH": {"A": 3}}
    with pytest.raises(FailedPrecondition) as split:
        plan([Line("A", 8)], Hint(), locations, stock, **tight)
    assert split.value.reason == "SPLIT_REQUIRED"


def test_fill_first_keeps_to_the_shared_pool_the_dealer_channel_is_exposed_to() -> None:
    stock = Stock(
        {("BRAND-WH", "A"): 3, ("BRAND-WH2", "A"): 50, ("D1-SHOP", "A"): 2},
        dedicated={("BRAND-WH", "A"): 3},
    )
    bounds = {"caps": {"A": 4}, "shared_caps": {"A": 1}}
    assert fill_first([Line("A", 4)], stock, **bounds) == {"D1-SHOP": {"A": 1}, "BRAND-WH": {"A": 3}}
    with pytest.raises(InsufficientStock) as caught:
        fill_first([Line("A", 5)], stock, caps={"A": 50}, shared_caps={"A": 1})
    assert caught.value.shortages[0].available == 4


@settings(max_examples=300, deadline=None)
@given(
    available=st.dictionaries(
        st.tuples(st.sampled_from([loc.id for loc in DEALER_LOCATIONS]), st.sampled_from(["A", "B"])),
        st.integers(0, 6),
    ),
    dedicated=st.dictionaries(
        st.tuples(st.sampled_from([loc.id for loc in DEALER_LOCATIONS]), st.sampled_from(["A", "B"])),
        st.integers(0, 6),
    ),
    exposed=st.integers(0, 8),
    demand=st.dictionaries(st.sampled_from(["A", "B"]), st.integers(1, 12), min_size=1),
    pin=st.sampled_from(["", "BRAND-WH", "D1-SHOP"]),
    owner=st.sampled_from(["", "D1"]),
    fill=st.booleans(),
    allow_split=st.booleans(),
)
def test_a_plan_never_takes_more_of_the_shared_pool_than_the_channel_is_exposed_to(  # type: ignore[no-untyped-def]
    available, dedicated, exposed, demand, pin, owner, fill, allow_split
) -> None:
    dedicated = {k: min(v, available.get(k, 0)) for k, v in dedicated.items()}
    lines = [Line(sku, q, pin if i == 0 else "") for i, (sku, q) in enumerate(demand.items())]
    shared_caps = dict.fromkeys(demand, exposed)
    try:
        planned = plan(
            lines,
            Hint(region="SH", allow_split=allow_split),
            DEALER_LOCATIONS,
            Stock(available, dedicated),
            shared_caps=shared_caps,
            preferred_owner=owner,
            fill_own_first=fill,
        )
    except InsufficientStock as exc:
        for s in exc.shortages:
            where = {pin} if pin and s.sku == lines[0].sku else {loc.id for loc in DEALER_LOCATIONS}
            own = sum(v for (lid, sku), v in dedicated.items() if sku == s.sku and lid in where)
            shared = sum(v for (lid, sku), v in available.items() if sku == s.sku and lid in where) - own
            assert s.requested > own + min(shared, exposed)
        return
    except FailedPrecondition as exc:
        assert exc.reason == "SPLIT_REQUIRED" and not allow_split
        return
    placed = by_location(planned)
    for sku, q in demand.items():
        assert sum(skus.get(sku, 0) for skus in placed.values()) == q
        shared = sum(max(0, skus.get(sku, 0) - dedicated.get((lid, sku), 0)) for lid, skus in placed.items())
        assert shared <= exposed
    for lid, skus in placed.items():
        for sku, q in skus.items():
            assert q <= available.get((lid, sku), 0)
