"""Shopify-style order webhook (orders/create) -> ImportedOrder.

Fields read: id (the external order id), currency, line_items[{sku, quantity, price}], customer{id, email,
phone, first_name, last_name}, email/phone (guest checkout), shipping_address{country_code, province_code,
address1, address2, city, zip, phone, name}, financial_status ("paid" pays the order).
Everything else is ignored. See docs/import-formats.md.
"""

from __future__ import annotations

from onepool_kernel.intake import CustomerInfo, FulfillmentPreference
from onepool_runtime.validation import CURRENCY_RE

from onepool_channels.adapters.formats.common import Obj, join
from onepool_channels.adapters.formats.regions import from_codes
from onepool_channels.domain.imports import ImportedLine, ImportedOrder


def parse(root: Obj) -> ImportedOrder:
    external_id = root.text("id", required=True, max_len=64)
    currency = root.text("currency", required=True, max_len=3).upper()
    if currency and not CURRENCY_RE.match(currency):
        root.v.add(root.at("currency"), "must be an ISO 4217 code such as CNY")
    lines = []
    for item in root.objects("line_items"):
        lines.append(
            ImportedLine(
                channel_sku=item.text("sku", required=True, max_len=128),
                quantity=item.quantity("quantity"),
                unit_price_minor=item.amount("price", currency),
                sku_path=item.at("sku"),
            )
        )
    customer = root.obj("customer")
    address = root.obj("shipping_address", required=True)
    name = " ".join(p for p in (customer.text("first_name"), customer.text("last_name")) if p) if customer else ""
    shipping = FulfillmentPreference(allow_split=True)
    if address is not None:
        shipping = FulfillmentPreference(
            allow_split=True,
            region=from_codes(
                address.text("country_code", required=True, max_len=2), address.text("province_code", max_len=8)
            ),
            address=join(
                address.text("address1"),
                address.text("address2"),
                address.text("city"),
                address.text("province"),
                address.text("zip"),
                address.text("country"),
            ),
        )
    buyer = CustomerInfo(
        channel_customer_id=customer.text("id", max_len=64) if customer else "",
        phone=(customer.text("phone", max_len=32) if customer else "")
        or root.text("phone", max_len=32)
        or (address.text("phone", max_len=32) if address else ""),
        email=(customer.text("email", max_len=200) if customer else "") or root.text("email", max_len=200),
        name=name or (address.text("name") if address else ""),
    )
    paid = root.text("financial_status", max_len=32).lower() == "paid"
    root.v.raise_if_any()
    return ImportedOrder(
        external_id, currency, buyer, tuple(lines), shipping, payment_ref=f"shopify:{external_id}" if paid else ""
    )
