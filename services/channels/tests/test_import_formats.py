"""The marketplace payload adapters, as pure functions, on the documented examples and on broken payloads."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from onepool_channels.adapters.formats import parse
from onepool_channels.adapters.formats.regions import from_cn_province, from_codes
from onepool_channels.domain.imports import (
    Charges,
    ImportedLine,
    ImportedOrder,
    address_change_key,
    resolve,
    to_minor,
)
from onepool_channels.domain.model import (
    AllocationPolicy,
    Channel,
    ChannelStatus,
    ChannelType,
    Listing,
)
from onepool_kernel.intake import CustomerInfo, FulfillmentMode, FulfillmentPreference
from onepool_kernel.money import Money
from onepool_runtime.errors import FailedPrecondition, InvalidArgument

# Every documented example was last modified at this instant (each written the way its marketplace writes it).
EXAMPLE_MODIFIED_AT = datetime(2026, 11, 23, 2, 15, 30, tzinfo=UTC)


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in exc.value.violations}


def refused(format_: str, payload: object) -> dict[str, str]:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    with pytest.raises(InvalidArgument) as exc:
        parse(format_, text)
    return fields(exc)


# --- the documented examples ---------------------------------------------------------------------------


def test_shopify_example_becomes_the_documented_order(examples: dict[str, str]) -> None:
    assert parse("shopify", examples["shopify"]) == ImportedOrder(
        external_order_id="5721170592001",
        currency="CNY",
        customer=CustomerInfo(
            channel_customer_id="7310028783873", phone="+8613800138000", email="li.lei@example.com", name="Lei Li"
        ),
        lines=(
            ImportedLine(
                "SHOP-TEE-RED-M",
                2,
                9900,
                "payload.line_items[0].sku",
                discount_minor=1000,
                price_path="payload.line_items[0].price",
                discount_path="payload.line_items[0].discount_allocations",
            ),
            ImportedLine(
                "SHOP-CAP-BLK",
                1,
                12900,
                "payload.line_items[1].sku",
                price_path="payload.line_items[1].price",
                discount_path="payload.line_items[1].total_discount",
            ),
        ),
        shipping=FulfillmentPreference(
            allow_split=True, region="CN-SH", address="100 Century Avenue, Floor 12, Shanghai, Shanghai, 200120, China"
        ),
        payment_ref="shopify:5721170592001",
        charges=Charges(
            collected_minor=32900,
            collected_path="payload.total_price",
            discount_path="payload.total_discounts",
            shipping_minor=1200,
        ),
        modified_at=EXAMPLE_MODIFIED_AT,
    )


def test_taobao_example_becomes_the_documented_order(examples: dict[str, str]) -> None:
    trade = "payload.trade_fullinfo_get_response.trade"
    assert parse("taobao", examples["taobao"]) == ImportedOrder(
        external_order_id="3412345678901234567",
        currency="CNY",
        customer=CustomerInfo(channel_customer_id="tb_lilei_88", phone="13800138000", name="李雷"),
        lines=(
            ImportedLine(
                "TB-TEE-RED-M",
                1,
                9900,
                f"{trade}.orders.order[0].outer_sku_id",
                price_path=f"{trade}.orders.order[0].price",
            ),
            ImportedLine(
                "TB-MUG", 2, 6900, f"{trade}.orders.order[1].outer_iid", price_path=f"{trade}.orders.order[1].price"
            ),
        ),
        shipping=FulfillmentPreference(
            allow_split=True, region="CN-ZJ", address="浙江省, 杭州市, 西湖区, 文三路100号, 310000"
        ),
        currency_path=trade,
        payment_ref="2026112322001456780512345678",
        # payment 220.00 = total_fee 237.00 - discount_fee 20.00 + adjust_fee -5.00 + post_fee 8.00
        charges=Charges(
            collected_minor=22000,
            collected_path=f"{trade}.payment",
            order_discount_minor=2500,
            discount_path=f"{trade}.discount_fee",
            shipping_minor=800,
        ),
        # "2026-11-23 10:15:30": Taobao writes Beijing time
        modified_at=EXAMPLE_MODIFIED_AT,
    )


def test_generic_example_becomes_the_documented_order(examples: dict[str, str]) -> None:
    assert parse("generic", examples["generic"]) == ImportedOrder(
        external_order_id="MP-2026-000123",
        currency="CNY",
        customer=CustomerInfo(
            channel_customer_id="buyer-42",
            phone="+8613800138000",
            email="li.lei@example.com",
            name="Li Lei",
            member_id="M-1001",
        ),
        lines=(
            ImportedLine(
                "GEN-TEE-RED-M",
                3,
                8990,
                "payload.lines[0].channel_sku",
                discount_minor=1970,
                price_path="payload.lines[0].unit_price",
                discount_path="payload.lines[0].discount",
            ),
            ImportedLine(
                "GEN-CAP-BLK",
                1,
                12900,
                "payload.lines[1].channel_sku",
                price_path="payload.lines[1].unit_price",
                discount_path="payload.lines[1].discount",
            ),
        ),
        shipping=FulfillmentPreference(
            mode=FulfillmentMode.SHIP,
            region="CN-SH",
            address="100 Century Avenue, Shanghai",
            allow_split=True,
        ),
        payment_ref="PSP-2026-000123",
        charges=Charges(collected_minor=38900, collected_path="payload.total", shipping_minor=1000),
        modified_at=EXAMPLE_MODIFIED_AT,
    )


def test_an_order_the_buyer_has_not_paid_yet_carries_no_payment(examples: dict[str, str]) -> None:
    trade = json.loads(examples["taobao"])
    trade["trade_fullinfo_get_response"]["trade"]["status"] = "WAIT_BUYER_PAY"
    assert parse("taobao", json.dumps(trade)).payment_ref == ""
    shopify = json.loads(examples["shopify"])
    shopify["financial_status"] = "pending"
    assert parse("shopify", json.dumps(shopify)).payment_ref == ""
    generic = json.loads(examples["generic"])
    del generic["payment_ref"]
    assert parse("generic", json.dumps(generic)).payment_ref == ""


def test_taobao_trade_is_accepted_bare_or_wrapped_in_trade(examples: dict[str, str]) -> None:
    trade = json.loads(examples["taobao"])["trade_fullinfo_get_response"]["trade"]
    bare = parse("taobao", json.dumps(trade))
    wrapped = parse("taobao", json.dumps({"trade": trade}))
    assert bare.lines[1].sku_path == "payload.orders.order[1].outer_iid"
    assert wrapped.lines[1].sku_path == "payload.trade.orders.order[1].outer_iid"
    assert [ln.channel_sku for ln in wrapped.lines] == [ln.channel_sku for ln in bare.lines]
    assert [ln.channel_sku for ln in bare.lines] == ["TB-TEE-RED-M", "TB-MUG"]


# --- refusals name what is wrong -----------------------------------------------------------------------


@pytest.mark.parametrize("format_", ["shopify", "taobao", "generic"])
def test_broken_json_is_refused_on_payload(format_: str) -> None:
    problems = refused(format_, '{"id": 1, "currency": "CNY", "line_items": [')
    assert list(problems) == ["payload"] and "not valid JSON" in problems["payload"]


@pytest.mark.parametrize("payload", ["[]", '"order"', "42", "null", '{"price": NaN}'])
def test_a_payload_that_is_not_a_json_object_is_refused(payload: str) -> None:
    assert list(refused("generic", payload)) == ["payload"]


def test_shopify_missing_fields_are_named_each_with_its_path(examples: dict[str, str]) -> None:
    order = json.loads(examples["shopify"])
    del order["id"]
    del order["line_items"][1]["sku"]
    order["line_items"][0]["quantity"] = 0
    del order["shipping_address"]["country_code"]
    problems = refused("shopify", order)
    assert set(problems) == {
        "payload.id",
        "payload.line_items[1].sku",
        "payload.line_items[0].quantity",
        "payload.shipping_address.country_code",
    }
    assert problems["payload.id"] == "is required"


def test_shopify_without_line_items_or_with_junk_lines_is_refused() -> None:
    base = {"id": 1, "currency": "CNY", "total_price": "1.00", "shipping_address": {"country_code": "CN"}}
    assert refused("shopify", {**base, "line_items": []}) == {"payload.line_items": "must not be empty"}
    assert set(refused("shopify", {**base, "line_items": ["x"]})) == {"payload.line_items[0]"}
    assert set(refused("shopify", {**base, "line_items": {"sku": "A"}})) == {"payload.line_items"}


def test_taobao_line_needs_a_merchant_sku_and_whole_quantity(examples: dict[str, str]) -> None:
    trade = json.loads(examples["taobao"])["trade_fullinfo_get_response"]["trade"]
    del trade["orders"]["order"][1]["outer_iid"]
    trade["orders"]["order"][0]["num"] = 1.5
    del trade["tid"], trade["tid_str"]
    problems = refused("taobao", trade)
    assert set(problems) == {"payload.orders.order[1].outer_sku_id", "payload.orders.order[0].num", "payload.tid"}


def test_generic_pickup_needs_a_location_and_a_known_mode(examples: dict[str, str]) -> None:
    order = json.loads(examples["generic"])
    order["fulfillment"] = {"mode": "PICKUP_IN_STORE"}
    assert set(refused("generic", order)) == {"payload.fulfillment.pickup_location_id"}
    order["fulfillment"] = {"mode": "DRONE"}
    assert set(refused("generic", order)) == {"payload.fulfillment.mode"}


def test_generic_line_gives_exactly_one_price(examples: dict[str, str]) -> None:
    order = json.loads(examples["generic"])
    order["lines"][0]["unit_price_minor"] = 100
    assert set(refused("generic", order)) == {"payload.lines[0].unit_price"}
    order["lines"][0] = {"channel_sku": "A", "quantity": 1, "unit_price_minor": -5}
    assert set(refused("generic", order)) == {"payload.lines[0].unit_price_minor"}


def test_unknown_format_is_refused_on_format() -> None:
    with pytest.raises(InvalidArgument) as exc:
        parse("amazon", "{}")
    assert list(fields(exc)) == ["format"]


# --- money ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("12.50", "CNY", 1250),
        ("12.5", "CNY", 1250),
        ("12.500", "CNY", 1250),
        ("0", "CNY", 0),
        (7, "CNY", 700),
        (Decimal("19.99"), "USD", 1999),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        (" 3.10 ", "CNY", 310),
        # Every ISO 4217 minor unit, not a short list of the common ones (XOF was read as 150000).
        ("1500", "XOF", 1500),
        ("1500", "UGX", 1500),
        ("1.234", "IQD", 1234),
        ("1.2345", "CLF", 12345),
    ],
)
def test_decimal_amounts_become_exact_minor_units(value: object, currency: str, minor: int) -> None:
    assert to_minor(value, currency) == minor  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["12.505", "1.5e-3", "-1.00", "abc", "", "Infinity", True, 12.5, None, "1e20", "\u0661\u0662"]
)
def test_amounts_that_are_not_exact_minor_units_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        to_minor(value, "CNY")  # type: ignore[arg-type]


def test_a_price_with_too_many_decimals_is_refused_with_its_path(examples: dict[str, str]) -> None:
    order = json.loads(examples["taobao"])
    order["trade_fullinfo_get_response"]["trade"]["orders"]["order"][0]["price"] = "9.999"
    problems = refused("taobao", order)
    assert problems == {
        "payload.trade_fullinfo_get_response.trade.orders.order[0].price": "has more than 2 decimal places for CNY"
    }


def test_json_number_prices_are_read_as_exact_decimals() -> None:
    order = {
        "external_order_id": "X",
        "currency": "CNY",
        "lines": [{"channel_sku": "A", "quantity": 1, "unit_price": 0.1}],
    }
    assert parse("generic", json.dumps(order)).lines[0].unit_price_minor == 10


# --- regions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "region"),
    [
        ("浙江省", "CN-ZJ"),
        ("上海", "CN-SH"),
        ("上海市", "CN-SH"),
        ("内蒙古自治区", "CN-NM"),
        ("广西壮族自治区", "CN-GX"),
        ("香港特别行政区", "CN-HK"),
        ("火星", "CN"),
        ("", ""),
    ],
)
def test_taobao_states_become_region_codes(state: str, region: str) -> None:
    assert from_cn_province(state) == region


def test_shopify_codes_become_region_codes() -> None:
    assert from_codes("cn", "sh") == "CN-SH"
    assert from_codes("US", "") == "US"
    assert from_codes("", "SH") == ""


# --- resolving through the listings ---------------------------------------------------------------------


def channel(**overrides: object) -> Channel:
    values: dict[str, object] = {
        "id": "ch-1",
        "code": "tmall",
        "name": "Tmall",
        "type": ChannelType.MARKETPLACE,
        "allocation": AllocationPolicy(),
    }
    values.update(overrides)
    return Channel(**values)  # type: ignore[arg-type]


def listing(channel_sku: str, sku: str, *, active: bool = True, price: int = 100) -> Listing:
    return Listing("ch-1", sku, channel_sku, Money("CNY", price), active)


def imported(*lines: ImportedLine, currency: str = "CNY", charges: Charges | None = None) -> ImportedOrder:
    customer, shipping = CustomerInfo(phone="138"), FulfillmentPreference(allow_split=True, region="CN-SH")
    return ImportedOrder("EXT-1", currency, customer, tuple(lines), shipping, charges=charges or Charges())


def test_resolve_maps_channel_skus_to_skus_and_keeps_the_money() -> None:
    order = resolve(
        imported(ImportedLine("TM-A", 2, 1250, "payload.lines[0].channel_sku")),
        channel(),
        {"TM-A": listing("TM-A", "SKU-A", price=1250)},
    )
    assert [(ln.sku, ln.channel_sku, ln.quantity, ln.unit_price, ln.discount) for ln in order.lines] == [
        ("SKU-A", "TM-A", 2, Money("CNY", 1250), Money("CNY", 0))
    ]
    assert (order.channel_id, order.external_order_id, order.dealer_id) == ("ch-1", "EXT-1", "")


def test_resolve_names_every_unknown_or_inactive_channel_sku() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve(
            imported(
                ImportedLine("TM-A", 1, 100, "payload.line_items[0].sku"),
                ImportedLine("NOPE", 1, 100, "payload.line_items[1].sku"),
                ImportedLine("OFF", 1, 100, "payload.line_items[2].sku"),
            ),
            channel(),
            {"TM-A": listing("TM-A", "SKU-A"), "OFF": listing("OFF", "SKU-B", active=False)},
        )
    problems = fields(exc)
    assert set(problems) == {"payload.line_items[1].sku", "payload.line_items[2].sku"}
    assert "unknown channel SKU 'NOPE'" in problems["payload.line_items[1].sku"]
    assert "not active" in problems["payload.line_items[2].sku"]


def test_lines_merged_into_one_sku_past_the_quantity_limit_are_refused_naming_the_payload_line() -> None:
    """Audit X: two channel SKUs of one SKU, 600 000 units each, passed the per-line check and became one line
    of 1 200 000 that orders refused on `lines[0].quantity`, a path the ImportOrder caller never sent."""
    listings = {"A1": listing("A1", "SKU-A", price=1), "A2": listing("A2", "SKU-A", price=1)}
    with pytest.raises(InvalidArgument) as exc:
        resolve(
            imported(ImportedLine("A1", 600_000, 1, "p[0]"), ImportedLine("A2", 600_000, 1, "p[1]")),
            channel(),
            listings,
        )
    assert list(fields(exc)) == ["p[1]"] and "1200000 units" in fields(exc)["p[1]"]


def test_resolve_merges_same_sku_lines_at_the_listing_price_with_their_discounts() -> None:
    listings = {"A1": listing("A1", "SKU-A"), "A2": listing("A2", "SKU-A")}
    same = resolve(
        imported(ImportedLine("A1", 1, 100, "p[0]"), ImportedLine("A2", 2, 100, "p[1]")), channel(), listings
    )
    assert [(ln.sku, ln.quantity) for ln in same.lines] == [("SKU-A", 3)]
    cheaper = resolve(
        imported(ImportedLine("A1", 1, 100, "p[0]"), ImportedLine("A2", 2, 80, "p[1]", discount_minor=10)),
        channel(),
        listings,
    )
    # 2 x 80 below the listing's 100 is a 40 reduction, on top of the marketplace's own 10.
    assert [(ln.quantity, ln.unit_price, ln.discount) for ln in cheaper.lines] == [
        (3, Money("CNY", 100), Money("CNY", 50))
    ]


def test_a_price_above_the_listing_is_refused_naming_the_price() -> None:
    with pytest.raises(InvalidArgument) as exc:
        resolve(
            imported(ImportedLine("A1", 1, 120, "p[0].sku", price_path="p[0].price")),
            channel(),
            {"A1": listing("A1", "SKU-A")},
        )
    assert fields(exc) == {
        "p[0].price": "is 1.20 but channel tmall lists SKU-A at 1.00: update the listing, then import again"
    }


def test_the_parts_must_add_up_to_what_the_marketplace_collected() -> None:
    """The acceptance run's payload: total_price 1.00 for one line at 99.00."""
    line = ImportedLine("A1", 1, 9900, "p[0].sku")
    listings = {"A1": listing("A1", "SKU-A", price=9900)}
    with pytest.raises(InvalidArgument) as exc:
        resolve(imported(line, charges=Charges(100, "payload.total_price")), channel(), listings)
    assert fields(exc) == {
        "payload.total_price": "is 1.00 but the lines (99.00) less discounts (0.00) plus shipping (0.00) come to "
        "99.00: a difference of 98.00"
    }
    paid = resolve(
        imported(line, charges=Charges(9400, "t", order_discount_minor=1000, shipping_minor=500)), channel(), listings
    )
    assert [ln.discount for ln in paid.lines] == [Money("CNY", 1000)]
    assert paid.shipping_fee == Money("CNY", 500)


def test_order_discounts_are_spread_over_the_lines_exactly() -> None:
    lines = (ImportedLine("A1", 1, 9900, "p[0]"), ImportedLine("B1", 2, 6900, "p[1]"))
    listings = {"A1": listing("A1", "SKU-A", price=9900), "B1": listing("B1", "SKU-B", price=6900)}
    order = resolve(imported(*lines, charges=Charges(21200, "t", order_discount_minor=2500)), channel(), listings)
    assert [ln.discount for ln in order.lines] == [Money("CNY", 1044), Money("CNY", 1456)]
    too_much = Charges(None, order_discount_minor=30000, discount_path="payload.discount_fee")
    with pytest.raises(InvalidArgument) as exc:
        resolve(imported(*lines, charges=too_much), channel(), listings)
    assert list(fields(exc)) == ["payload.discount_fee"]


def test_shopify_totals_map_discount_allocations_shipping_and_total_price(examples: dict[str, str]) -> None:
    order = json.loads(examples["shopify"])
    order["total_discounts"] = "15.00"
    assert refused("shopify", order) == {
        "payload.total_discounts": "is 15.00 but the discount_allocations add up to 10.00"
    }
    legacy = json.loads(examples["shopify"])
    del legacy["line_items"][0]["discount_allocations"]
    assert parse("shopify", json.dumps(legacy)).charges.order_discount_minor == 1000
    taxed = json.loads(examples["shopify"])
    taxed["taxes_included"] = False
    assert list(refused("shopify", taxed)) == ["payload.total_tax"]
    discounted_shipping = json.loads(examples["shopify"])
    discounted_shipping["shipping_lines"][0]["discount_allocations"] = [{"amount": "12.00"}]
    discounted_shipping["total_discounts"] = "22.00"
    parsed = parse("shopify", json.dumps(discounted_shipping))
    assert (parsed.charges.shipping_minor, parsed.charges.order_discount_minor) == (0, 0)


def test_taobao_totals_map_discount_adjust_post_fee_and_payment(examples: dict[str, str]) -> None:
    trade = json.loads(examples["taobao"])["trade_fullinfo_get_response"]["trade"]
    trade["total_fee"] = "200.00"
    assert list(refused("taobao", trade)) == ["payload.total_fee"]
    trade["total_fee"] = "237.00"
    trade["adjust_fee"] = "30.00"
    assert list(refused("taobao", trade)) == ["payload.adjust_fee"]


def test_resolve_refuses_another_currency_and_a_paused_channel() -> None:
    line = ImportedLine("TM-A", 1, 100, "payload.lines[0].channel_sku")
    with pytest.raises(InvalidArgument) as exc:
        resolve(imported(line, currency="USD"), channel(), {"TM-A": listing("TM-A", "SKU-A")})
    assert list(fields(exc)) == ["payload.currency"]
    with pytest.raises(FailedPrecondition):
        resolve(imported(line), channel(status=ChannelStatus.PAUSED), {"TM-A": listing("TM-A", "SKU-A")})


def test_dealer_channel_orders_carry_the_dealer() -> None:
    dealer = channel(type=ChannelType.DEALER, owner_dealer_id="D-9")
    order = resolve(imported(ImportedLine("TM-A", 1, 100, "p")), dealer, {"TM-A": listing("TM-A", "SKU-A")})
    assert order.dealer_id == "D-9"


# --- hostile payloads (the request-wide checks see only the raw JSON text) -----------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1e999999",  # Decimal arithmetic raised Overflow (INTERNAL)
        "1E+1000000",
        Decimal("1e999999"),  # a JSON number literal, decoded as Decimal
        "1e-99999999",  # Decimal arithmetic flushed it to 0
        "0.0000000000000000000000000000001",
        "1.000000000000000000000000000001",  # rounded to 28 digits, then read as 1.00
        "12345678901234567890123456789",
        "100000000000.01",  # one fen past MAX_FIELD_AMOUNT_MINOR
    ],
)
def test_amounts_out_of_decimal_range_are_refused_never_rounded(value: object) -> None:
    with pytest.raises(ValueError):
        to_minor(value, "CNY")  # type: ignore[arg-type]


def test_amounts_at_the_edges_of_the_range_are_exact() -> None:
    assert to_minor("100000000000.00", "CNY") == 10**13
    assert to_minor("1e11", "CNY") == 10**13
    assert to_minor("0e999999", "CNY") == to_minor("0E-999999", "CNY") == 0
    assert to_minor("1.50e1", "CNY") == 1500


def test_an_amount_out_of_range_is_refused_on_its_path(examples: dict[str, str]) -> None:
    trade = examples["taobao"].replace('"payment": "220.00"', '"payment": 1e999999')
    assert trade != examples["taobao"]
    problems = refused("taobao", trade)
    assert list(problems) == ["payload.trade_fullinfo_get_response.trade.payment"]
    generic = {
        "external_order_id": "X",
        "currency": "CNY",
        "lines": [{"channel_sku": "A", "quantity": 1, "unit_price": "1e-99999999"}],
    }
    assert list(refused("generic", generic)) == ["payload.lines[0].unit_price"]


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        ("external_order_id", "E\u0000X"),
        ("external_order_id", "E\ud800"),
        ("lines[0].channel_sku", "A\u0000B"),
        ("lines[0].channel_sku", "A\udc00"),
        ("customer.name", "Li\u0000Lei"),
        ("customer.name", "Li\ud800"),
        ("fulfillment.address", "Road\u0000 1"),
        ("fulfillment.address", "Road\n1"),
        ("fulfillment.region", "CN\u0001SH"),
        ("payment_ref", "pa\u0085y"),
    ],
)
def test_escaped_control_characters_and_lone_surrogates_are_refused_on_their_path(where: str, bad: str) -> None:
    order: dict[str, object] = {
        "external_order_id": "E",
        "currency": "CNY",
        "customer": {"id": "b1", "name": "Li"},
        "fulfillment": {"address": "Road 1", "region": "CN-SH"},
        "lines": [{"channel_sku": "A", "quantity": 1, "unit_price": "1.00"}],
    }
    *parents, key = where.replace("[0]", ".0").split(".")
    node: object = order
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    node[key] = bad  # type: ignore[index]
    problems = refused("generic", json.dumps(order))  # json.dumps escapes them: \u0000, \ud800
    assert list(problems) == [f"payload.{where}"]
    assert "control characters or lone surrogates" in problems[f"payload.{where}"]
    assert problems[f"payload.{where}"].encode()  # the description itself is sendable


def test_escaped_control_characters_are_refused_in_every_format(examples: dict[str, str]) -> None:
    shop = json.loads(examples["shopify"])
    shop["shipping_address"]["address1"] = "Road\u00001"
    assert list(refused("shopify", shop)) == ["payload.shipping_address.address1"]
    trade = json.loads(examples["taobao"])
    trade["trade_fullinfo_get_response"]["trade"]["buyer_nick"] = "nick\ud800"
    assert list(refused("taobao", trade)) == ["payload.trade_fullinfo_get_response.trade.buyer_nick"]


# --- a re-import is the order placed only when it is the same deal -----------------------------------------


def _reimport(*lines: tuple[str, int]) -> ImportedOrder:
    return ImportedOrder(
        "MP-1",
        "CNY",
        CustomerInfo(),
        tuple(ImportedLine(code, n, 9900, f"payload.lines[{i}].channel_sku") for i, (code, n) in enumerate(lines)),
        FulfillmentPreference(),
    )


def test_a_reimport_is_the_order_placed_only_with_the_same_goods_for_the_same_money() -> None:
    placed = Money("CNY", 9900 * 3)
    same = _reimport(("TEE-RED", 2), ("CAP", 1))
    assert same.is_placed_as(placed, {"TEE-RED": 2, "CAP": 1})
    assert _reimport(("CAP", 1), ("TEE-RED", 1), ("TEE-RED", 1)).is_placed_as(placed, {"TEE-RED": 2, "CAP": 1})
    # A variant swapped at the same price and count is other goods (it used to answer with the old order).
    assert not _reimport(("TEE-BLUE", 2), ("CAP", 1)).is_placed_as(placed, {"TEE-RED": 2, "CAP": 1})
    assert not _reimport(("TEE-RED", 1), ("CAP", 2)).is_placed_as(placed, {"TEE-RED": 2, "CAP": 1})
    assert not same.is_placed_as(Money("CNY", 9900 * 3 - 1), {"TEE-RED": 2, "CAP": 1})
    assert not same.is_placed_as(Money("USD", 9900 * 3), {"TEE-RED": 2, "CAP": 1})


# --- the payload's own modification time -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("format_", "key", "value", "instant"),
    [
        ("shopify", "updated_at", "2026-11-23T10:15:30+08:00", datetime(2026, 11, 23, 2, 15, 30, tzinfo=UTC)),
        ("shopify", "updated_at", "2026-11-23T02:15:30.25Z", datetime(2026, 11, 23, 2, 15, 30, 250000, tzinfo=UTC)),
        ("taobao", "modified", "2026-11-23 08:00:00", datetime(2026, 11, 23, 0, 0, tzinfo=UTC)),
        ("taobao", "modified", "2026-11-23T08:00:00+00:00", datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        ("generic", "updated_at", "2026-11-23T08:00:00-05:00", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),
        ("shopify", "updated_at", None, None),
        ("taobao", "modified", "", None),
    ],
)
def test_each_format_reads_when_the_marketplace_last_modified_the_order(
    examples: dict[str, str], format_: str, key: str, value: str | None, instant: datetime | None
) -> None:
    """The address of a payload is as of its modification time (late re-sends of older versions must not move an
    order back); a payload that does not say has none, and its address is as of now."""
    payload = json.loads(examples[format_])
    _holder(format_, payload)[key] = value
    imported = parse(format_, json.dumps(payload))
    assert imported.modified_at == instant


@pytest.mark.parametrize(
    ("format_", "key", "value", "why"),
    [
        ("shopify", "updated_at", "yesterday", "such as"),
        ("shopify", "updated_at", "2026-11-23 10:15:30", "UTC offset"),  # Shopify always names its offset
        ("generic", "updated_at", "2026-11-23T10:15:30", "UTC offset"),
        ("taobao", "modified", "2026-02-30 10:15:30", "such as"),
        ("taobao", "modified", 1763864130, "such as"),
        ("taobao", "modified", "\u0662\u0660\u0662\u0666-11-23 10:15:30", "such as"),
        ("generic", "updated_at", "1969-12-31T23:59:59Z", "between"),
        ("generic", "updated_at", "2026-11-23T10:15:30+25:00", "such as"),
    ],
)
def test_a_modification_time_that_cannot_be_read_is_refused_on_its_path(
    examples: dict[str, str], format_: str, key: str, value: object, why: str
) -> None:
    payload = json.loads(examples[format_])
    _holder(format_, payload)[key] = value
    path = "payload.trade_fullinfo_get_response.trade.modified" if format_ == "taobao" else f"payload.{key}"
    problems = refused(format_, payload)
    assert list(problems) == [path]
    assert why in problems[path]


def _holder(format_: str, payload: dict[str, object]) -> dict[str, object]:
    if format_ == "taobao":
        return payload["trade_fullinfo_get_response"]["trade"]  # type: ignore[index,return-value]
    return payload


def test_a_reimport_tells_orders_its_address_when_it_moved_or_is_newer() -> None:
    t1, t2 = datetime(2026, 11, 23, 1, tzinfo=UTC), datetime(2026, 11, 23, 2, tzinfo=UTC)
    at_a = ImportedOrder("MP-1", "CNY", CustomerInfo(), (), FulfillmentPreference(address="A"), modified_at=t2)
    # Another address: orders decides whether it is newer.
    assert at_a.address_news("B", t2) == at_a.address_news("B", None) == "A"
    # The same address, modified later than the order's: its time, so an older change arriving later is moot.
    assert at_a.address_news("A", t1) == at_a.address_news("A", None) == "A"
    assert at_a.address_news("A", t2) == ""
    # Without a time: only a move, as before.
    timeless = ImportedOrder("MP-1", "CNY", CustomerInfo(), (), FulfillmentPreference(address="A"))
    assert (timeless.address_news("A", None), timeless.address_news("B", t1)) == ("", "A")
    # Two versions of a payload moving the same order to the same address are two requests.
    assert address_change_key("o", "1.0", "A", t1) != address_change_key("o", "1.0", "A", t2)
    assert address_change_key("o", "1.0", "A") == address_change_key("o", "1.0", "A", None)


def test_the_placed_order_carries_the_payloads_time() -> None:
    moment = datetime(2026, 11, 23, 1, tzinfo=UTC)
    payload = replace(imported(ImportedLine("TM-A", 1, 100, "payload.lines[0].channel_sku")), modified_at=moment)
    assert resolve(payload, channel(), {"TM-A": listing("TM-A", "SKU-A")}).address_as_of == moment
