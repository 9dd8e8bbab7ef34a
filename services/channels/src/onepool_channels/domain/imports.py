"""Marketplace order import: a payload normalised into the unified order.

The format adapters (adapters/formats) turn a marketplace's JSON into an `ImportedOrder` that still speaks
the channel's language (channel SKUs, the channel's buyer id). `resolve` maps it through the channel's
listings into the order to place. The buyer and the delivery are the orders contract's own (kernel
`intake`); a marketplace order is already sold, so the formats allow it to ship in parts (`allow_split`)
unless the payload says otherwise. Money is parsed from decimal text into integer minor units; a value
that does not fit the currency's minor unit exactly is refused, never rounded, and floats never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from onepool_kernel.errors import FailedPrecondition, Violations
from onepool_kernel.intake import CustomerInfo, FulfillmentPreference
from onepool_kernel.money import Money

from onepool_channels.domain.model import Channel, Listing

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}
MAX_AMOUNT_MINOR = 10**13
FORMATS = ("shopify", "taobao", "generic")


def minor_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency, 2)


def to_minor(value: str | int | Decimal, currency: str) -> int:
    """'12.50' CNY -> 1250. Raises ValueError (with a description for the caller) when it is not exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('must be a decimal amount such as "12.50"')
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError('must be a decimal amount such as "12.50"') from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal amount")
    if amount < 0:
        raise ValueError("must not be negative")
    exponent = minor_exponent(currency)
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"has more than {exponent} decimal places for {currency}")
    if minor > MAX_AMOUNT_MINOR:
        raise ValueError("is too large")
    return int(minor)


@dataclass(frozen=True)
class ImportedLine:
    channel_sku: str
    quantity: int
    unit_price_minor: int
    # Where the channel SKU came from in the payload, so a refusal names it (payload.line_items[1].sku).
    sku_path: str


@dataclass(frozen=True)
class ImportedOrder:
    external_order_id: str
    currency: str
    customer: CustomerInfo
    lines: tuple[ImportedLine, ...]
    shipping: FulfillmentPreference
    currency_path: str = "payload.currency"
    # Set when the marketplace says the buyer has already paid: the order is then paid in OnePool too, so
    # its reservation is committed and never expires.
    payment_ref: str = ""


@dataclass(frozen=True)
class OrderLine:
    sku: str
    channel_sku: str
    quantity: int
    unit_price: Money


@dataclass(frozen=True)
class OrderToPlace:
    """What the orders service is asked to place: the unified order, in OnePool SKUs and minor units."""

    channel_id: str
    external_order_id: str
    customer: CustomerInfo
    lines: tuple[OrderLine, ...]
    shipping: FulfillmentPreference
    dealer_id: str = ""
    payment_ref: str = ""


def resolve(order: ImportedOrder, channel: Channel, listings: dict[str, Listing]) -> OrderToPlace:
    """Map channel SKUs to SKUs through the channel's active listings; refuse the whole order otherwise.

    `listings` is keyed by channel SKU. Lines of the same SKU at the same price are merged (orders wants one
    line per SKU); the same SKU at different prices is refused, since merging would change the money.
    """
    if not channel.selling:
        raise FailedPrecondition(
            "CHANNEL_PAUSED", f"channel {channel.code} is paused and takes no orders", {"channel_id": channel.id}
        )
    v = Violations()
    if order.currency != channel.currency:
        v.add(order.currency_path, f"is {order.currency} but channel {channel.code} sells in {channel.currency}")
    merged: dict[str, OrderLine] = {}
    for line in order.lines:
        listing = listings.get(line.channel_sku)
        if listing is None:
            v.add(line.sku_path, f"unknown channel SKU {line.channel_sku!r}: no listing on channel {channel.code}")
            continue
        if not listing.active:
            v.add(line.sku_path, f"channel SKU {line.channel_sku!r} is not active on channel {channel.code}")
            continue
        price = Money(order.currency, line.unit_price_minor)
        seen = merged.get(listing.sku)
        if seen is None:
            merged[listing.sku] = OrderLine(listing.sku, line.channel_sku, line.quantity, price)
        elif seen.unit_price != price:
            v.add(line.sku_path, f"SKU {listing.sku} appears twice at different prices")
        else:
            merged[listing.sku] = OrderLine(listing.sku, seen.channel_sku, seen.quantity + line.quantity, price)
    v.raise_if_any()
    return OrderToPlace(
        channel_id=channel.id,
        external_order_id=order.external_order_id,
        customer=order.customer,
        lines=tuple(merged.values()),
        shipping=order.shipping,
        dealer_id=channel.owner_dealer_id,
        payment_ref=order.payment_ref,
    )
