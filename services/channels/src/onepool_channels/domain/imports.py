"""Marketplace order import: a payload normalised into the unified order.

The format adapters (adapters/formats) turn a marketplace's JSON into an `ImportedOrder` that still speaks
the channel's language (channel SKUs, the channel's buyer id). `resolve` maps it through the channel's
listings into the order to place. The buyer and the delivery are the orders contract's own (kernel
`intake`); a marketplace order is already sold, so the formats allow it to ship in parts (`allow_split`)
unless the payload says otherwise. Money is parsed from decimal text into integer minor units; a value
that does not fit the currency's minor unit exactly is refused, never rounded, and floats never appear.

A re-import of the same deal with a new delivery address (the buyer changed it on the marketplace) moves the
order placed to it while nothing has shipped (`address_news`, `address_change_key`, and the import use case in
service_layer/importing.py); afterwards the order is answered as it is. Marketplaces re-send old versions of an
order late, so the payload's own modification time (`modified_at`: Shopify `updated_at`, Taobao `modified`,
generic `updated_at`) goes with its address, to PlaceOrder and ChangeDeliveryAddress: orders answers a change
older than the order's current address with the order as it is. A payload without one is an address as of now.

A re-import of the same deal at other prices (the marketplace adjusted an unpaid order's price: Taobao 改价
through adjust_fee, a waived shipping fee) reprices the order placed with orders' RepriceOrder: the lines'
discounts and the shipping fee the payload resolves to, as of its `modified_at` (`reprice_key`, and the import
use case). Only the reductions can change: the same SKUs, quantities and listing prices, buyer, delivery and
dealer. Every price a payload can carry is at most the listing's (a net markup past the trade's discounts is
refused on adjust_fee), so the adjusted prices are always discounts.

Totals (`resolve`): the unified order must charge exactly what the marketplace collected.
- The parts must add up: lines (price x quantity) - line discounts - order discounts + shipping = the
  collected total (Shopify `total_price`, Taobao `payment`). Otherwise INVALID_ARGUMENT on the total's path,
  naming the difference; nothing is placed.
- Order-level discounts are spread over the lines in proportion to what each line costs after its own
  discounts (the kernel's `allocate`: exact, every fen assigned), so every reduction sits on a line and
  settlement and refunds treat it like the rest of the line.
- Listing prices: a line is placed at its listing's price. A marketplace unit price below it is recorded as
  an explicit discount on the line ((listing - price) x quantity); a price above it is refused on the price's
  path (the listing is out of date: update it, then import again).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from onepool_kernel.currencies import MINOR_UNITS
from onepool_kernel.errors import FailedPrecondition, InvalidArgument, Violations
from onepool_kernel.intake import CustomerInfo, FulfillmentPreference, LineToPlace, PlaceOrder
from onepool_kernel.lines import MAX_QUANTITY
from onepool_kernel.money import MAX_AMOUNT_MINOR, Money, allocate
from onepool_kernel.timestamps import now

from onepool_channels.domain.model import Channel, Listing

# The most one amount of a listing or a payload may say (a price, a discount, a total); an order's total is held
# to the kernel's MAX_AMOUNT_MINOR.
MAX_FIELD_AMOUNT_MINOR = 10**13
FORMATS = ("shopify", "taobao", "generic")
# Decimal text as a marketplace writes it: ASCII digits, one optional point, an optional exponent (what a JSON
# number may say too). Python's Decimal also reads "1_000", "+5", "NaN" and other scripts' digits, which no
# marketplace means: they are refused rather than guessed at. No two parts of the pattern can match the same
# digits, so a long run of them followed by a stray character is refused in one pass (the pattern before, with
# `[0-9]+\.?[0-9]*`, took seconds per 16,000 digits: one payload could hold a channels replica's loop for hours).
_DECIMAL_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
# No amount needs more characters or digits than this; a longer one is refused before it is read at all.
MAX_AMOUNT_TEXT = 64


def minor_exponent(currency: str) -> int:
    """Decimal places of an amount in `currency` (ISO 4217's minor unit; 2 for a code the requests refuse)."""
    return MINOR_UNITS.get(currency, 2)


def to_minor(value: str | int | Decimal, currency: str) -> int:
    """'12.50' CNY -> 1250. Raises ValueError (with a description for the caller) when it is not exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('must be a decimal amount such as "12.50"')
    if isinstance(value, str) and (len(value) > MAX_AMOUNT_TEXT or not _DECIMAL_TEXT.match(value.strip())):
        raise ValueError('must be a decimal amount such as "12.50"')
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise ValueError('must be a decimal amount such as "12.50"') from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal amount")
    if amount < 0:
        raise ValueError("must not be negative")
    # Read from the decimal's own digits and exponent, never through Decimal arithmetic: its context would
    # raise Overflow on 1e999999, flush 1e-99999999 to 0 and round past 28 digits, where this refuses.
    _, digits, power = amount.as_tuple()
    assert isinstance(power, int)  # finite
    if len(digits) > MAX_AMOUNT_TEXT:  # a JSON number of thousands of digits ("1.000…"): refused, never walked
        raise ValueError('must be a decimal amount such as "12.50"')
    while len(digits) > 1 and digits[-1] == 0:  # 12.50 -> 125 x 10^-1
        digits, power = digits[:-1], power + 1
    exponent = minor_exponent(currency)
    shift = power + exponent  # minor units = the digits x 10^shift
    if digits == (0,):
        return 0
    if shift < 0:
        raise ValueError(f"has more than {exponent} decimal places for {currency}")
    if len(digits) + shift > len(str(MAX_FIELD_AMOUNT_MINOR)):
        raise ValueError(f"is too large (at most {to_text(MAX_FIELD_AMOUNT_MINOR, currency)})")
    minor = int("".join(map(str, digits))) * 10**shift
    if minor > MAX_FIELD_AMOUNT_MINOR:
        raise ValueError(f"is too large (at most {to_text(MAX_FIELD_AMOUNT_MINOR, currency)})")
    return minor


def to_text(minor: int, currency: str) -> str:
    """1250 CNY -> '12.50' (how a marketplace writes it, for messages)."""
    exponent = minor_exponent(currency)
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


@dataclass(frozen=True)
class ImportedLine:
    channel_sku: str
    quantity: int
    unit_price_minor: int
    # Where the channel SKU came from in the payload, so a refusal names it (payload.line_items[1].sku).
    sku_path: str
    # The marketplace's reductions on this line (Shopify discount_allocations), in minor units.
    discount_minor: int = 0
    price_path: str = ""
    discount_path: str = ""


@dataclass(frozen=True)
class Charges:
    """What the marketplace says the buyer pays besides the lines' prices and their own discounts."""

    # The total the marketplace collected (Shopify total_price, Taobao payment); None when the payload does
    # not say (the generic format's `total` is optional), and then there is nothing to check it against.
    collected_minor: int | None = None
    collected_path: str = ""
    # Reductions on the whole order not yet spread over the lines (Taobao discount_fee - adjust_fee).
    order_discount_minor: int = 0
    discount_path: str = ""
    # Shipping charged to the buyer, after any shipping discount.
    shipping_minor: int = 0


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
    charges: Charges = Charges()
    # When the marketplace last modified the order (the payload's own time, in UTC); None when it does not say.
    modified_at: datetime | None = None
    # Set when the marketplace closed, cancelled or fully refunded the order (its status, e.g. "TRADE_CLOSED",
    # for the cancellation's reason): it is no sale, and an order placed under its external id is cancelled.
    closed: str = ""
    # When the marketplace closes the order unless the buyer has paid (its own payment deadline, in UTC); None
    # when the payload does not say. An unpaid order holds its stock until then, within the channel's term.
    pay_by: datetime | None = None
    # Where the payload names its pickup store, so a refusal names the field as the sender wrote it.
    pickup_path: str = "payload.fulfillment.pickup_location_id"

    def buyer_total_minor(self) -> int:
        """What the buyer pays: the lines at the marketplace's prices, less every discount, plus shipping."""
        c = self.charges
        lines = sum(line.unit_price_minor * line.quantity - line.discount_minor for line in self.lines)
        return lines - c.order_discount_minor + c.shipping_minor

    def goods(self) -> dict[str, int]:
        """Units per channel SKU (lines of one channel SKU added up, as `resolve` merges them)."""
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.channel_sku] = units.get(line.channel_sku, 0) + line.quantity
        return units

    def is_placed_as(self, total: Money, goods: Mapping[str, int]) -> bool:
        """Whether an order placed under this external id is this deal: the same goods (units per channel SKU,
        `goods` read from the order's lines) for the same money. A re-import after its listings changed maps
        to other listing prices (or none), yet is the same sale; one with other goods (a variant swapped on
        the marketplace at the same price) is another deal, whatever it costs."""
        same_money = (total.currency, total.amount_minor) == (self.currency, self.buyer_total_minor())
        return same_money and dict(goods) == self.goods()

    def moved_from(self, placed_address: str) -> str:
        """The payload's delivery address when the order under this external id was placed with another (the
        buyer changed it on the marketplace before the goods left); "" when there is nothing to change: the
        same address, or none in the payload (a region alone, a pickup)."""
        address = self.shipping.address.strip()
        return address if address and address != placed_address.strip() else ""

    def address_news(self, address: str, address_as_of: datetime | None) -> str:
        """The payload's delivery address when orders should hear of it for the order placed under this external
        id, now delivered to `address` as of `address_as_of` (None: unknown): another address (`moved_from`;
        orders decides whether it is newer), or the same one modified later than that, so that a version older
        than this payload, arriving after it, changes nothing. "" when there is nothing to tell."""
        moved = self.moved_from(address)
        if moved or self.modified_at is None or not self.shipping.address.strip():
            return moved
        newer = address_as_of is None or self.modified_at > address_as_of
        return self.shipping.address.strip() if newer else ""


class OrdersRefusedListings(InvalidArgument):
    """Orders refused an order `resolve` placed through channels' own active listings, on its copy of those
    listings alone (fed by `channels.listing.upserted`): it has not heard yet of a new listing, one switched
    back on, or a new price. `skus` are the refused lines'. Not the payload's fault: the import waits for
    orders to catch up rather than refusing the sale."""

    def __init__(self, violations: InvalidArgument, skus: tuple[str, ...]) -> None:
        super().__init__(violations.violations)
        self.skus = skus


def address_change_key(order_id: str, order_version: str, address: str, as_of: datetime | None = None) -> str:
    """The request id of applying a re-import's new address to the order as it was read (`order_version`: its
    updated_at). A retry of the same import against the same order is the same request (orders answers it
    once); a later move (back to an address used before, A -> B -> A -> B) is a new one, because the order has
    changed since. Two versions of the payload (`as_of`: their modification times) are two requests, even
    against the same order: orders refuses a request id reused with other content."""
    moment = f"\n{as_of.isoformat()}" if as_of is not None else ""
    digest = hashlib.sha256(f"{order_id}\n{order_version}\n{address}{moment}".encode()).hexdigest()
    return f"import-address:{digest[:40]}"


def reprice_key(
    channel_id: str,
    external_order_id: str,
    discounts: Mapping[str, int],
    shipping_minor: int,
    as_of: datetime | None,
    order_version: str,
) -> str:
    """The request id of giving the order placed under this external id one payload version's prices (its
    discounts by SKU, its shipping, as of its modification time) against the order as it was read
    (`order_version`: its updated_at), as `address_change_key`: a retried or concurrent import of that version
    reprices once (orders answers the same request again). The order's version is part of it because orders
    answers a repeated request id with its first answer: the same copy sent again once the order has changed
    since (repriced back by a newer copy) must be answered with the order as it is now, not as it was then."""
    lines = ",".join(f"{sku}={minor}" for sku, minor in sorted(discounts.items()))
    moment = as_of.isoformat() if as_of is not None else ""
    text = f"{channel_id}\n{external_order_id}\n{lines}\n{shipping_minor}\n{moment}\n{order_version}"
    return f"import-reprice:{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def resolve(
    order: ImportedOrder, channel: Channel, listings: dict[str, Listing], at: datetime | None = None
) -> PlaceOrder:
    """Map channel SKUs to SKUs through the channel's active listings, check the totals and hold each line to
    its listing's price (see the module docstring); refuse the whole order otherwise.

    `listings` is keyed by channel SKU. Lines of the same SKU are merged (orders wants one line per SKU):
    quantities and discounts add up, and the price is the listing's.
    """
    if not channel.selling:
        raise FailedPrecondition(
            "CHANNEL_PAUSED", f"channel {channel.code} is paused and takes no orders", {"channel_id": channel.id}
        )
    v = Violations()
    if order.currency != channel.currency:
        v.add(order.currency_path, f"is {order.currency} but channel {channel.code} sells in {channel.currency}")
    discounts = _line_discounts(order, v)
    merged: dict[str, LineToPlace] = {}
    # At listing prices, before any discount: bounded so a line's price and discount stay within what orders
    # and the wire carry (int64), whatever the marketplace says the buyer paid.
    listed_total = 0
    for line, discount in zip(order.lines, discounts, strict=True):
        listing = listings.get(line.channel_sku)
        if listing is None:
            v.add(line.sku_path, f"unknown channel SKU {line.channel_sku!r}: no listing on channel {channel.code}")
            continue
        if not listing.active:
            v.add(line.sku_path, f"channel SKU {line.channel_sku!r} is not active on channel {channel.code}")
            continue
        listed = listing.price.amount_minor
        if line.unit_price_minor > listed:
            v.add(
                line.price_path or line.sku_path,
                f"is {to_text(line.unit_price_minor, order.currency)} but channel {channel.code} lists "
                f"{listing.sku} at {to_text(listed, order.currency)}: update the listing, then import again",
            )
            continue
        listed_total += listed * line.quantity
        if listed_total > MAX_AMOUNT_MINOR:
            v.add(
                line.sku_path,
                f"the lines up to this one come to {to_text(listed_total, order.currency)} at channel "
                f"{channel.code}'s listing prices: more than one order may total "
                f"({to_text(MAX_AMOUNT_MINOR, order.currency)})",
            )
            break
        # A price below the listing's is the marketplace's reduction: recorded as one, never a new price.
        discount += (listed - line.unit_price_minor) * line.quantity
        seen = merged.get(listing.sku)
        quantity = line.quantity + (seen.quantity if seen else 0)
        if quantity > MAX_QUANTITY:
            # Checked per payload line, but orders takes one line per SKU: the merged one must pass too, and
            # orders' refusal would name a line the caller never sent.
            v.add(
                line.sku_path,
                f"with the lines of {listing.sku} before it comes to {quantity} units: more than one line may "
                f"hold ({MAX_QUANTITY})",
            )
            continue
        discount += seen.discount_minor if seen else 0
        merged[listing.sku] = LineToPlace(
            listing.sku, quantity, listing.price, seen.channel_sku if seen else line.channel_sku, discount
        )
    v.raise_if_any()
    return PlaceOrder(
        channel_id=channel.id,
        external_order_id=order.external_order_id,
        customer=order.customer,
        lines=tuple(merged.values()),
        fulfillment=order.shipping,
        dealer_id=channel.owner_dealer_id,
        shipping_fee_minor=order.charges.shipping_minor,
        address_as_of=order.modified_at,
        # Orders' default (15 minutes) is far shorter than a marketplace gives its buyer to pay.
        payment_ttl_seconds=channel.import_hold_seconds(order.pay_by, at or now(), paid=bool(order.payment_ref)),
    )


def _line_discounts(order: ImportedOrder, v: Violations) -> list[int]:
    """Each line's discount with the order-level discounts spread over the lines, after checking that the
    parts add up to what the marketplace collected."""
    c, currency = order.charges, order.currency
    gross = [line.unit_price_minor * line.quantity for line in order.lines]
    own = [line.discount_minor for line in order.lines]
    for line, g, d in zip(order.lines, gross, own, strict=True):
        if d > g:
            v.add(line.discount_path or line.sku_path, f"{to_text(d, currency)} is more than the line's price")
    net = [max(0, g - d) for g, d in zip(gross, own, strict=True)]
    if c.order_discount_minor > sum(net):
        v.add(c.discount_path, f"{to_text(c.order_discount_minor, currency)} is more than the lines cost")
    expected = order.buyer_total_minor()
    if c.collected_minor is not None and c.collected_minor != expected:
        v.add(
            c.collected_path,
            f"is {to_text(c.collected_minor, currency)} but the lines ({to_text(sum(gross), currency)}) less "
            f"discounts ({to_text(sum(own) + c.order_discount_minor, currency)}) plus shipping "
            f"({to_text(c.shipping_minor, currency)}) come to {to_text(expected, currency)}: a difference of "
            f"{to_text(abs(c.collected_minor - expected), currency)}",
        )
    if v.items or not c.order_discount_minor:
        return own
    spread = allocate(c.order_discount_minor, net)
    return [d + piece for d, piece in zip(own, spread, strict=True)]
