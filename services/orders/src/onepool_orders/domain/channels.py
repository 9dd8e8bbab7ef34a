"""What orders knows about a sales channel: whose sale an order on it is, and the terms it sells on.

The channels service owns channels and listings; orders keeps this copy from its `channels.channel.*` and
`channels.listing.upserted` events (the newest version wins). A channel's type and owner never change after
creation, so the copy cannot mislead about them.

The channel's terms (`SalesTerms.check`), checked before any stock is asked for:
- currency: every price is in the channel's currency;
- catalogue: on a LISTINGS channel (the default) every SKU has an active listing; a POOL channel (a
  brand-operated shop's POS, a dealer's own channel) may sell any SKU of its pool, but a SKU it does list is
  held to its listing like anywhere else (not while inactive, at the listing's price);
- price: a line's unit_price is the listing's price. A lower price is not guessed into a discount: the caller
  states the reduction as the line's `discount`, so the order records list price, reduction and net, and
  settlement splits what the customer actually paid. A line whose unit_price differs from the listing is
  refused, naming the listing's price.
Every problem is reported at once with its field path (INVALID_ARGUMENT). When every one is about the listings
(not listed, inactive, not at the listing's price) the refusal also carries ErrorInfo LISTING_TERMS: orders'
copy of the listings follows channels' events a moment behind, and the channels service, which resolved the
lines through its own listings, waits for it on that reason (a refused SKU's path alone does not tell: a
malformed or repeated SKU is refused on it too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from onepool_kernel.errors import InvalidArgument, Violations
from onepool_kernel.intake import Catalogue, LineToPlace
from onepool_kernel.money import Money
from onepool_kernel.presale import PresaleTerms

DEALER = "DEALER"
# A channel's return window when its events do not state one (published before channels kept it): the 7-day
# no-reason return rule channels applies by default.
DEFAULT_RETURN_WINDOW_DAYS = 7
MAX_RETURN_WINDOW_DAYS = 365
# The ErrorInfo reason of a refusal on the channel's listings alone (PlaceOrder's errors in the orders proto).
LISTING_TERMS = "LISTING_TERMS"


@dataclass(frozen=True)
class SalesChannel:
    id: str
    type: str
    # Set exactly for DEALER channels (the channels service refuses it on any other type).
    owner_dealer_id: str = ""
    version: int = 0
    # "" only for a copy made before orders kept currencies; the channels service re-announces every
    # channel at start, which fills it in.
    currency: str = ""
    catalogue: Catalogue = Catalogue.LISTINGS
    presale: PresaleTerms = field(default_factory=PresaleTerms)
    # Days an order may be returned after its last goods left (Order.returnable_until is fixed from it then).
    # None: the event did not state it (a channels replica of the release before it, during a rolling upgrade):
    # the copy keeps the window it has, the default only for a channel it never had.
    return_window_days: int | None = DEFAULT_RETURN_WINDOW_DAYS

    @property
    def bound_dealer(self) -> str:
        """The dealer every order on this channel belongs to ("" for the brand's own channels)."""
        return self.owner_dealer_id


@dataclass(frozen=True)
class ChannelListing:
    """A SKU on a channel at the channel's price (orders' copy of the channels service's listing)."""

    channel_id: str
    sku: str
    price: Money
    active: bool
    version: int = 0


@dataclass(frozen=True)
class SalesTerms:
    """A channel and its listings of the SKUs an order names; `channel` is None if orders never heard of it."""

    channel: SalesChannel | None
    listings: Mapping[str, ChannelListing] = field(default_factory=dict)

    def check(self, lines: Sequence[LineToPlace], shipping_fee: Money | None = None) -> None:
        """Refuse lines the channel does not sell on these terms (see the module docstring)."""
        channel = self.channel
        if channel is None:
            return  # the scope answers NOT_FOUND for an unknown channel
        v = Violations()
        currency = channel.currency
        in_currency = f"must be {currency}, the currency channel {channel.id} sells in"
        off_currency = False  # a violation that is not about the listings
        for i, line in enumerate(lines):
            if currency and line.unit_price.currency != currency:
                v.add(f"lines[{i}].unit_price.currency", in_currency)
                off_currency = True
                continue
            listing = self.listings.get(line.sku)
            if listing is None:
                if channel.catalogue is Catalogue.LISTINGS:
                    v.add(
                        f"lines[{i}].sku",
                        f"{line.sku} is not listed on channel {channel.id}, which sells only its active listings",
                    )
                continue
            if not listing.active:
                v.add(f"lines[{i}].sku", f"{line.sku}'s listing on channel {channel.id} is inactive")
            elif line.unit_price != listing.price:
                v.add(
                    f"lines[{i}].unit_price.amount_minor",
                    f"must be the listing's price {listing.price.amount_minor} {listing.price.currency}, not "
                    f"{line.unit_price.amount_minor}; state a reduction as lines[{i}].discount",
                )
        if shipping_fee is not None and currency and shipping_fee.amount_minor and shipping_fee.currency != currency:
            v.add("shipping_fee.currency", in_currency)
            off_currency = True
        if v.items:
            raise InvalidArgument(v.items, reason="" if off_currency else LISTING_TERMS)
