"""Shopify-style order webhook (orders/create) -> ImportedOrder.

Fields read: id (the external order id), currency, line_items[{sku, quantity, price, discount_allocations
[{amount}] (else total_discount)}], total_discounts, shipping_lines[{price, discount_allocations[{amount}]}],
total_price, taxes_included and total_tax, customer{id, email, phone, first_name, last_name}, email/phone
(guest checkout), shipping_address{country_code, province_code, address1, address2, city, zip, phone, name},
financial_status ("paid" or "partially_refunded" pays the order; "voided" or "refunded" closes it), cancelled_at
(set: the order was cancelled on Shopify, which closes it), updated_at (when Shopify last modified the order,
ISO 8601 with its offset: the address is as of then). Everything else is ignored. See docs/import-formats.md.

Totals: a line's discount is the sum of its discount_allocations (Shopify allocates order-level discounts to
the lines there); shipping is each shipping line's price less its own allocations. total_discounts must
equal the allocations (of the lines, or of the lines and shipping lines); a payload that has none but a
total_discounts gives it as an order-level discount, spread over the lines. Tax charged on top of prices
(taxes_included false with a total_tax) is refused: OnePool's prices include tax. total_price is what
the buyer paid, checked against the parts (domain/imports.py).
"""

from __future__ import annotations

from onepool_kernel.intake import CustomerInfo, FulfillmentPreference
from onepool_runtime.validation import check_currency

from onepool_channels.adapters.formats.common import Obj, join
from onepool_channels.adapters.formats.regions import from_codes
from onepool_channels.domain.imports import Charges, ImportedLine, ImportedOrder, to_text

# Financial statuses once the buyer has paid: a partial refund leaves the rest of the sale paid.
PAID = {"paid", "partially_refunded"}
# Financial statuses of an order that is no sale: the authorisation voided before capture, or all refunded.
CLOSED = {"voided", "refunded"}


def parse(root: Obj) -> ImportedOrder:
    external_id = root.text("id", required=True, max_len=64)
    currency = root.text("currency", required=True, max_len=3).upper()
    if currency:
        check_currency(root.v, root.at("currency"), currency)
    lines = []
    for item in root.objects("line_items"):
        has_allocations = bool(item.data.get("discount_allocations"))
        discount_key = "discount_allocations" if has_allocations else "total_discount"
        lines.append(
            ImportedLine(
                channel_sku=item.text("sku", required=True, max_len=128),
                quantity=item.quantity("quantity"),
                unit_price_minor=item.amount("price", currency),
                sku_path=item.at("sku"),
                discount_minor=(
                    item.total_of("discount_allocations", "amount", currency)
                    if has_allocations
                    else item.amount("total_discount", currency, required=False)
                ),
                price_path=item.at("price"),
                discount_path=item.at(discount_key),
            )
        )
    charges = _charges(root, currency, sum(line.discount_minor for line in lines))
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
    financial_status = root.text("financial_status", max_len=32).lower()
    cancelled = root.instant("cancelled_at") is not None
    closed = "cancelled" if cancelled else (financial_status if financial_status in CLOSED else "")
    paid = financial_status in PAID and not closed
    modified_at = root.instant("updated_at")
    root.v.raise_if_any()
    return ImportedOrder(
        external_id,
        currency,
        buyer,
        tuple(lines),
        shipping,
        payment_ref=f"shopify:{external_id}" if paid else "",
        charges=charges,
        modified_at=modified_at,
        closed=closed,
    )


def _charges(root: Obj, currency: str, line_discounts: int) -> Charges:
    """Totals are compared only when the lines could be read (a broken line would make every total wrong)."""
    lines_read = not root.v.items
    shipping = shipping_discounts = 0
    for ship in root.objects("shipping_lines", required=False):
        price = ship.amount("price", currency)
        discount = ship.total_of("discount_allocations", "amount", currency)
        if discount > price:
            root.v.add(ship.at("discount_allocations"), "add up to more than the shipping line's price")
        shipping += max(0, price - discount)
        shipping_discounts += discount
    order_discount = 0
    if root.has("total_discounts"):
        total_discounts = root.amount("total_discounts", currency)
        if not line_discounts and not shipping_discounts:
            order_discount = total_discounts  # an order-level discount the payload did not allocate
        elif lines_read and total_discounts not in (line_discounts, line_discounts + shipping_discounts):
            root.v.add(
                root.at("total_discounts"),
                f"is {to_text(total_discounts, currency)} but the discount_allocations add up to "
                f"{to_text(line_discounts + shipping_discounts, currency)}",
            )
    taxes_included = root.flag("taxes_included", True)
    if not taxes_included and root.amount("total_tax", currency, required=False) > 0:
        root.v.add(
            root.at("total_tax"), "is charged on top of the prices (taxes_included false); prices must include tax"
        )
    return Charges(
        collected_minor=root.amount("total_price", currency),
        collected_path=root.at("total_price"),
        order_discount_minor=order_discount,
        discount_path=root.at("total_discounts"),
        shipping_minor=shipping,
    )
