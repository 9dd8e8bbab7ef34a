"""Taobao/Tmall-style trade (taobao.trade.fullinfo.get) -> ImportedOrder.

Accepted shapes: the trade object itself, {"trade": {...}} or {"trade_fullinfo_get_response": {"trade":
{...}}}. Fields read: tid_str or tid (the external order id), orders.order[{outer_sku_id or outer_iid, num,
price}], buyer_nick, receiver_name, receiver_mobile (or receiver_phone), receiver_state, receiver_city,
receiver_district, receiver_address, receiver_zip, status and alipay_no (a paid status pays the order, a closed
one cancels it: see CLOSED_STATUSES),
modified (when the trade last changed, "2026-11-23 10:15:30" in Beijing time unless it names an offset: the
address is as of then), timeout_action_time (when Taobao closes an unpaid trade: its stock is held until then,
within the channel's import_payment_ttl_seconds), and the trade's money: total_fee, discount_fee, adjust_fee,
post_fee and payment.
Taobao trades are in CNY. See docs/import-formats.md.

Totals: payment = total_fee - discount_fee + adjust_fee + post_fee (Taobao's own arithmetic), where
total_fee is the lines' price x num (checked when sent), discount_fee the trade's discounts, adjust_fee the
seller's manual adjustment (negative lowers the price) and post_fee the shipping. discount_fee - adjust_fee
is an order-level discount spread over the lines; a net increase (adjust_fee above discount_fee) is refused,
as OnePool never sells above the listing's price. payment is checked against the parts (domain/imports.py).
"""

from __future__ import annotations

from datetime import timedelta, timezone

from onepool_kernel.intake import CustomerInfo, FulfillmentPreference

from onepool_channels.adapters.formats.common import Obj, join
from onepool_channels.adapters.formats.regions import from_cn_province
from onepool_channels.domain.imports import Charges, ImportedLine, ImportedOrder, to_text

CURRENCY = "CNY"
# Taobao writes its times without an offset, in China Standard Time.
BEIJING = timezone(timedelta(hours=8))
# Trade statuses after the buyer has paid (Alipay holds the money until the buyer confirms receipt).
PAID_STATUSES = {
    "WAIT_SELLER_SEND_GOODS",
    "SELLER_CONSIGNED_PART",
    "WAIT_BUYER_CONFIRM_GOODS",
    "TRADE_BUYER_SIGNED",
    "TRADE_FINISHED",
    # Paid, but Taobao forbids shipping for now (a group buy still forming): the money is collected all the same.
    "PAID_FORBID_CONSIGN",
}
# Trade statuses of a trade closed on Taobao: by the buyer, the seller or Taobao before it was paid
# (TRADE_CLOSED_BY_TAOBAO, TRADE_NO_CREATE_PAY), or after a full refund (TRADE_CLOSED). Never a sale.
CLOSED_STATUSES = {"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO", "TRADE_NO_CREATE_PAY"}


def _trade(root: Obj) -> Obj:
    for wrapper in ("trade_fullinfo_get_response", None):
        outer = root.obj(wrapper) if wrapper else root
        if outer is not None and isinstance(outer.data.get("trade"), dict):
            trade = outer.obj("trade")
            assert trade is not None
            return trade
    return root


def parse(root: Obj) -> ImportedOrder:
    trade = _trade(root)
    external_id = trade.text("tid_str", max_len=64) or trade.text("tid", required=True, max_len=64)
    orders = trade.obj("orders", required=True)
    lines = []
    for item in orders.objects("order") if orders else []:
        field = "outer_sku_id" if item.has("outer_sku_id") else "outer_iid"
        sku = item.text(field, max_len=128)
        if not sku:
            item.v.add(item.at("outer_sku_id"), "is required (or outer_iid for an item without SKUs)")
        lines.append(
            ImportedLine(
                channel_sku=sku,
                quantity=item.quantity("num"),
                unit_price_minor=item.amount("price", CURRENCY),
                sku_path=item.at(field),
                price_path=item.at("price"),
            )
        )
    charges = _charges(trade, sum(line.unit_price_minor * line.quantity for line in lines))
    mobile = trade.text("receiver_mobile", max_len=32) or trade.text("receiver_phone", max_len=32)
    buyer = CustomerInfo(
        channel_customer_id=trade.text("buyer_nick", required=True, max_len=64),
        phone=mobile,
        name=trade.text("receiver_name"),
        email=trade.text("buyer_email", max_len=200),
    )
    state = trade.text("receiver_state", required=True, max_len=64)
    shipping = FulfillmentPreference(
        allow_split=True,
        region=from_cn_province(state),
        address=join(
            state,
            trade.text("receiver_city"),
            trade.text("receiver_district"),
            trade.text("receiver_address", max_len=500),
            trade.text("receiver_zip"),
        ),
    )
    status = trade.text("status", max_len=64)
    paid = status in PAID_STATUSES
    payment_ref = (trade.text("alipay_no", max_len=64) or f"taobao:{external_id}") if paid else ""
    modified_at = trade.instant("modified", zone=BEIJING)
    # While the trade waits for payment, Taobao closes it at timeout_action_time: the order holds until then.
    pay_by = trade.instant("timeout_action_time", zone=BEIJING)
    trade.v.raise_if_any()
    return ImportedOrder(
        external_id,
        CURRENCY,
        buyer,
        tuple(lines),
        shipping,
        currency_path=trade.path,
        payment_ref=payment_ref,
        charges=charges,
        modified_at=modified_at,
        closed=status if status in CLOSED_STATUSES else "",
        pay_by=pay_by,
    )


def _charges(trade: Obj, goods: int) -> Charges:
    """Totals are compared only when the lines could be read (a broken line would make every total wrong)."""
    if trade.has("total_fee") and not trade.v.items:
        total_fee = trade.amount("total_fee", CURRENCY)
        if total_fee != goods:
            trade.v.add(
                trade.at("total_fee"),
                f"is {to_text(total_fee, CURRENCY)} but the orders' price x num add up to {to_text(goods, CURRENCY)}",
            )
    discount = trade.amount("discount_fee", CURRENCY, required=False)
    adjust = trade.signed_amount("adjust_fee", CURRENCY)
    if adjust > discount:
        trade.v.add(
            trade.at("adjust_fee"),
            f"raises the price by {to_text(adjust - discount, CURRENCY)} beyond discount_fee; OnePool sells at "
            "most at the listing's price",
        )
    return Charges(
        collected_minor=trade.amount("payment", CURRENCY),
        collected_path=trade.at("payment"),
        order_discount_minor=max(0, discount - adjust),
        discount_path=trade.at("discount_fee"),
        shipping_minor=trade.amount("post_fee", CURRENCY, required=False),
    )
