"""The documented generic order JSON -> ImportedOrder (see docs/import-formats.md).

{external_order_id, currency, customer{id, phone, email, name, member_id},
 lines[{channel_sku, quantity, unit_price | unit_price_minor, discount}], shipping_fee, total,
 fulfillment{mode: SHIP|PICKUP_IN_STORE|DEALER_DELIVERY, region, address, pickup_location_id, allow_split},
 updated_at}

`updated_at` (optional, RFC 3339 with its offset) is when the marketplace last modified the order: the
address is as of then. `pay_by` (optional, the same form) is when the marketplace closes the order unless it is
paid: an unpaid order holds its stock until then, within the channel's import_payment_ttl_seconds.

`cancelled` (optional, true or false; default false): true when the marketplace cancelled the order or refunded
all of it, which closes it.

`discount` (per line), `shipping_fee` and `total` are optional decimal amounts; `total`, when sent, must equal
the lines less their discounts plus shipping.
"""

from __future__ import annotations

from onepool_kernel.intake import CustomerInfo, FulfillmentMode, FulfillmentPreference
from onepool_runtime.validation import ID_RE, check_currency

from onepool_channels.adapters.formats.common import Obj
from onepool_channels.domain.imports import MAX_FIELD_AMOUNT_MINOR, Charges, ImportedLine, ImportedOrder


def _price(line: Obj, currency: str) -> int:
    if "unit_price_minor" in line.data and "unit_price" in line.data:
        line.v.add(line.at("unit_price"), "give either unit_price or unit_price_minor, not both")
        return 0
    if "unit_price_minor" in line.data:
        value = line.data["unit_price_minor"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIELD_AMOUNT_MINOR:
            line.v.add(line.at("unit_price_minor"), "must be a whole number of minor units, not negative")
            return 0
        return value
    return line.amount("unit_price", currency)


def parse(root: Obj) -> ImportedOrder:
    external_id = root.text("external_order_id", required=True, max_len=64)
    currency = root.text("currency", required=True, max_len=3)
    if currency:
        check_currency(root.v, root.at("currency"), currency)
    lines = [
        ImportedLine(
            channel_sku=line.text("channel_sku", required=True, max_len=128),
            quantity=line.quantity("quantity"),
            unit_price_minor=_price(line, currency),
            sku_path=line.at("channel_sku"),
            discount_minor=line.amount("discount", currency, required=False),
            price_path=line.at("unit_price"),
            discount_path=line.at("discount"),
        )
        for line in root.objects("lines")
    ]
    charges = Charges(
        collected_minor=root.amount("total", currency) if root.has("total") else None,
        collected_path=root.at("total"),
        shipping_minor=root.amount("shipping_fee", currency, required=False),
    )
    customer = root.obj("customer")
    buyer = CustomerInfo()
    if customer is not None:
        buyer = CustomerInfo(
            channel_customer_id=customer.text("id", max_len=64),
            phone=customer.text("phone", max_len=32),
            email=customer.text("email", max_len=200),
            name=customer.text("name"),
            member_id=customer.text("member_id", max_len=64),
        )
    shipping = FulfillmentPreference(allow_split=True)
    fulfillment = root.obj("fulfillment")
    if fulfillment is not None:
        mode_text = fulfillment.text("mode", max_len=32).upper() or FulfillmentMode.SHIP.value
        mode = FulfillmentMode.SHIP
        if mode_text in FulfillmentMode.__members__:
            mode = FulfillmentMode(mode_text)
        else:
            root.v.add(fulfillment.at("mode"), "must be SHIP, PICKUP_IN_STORE or DEALER_DELIVERY")
        pickup = fulfillment.text("pickup_location_id", required=mode is FulfillmentMode.PICKUP_IN_STORE, max_len=64)
        if pickup and not ID_RE.match(pickup):
            root.v.add(fulfillment.at("pickup_location_id"), "must be a location id")
        shipping = FulfillmentPreference(
            mode=mode,
            region=fulfillment.text("region", max_len=64),
            address=fulfillment.text("address", max_len=500),
            pickup_location_id=pickup,
            allow_split=fulfillment.flag("allow_split", True),
        )
    payment_ref = root.text("payment_ref", max_len=128)
    modified_at = root.instant("updated_at")
    cancelled = root.flag("cancelled", False)
    pay_by = root.instant("pay_by")
    root.v.raise_if_any()
    return ImportedOrder(
        external_id,
        currency,
        buyer,
        tuple(lines),
        shipping,
        payment_ref=payment_ref,
        charges=charges,
        modified_at=modified_at,
        closed="cancelled" if cancelled else "",
        pay_by=pay_by,
    )
