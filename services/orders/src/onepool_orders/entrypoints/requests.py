"""Proto requests -> validated commands. Every violation is reported with its field path, all at once."""

from __future__ import annotations

import re

from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2 as pb
from onepool_kernel.intake import LineToPlace
from onepool_kernel.money import MAX_AMOUNT_MINOR, Money
from onepool_kernel.timestamps import instant_from_iso
from onepool_runtime.errors import InvalidArgument, Violations
from onepool_runtime.mapping import build
from onepool_runtime.protobuf import FULFILLMENT_MODES_BACK, from_ts
from onepool_runtime.validation import (
    ID_RE,
    check_id,
    check_lines,
    check_money,
    check_request_id,
    check_text,
    decode_page_token,
    page_size,
)

from onepool_orders.adapters.mappers import ORDER_STATUSES_BACK, PAYMENT_KINDS_BACK
from onepool_orders.domain import commands
from onepool_orders.domain.customers import normalize_phone
from onepool_orders.domain.model import CustomerInfo, FulfillmentMode, FulfillmentPreference, PaymentKind
from onepool_orders.domain.stock_requests import StockLine
from onepool_orders.settings import OrdersSettings

# Marketplaces' order numbers are not ours to restrict much: any 1-128 visible characters.
EXTERNAL_ID_RE = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}\Z")


def _order_id(v: Violations, value: str, path: str = "order_id") -> None:
    check_id(v, path, value)


def _money(v: Violations, path: str, value: common_pb2.Money, present: bool) -> Money:
    if not present:
        v.add(path, "is required")
        return Money("", 0)
    check_money(v, path, value, max_minor=MAX_AMOUNT_MINOR)
    return Money(value.currency, value.amount_minor)


def _customer(v: Violations, c: pb.Customer) -> CustomerInfo:
    check_text(v, "customer.channel_customer_id", c.channel_customer_id, max_len=128)
    if c.phone:
        digits = normalize_phone(c.phone).lstrip("+")
        if not (5 <= len(digits) <= 20) or len(c.phone) > 32:
            v.add("customer.phone", "must be a phone number (5-20 digits, optionally with +, spaces, dashes)")
    check_id(v, "customer.member_id", c.member_id, required=False)
    check_text(v, "customer.name", c.name, max_len=200)
    check_text(v, "customer.email", c.email, max_len=254)
    if c.email and "@" not in c.email:
        v.add("customer.email", "must be an email address")
    return CustomerInfo(c.channel_customer_id, c.phone.strip(), c.member_id, c.name.strip(), c.email.strip())


# How long a delivery address may be (PlaceOrder's fulfillment.address, ChangeDeliveryAddress's address).
ADDRESS_MAX_CHARS = 500


def _fulfillment(v: Violations, f: pb.FulfillmentPreference) -> FulfillmentPreference:
    # UNSPECIFIED is SHIP, as the proto says: a storefront that sends no mode (or JSON without one) ships.
    mode = FulfillmentMode.SHIP if f.mode == pb.FULFILLMENT_MODE_UNSPECIFIED else FULFILLMENT_MODES_BACK.get(f.mode)
    if mode is None:
        v.add("fulfillment.mode", "must be SHIP, PICKUP_IN_STORE or DEALER_DELIVERY")
        mode = FulfillmentMode.SHIP
    check_text(v, "fulfillment.region", f.region, max_len=64)
    check_text(v, "fulfillment.address", f.address, max_len=ADDRESS_MAX_CHARS)
    if mode is FulfillmentMode.PICKUP_IN_STORE:
        check_id(v, "fulfillment.pickup_location_id", f.pickup_location_id)
    else:
        if f.pickup_location_id:
            v.add("fulfillment.pickup_location_id", "is only for PICKUP_IN_STORE")
        if not f.address.strip() and not f.region.strip():
            v.add("fulfillment.address", "is required to deliver (or give at least fulfillment.region)")
    return FulfillmentPreference(mode, f.region.strip(), f.address.strip(), f.pickup_location_id, f.allow_split)


def place_order(req: pb.PlaceOrderRequest, settings: OrdersSettings) -> commands.PlaceOrder:
    v = Violations()
    check_id(v, "channel_id", req.channel_id)
    if not EXTERNAL_ID_RE.match(req.external_order_id):
        v.add("external_order_id", "is required: 1-128 visible characters, no spaces")
    customer = _customer(v, req.customer)
    # Repeated SKUs are the domain's refusal (Order.place), reported once with the other line problems.
    check_lines(v, "lines", req.lines, unique_skus=False)
    lines = []
    for i, line in enumerate(req.lines):
        price = _money(v, f"lines[{i}].unit_price", line.unit_price, line.HasField("unit_price"))
        check_text(v, f"lines[{i}].channel_sku", line.channel_sku, max_len=128)
        discount = 0
        if line.HasField("discount"):
            discount = _money(v, f"lines[{i}].discount", line.discount, True).amount_minor
            _same_currency(v, f"lines[{i}].discount.currency", line.discount, req)
        lines.append(LineToPlace(line.sku, line.quantity, price, line.channel_sku, discount))
    currencies = {ln.unit_price.currency for ln in req.lines if ln.HasField("unit_price")}
    for i, line in enumerate(req.lines):
        if len(currencies) > 1 and line.unit_price.currency != req.lines[0].unit_price.currency:
            v.add(f"lines[{i}].unit_price.currency", f"must be {req.lines[0].unit_price.currency} like the first line")
    shipping_fee = 0
    if req.HasField("shipping_fee"):
        shipping_fee = _money(v, "shipping_fee", req.shipping_fee, True).amount_minor
        _same_currency(v, "shipping_fee.currency", req.shipping_fee, req)
    fulfillment = _fulfillment(v, req.fulfillment)
    check_id(v, "dealer_id", req.dealer_id, required=False)
    if fulfillment.mode is FulfillmentMode.DEALER_DELIVERY and not req.dealer_id:
        v.add("dealer_id", "is required for DEALER_DELIVERY (the dealer who delivers)")
    if not 0 <= req.payment_ttl_seconds <= settings.payment_max_ttl_seconds:
        v.add("payment_ttl_seconds", f"must be between 0 (the default) and {settings.payment_max_ttl_seconds}")
    v.raise_if_any()
    return commands.PlaceOrder(
        channel_id=req.channel_id,
        external_order_id=req.external_order_id,
        customer=customer,
        lines=tuple(lines),
        fulfillment=fulfillment,
        dealer_id=req.dealer_id,
        payment_ttl_seconds=req.payment_ttl_seconds,
        shipping_fee_minor=shipping_fee,
        address_as_of=from_ts(req.address_as_of) if req.HasField("address_as_of") else None,
    )


def _same_currency(v: Violations, path: str, value: common_pb2.Money, req: pb.PlaceOrderRequest) -> None:
    """Reductions and charges are in the order's one currency (the first line's)."""
    currency = req.lines[0].unit_price.currency if req.lines else ""
    if value.amount_minor and currency and value.currency != currency:
        v.add(path, f"must be {currency}, the lines' currency")


def order_id(value: str) -> str:
    v = Violations()
    _order_id(v, value)
    v.raise_if_any()
    return value


def pay_order(req: pb.PayOrderRequest) -> commands.PayOrder:
    v = Violations()
    _order_id(v, req.order_id)
    check_text(v, "payment_ref", req.payment_ref, max_len=128, required=True)
    amount = _money(v, "amount", req.amount, req.HasField("amount"))
    kind = PAYMENT_KINDS_BACK.get(req.kind) if req.kind else PaymentKind.FULL
    if kind is None:
        v.add("kind", "must be PAYMENT_KIND_FULL, PAYMENT_KIND_DEPOSIT or PAYMENT_KIND_BALANCE")
    v.raise_if_any()
    assert kind is not None
    return commands.PayOrder(req.order_id, req.payment_ref.strip(), amount, kind)


def cancel_order(req: pb.CancelOrderRequest) -> commands.CancelOrder:
    v = Violations()
    _order_id(v, req.order_id)
    check_text(v, "reason", req.reason)
    v.raise_if_any()
    return commands.CancelOrder(req.order_id, req.reason.strip())


def change_delivery_address(req: pb.ChangeDeliveryAddressRequest) -> commands.ChangeDeliveryAddress:
    """The address is held to PlaceOrder's rule for fulfillment.address; control characters (NUL) are refused
    for every request before this (runtime request_checks)."""
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    _order_id(v, req.order_id)
    check_text(v, "address", req.address, max_len=ADDRESS_MAX_CHARS, required=True)
    v.raise_if_any()
    # as_of's range is every request's (runtime request_checks): nothing to refuse here.
    as_of = from_ts(req.as_of) if req.HasField("as_of") else None
    return commands.ChangeDeliveryAddress(req.request_id, req.order_id, req.address.strip(), as_of)


def reprice_order(req: pb.RepriceOrderRequest) -> commands.RepriceOrder:
    """The shape of the request; whether its SKUs are the order's and its amounts fit them is the order's
    to say (Order.reprice)."""
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    _order_id(v, req.order_id)
    if not req.lines:
        v.add("lines", "is required: every line of the order with its discount")
    discounts: dict[str, Money] = {}
    for i, line in enumerate(req.lines):
        if not line.sku:
            v.add(f"lines[{i}].sku", "is required")
        elif line.sku in discounts:
            v.add(f"lines[{i}].sku", f"names {line.sku} again: each of the order's SKUs once")
        discount = Money(line.discount.currency, 0)
        if line.HasField("discount"):
            discount = _money(v, f"lines[{i}].discount", line.discount, True)
        discounts.setdefault(line.sku, discount)
    shipping_fee = Money(req.shipping_fee.currency, 0)
    if req.HasField("shipping_fee"):
        shipping_fee = _money(v, "shipping_fee", req.shipping_fee, True)
    v.raise_if_any()
    as_of = from_ts(req.as_of) if req.HasField("as_of") else None
    return commands.RepriceOrder(req.request_id, req.order_id, discounts, shipping_fee, as_of)


def ship_fulfillment(req: pb.ShipFulfillmentRequest) -> commands.ShipFulfillment:
    v = Violations()
    _order_id(v, req.order_id)
    check_id(v, "fulfillment_id", req.fulfillment_id)
    check_text(v, "tracking_no", req.tracking_no, max_len=128)
    v.raise_if_any()
    return commands.ShipFulfillment(req.order_id, req.fulfillment_id, req.tracking_no.strip())


def confirm_pickup(req: pb.ConfirmPickupRequest) -> commands.ConfirmPickup:
    v = Violations()
    _order_id(v, req.order_id)
    check_id(v, "fulfillment_id", req.fulfillment_id)
    v.raise_if_any()
    return commands.ConfirmPickup(req.order_id, req.fulfillment_id)


def return_items(req: pb.ReturnItemsRequest) -> commands.ReturnItems:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    _order_id(v, req.order_id)
    check_lines(v, "lines", req.lines)
    check_id(v, "return_location_id", req.return_location_id)
    check_text(v, "reason", req.reason)
    v.raise_if_any()
    return commands.ReturnItems(
        req.request_id,
        req.order_id,
        tuple(StockLine(ln.sku, ln.quantity) for ln in req.lines),
        req.return_location_id,
        req.reason.strip(),
        req.accept_after_window,
    )


def refund_order(req: pb.RefundOrderRequest) -> commands.RefundOrder:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    _order_id(v, req.order_id)
    amount = _money(v, "amount", req.amount, req.HasField("amount"))
    if req.HasField("amount") and req.amount.amount_minor == 0:
        v.add("amount.amount_minor", "must be more than 0")
    check_text(v, "reason", req.reason)
    v.raise_if_any()
    return commands.RefundOrder(req.request_id, req.order_id, amount, req.reason.strip(), req.accept_after_window)


def list_orders(req: pb.ListOrdersRequest) -> commands.ListOrders:
    v = Violations()
    for path in ("channel_id", "dealer_id", "customer_id", "location_id"):
        check_id(v, path, getattr(req, path), required=False)
    if req.external_order_id and not EXTERNAL_ID_RE.match(req.external_order_id):
        v.add("external_order_id", "must be 1-128 visible characters, no spaces")
    status = None
    if req.status != pb.ORDER_STATUS_UNSPECIFIED:
        status = ORDER_STATUSES_BACK.get(req.status)
        if status is None:
            v.add("status", "is not a known order status")
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    cursor = decode_page_token(req.page_token)
    after = None
    if cursor is not None:
        created, last_id = cursor.get("c"), cursor.get("i")
        try:
            if not isinstance(created, str) or not isinstance(last_id, str) or not ID_RE.match(last_id):
                raise ValueError
            instant_from_iso(created)
        except ValueError as exc:
            raise InvalidArgument("page_token", "is not a valid page token") from exc
        after = (created, last_id)
    return build(commands.ListOrders, req, status=status, limit=limit, after=after)
