"""A channel's terms (`SalesTerms.check`) on the domain alone: a refusal on the channel's listings as orders knows
them (not listed, inactive, not at the listing's price) says so with ErrorInfo LISTING_TERMS besides its field
violations, because orders' copy of the listings follows channels' a moment behind and the channels service
waits on that reason; any other violation among them withholds it."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from onepool.channels.v1 import channels_pb2
from onepool_kernel.intake import Catalogue, LineToPlace
from onepool_kernel.money import Money
from onepool_kernel.presale import MAX_MIN_DEPOSIT_BPS
from onepool_orders.domain.channels import LISTING_TERMS, ChannelListing, SalesChannel, SalesTerms
from onepool_orders.entrypoints.channel_events import sales_channel
from onepool_runtime.errors import InvalidArgument
from onepool_runtime.grpc_errors import to_status


def cny(amount: int) -> Money:
    return Money("CNY", amount)


def terms(*listings: ChannelListing, catalogue: Catalogue = Catalogue.LISTINGS) -> SalesTerms:
    channel = SalesChannel(id="mkt", type="MARKETPLACE", currency="CNY", catalogue=catalogue)
    return SalesTerms(channel, {listing.sku: listing for listing in listings})


def refusal(terms: SalesTerms, *lines: LineToPlace, shipping: Money | None = None) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as exc:
        terms.check(lines, shipping)
    return exc.value


def line(sku: str, price: int, currency: str = "CNY") -> LineToPlace:
    return LineToPlace(sku, 1, Money(currency, price))


def test_an_unlisted_sku_is_refused_on_the_listing_terms() -> None:
    error = refusal(terms(), line("A", 100))
    assert [v.field for v in error.violations] == ["lines[0].sku"]
    assert "A is not listed on channel mkt" in error.violations[0].description
    assert error.reason == LISTING_TERMS == "LISTING_TERMS"


def test_inactive_listings_and_listing_prices_are_listing_terms_too() -> None:
    listings = (ChannelListing("mkt", "A", cny(100), active=False), ChannelListing("mkt", "B", cny(200), True))
    error = refusal(terms(*listings), line("A", 100), line("B", 150), line("C", 1))
    assert [v.field for v in error.violations] == ["lines[0].sku", "lines[1].unit_price.amount_minor", "lines[2].sku"]
    assert error.reason == LISTING_TERMS


def test_a_currency_among_the_violations_withholds_the_reason() -> None:
    error = refusal(terms(), line("A", 100), line("B", 100, "USD"))
    assert [v.field for v in error.violations] == ["lines[0].sku", "lines[1].unit_price.currency"]
    assert error.reason == ""
    listed = terms(ChannelListing("mkt", "A", cny(100), True))
    error = refusal(listed, line("A", 99), shipping=Money("USD", 500))
    assert [v.field for v in error.violations] == ["lines[0].unit_price.amount_minor", "shipping_fee.currency"]
    assert error.reason == ""


def test_the_reason_travels_as_error_info_beside_the_field_violations() -> None:
    status = to_status(refusal(terms(), line("A", 100)))
    details = {d.type_url.rsplit("/", 1)[1]: d for d in _details(status)}
    bad, info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
    details["google.rpc.BadRequest"].Unpack(bad)
    details["google.rpc.ErrorInfo"].Unpack(info)
    assert [v.field for v in bad.field_violations] == ["lines[0].sku"]
    assert (info.reason, info.domain) == (LISTING_TERMS, "onepool")
    # An INVALID_ARGUMENT without a reason carries no ErrorInfo, as before.
    plain = to_status(InvalidArgument("lines[0].sku", "malformed"))
    assert [d.type_url.rsplit("/", 1)[1] for d in _details(plain)] == ["google.rpc.BadRequest"]


def _details(status: grpc.Status) -> list[any_pb2.Any]:
    """The google.rpc details of a status as a client reads them from the trailers."""
    for key, value in status.trailing_metadata:
        if key == "grpc-status-details-bin":
            return list(status_pb2.Status.FromString(value).details)
    return []


def test_a_channels_presale_terms_out_of_range_are_read_within_the_kernels_range() -> None:
    """Orders' copy of a channel event clamps its presale terms into what the kernel's PresaleTerms accepts, so an
    event from a foreign or broken producer (a least deposit of the whole order) is read, not refused for ever."""
    for bps, read in ((10_000, MAX_MIN_DEPOSIT_BPS), (-5, 0), (2_000, 2_000)):
        event = channels_pb2.Channel(id="mkt", presale=channels_pb2.PresaleTerms(min_deposit_bps=bps))
        assert sales_channel(event).presale.min_deposit_bps == read
