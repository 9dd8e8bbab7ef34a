"""How the channels service reads orders' refusal of an imported order (adapters/orders_client.py): a refusal on
orders' copy of the channel's listings alone is OrdersRefusedListings, which the import waits out; anything
else is answered as orders gave it. The refusals are built exactly as orders sends them (runtime `to_status`)."""

from __future__ import annotations

import grpc
import pytest
from onepool_channels.adapters.orders_client import place_order_error, to_domain_error
from onepool_channels.domain.imports import OrdersRefusedListings
from onepool_kernel.intake import CustomerInfo, FulfillmentPreference, LineToPlace, PlaceOrder
from onepool_kernel.money import Money
from onepool_runtime.errors import DomainError, FailedPrecondition, FieldViolation, InvalidArgument, Unavailable
from onepool_runtime.grpc_errors import status_code_for, to_status

ORDER = PlaceOrder(
    channel_id="mkt",
    external_order_id="E1",
    customer=CustomerInfo(phone="13800000000"),
    lines=(LineToPlace("A", 1, Money("CNY", 100)), LineToPlace("B", 2, Money("CNY", 200))),
    fulfillment=FulfillmentPreference(address="1 Road"),
)
NOT_LISTED = FieldViolation("lines[1].sku", "B is not listed on channel mkt, which sells only its active listings")
INACTIVE = FieldViolation("lines[0].sku", "A's listing on channel mkt is inactive")
PRICE = FieldViolation("lines[1].unit_price.amount_minor", "must be the listing's price 300 CNY, not 200")


def from_orders(error: DomainError) -> grpc.aio.AioRpcError:
    """`error` as the channels service receives it from orders' PlaceOrder."""
    status = to_status(error)
    return grpc.aio.AioRpcError(
        status_code_for(error), grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
    )


@pytest.mark.parametrize(
    ("violations", "skus"),
    [
        ([NOT_LISTED], ("B",)),
        ([INACTIVE], ("A",)),
        ([INACTIVE, NOT_LISTED], ("A", "B")),
        ([INACTIVE, PRICE], ("A", "B")),
    ],
    ids=["new listing", "switched back on", "both", "switched back on and repriced"],
)
def test_a_refusal_orders_states_is_on_its_listings_is_waited_out(
    violations: list[FieldViolation], skus: tuple[str, ...]
) -> None:
    refusal = place_order_error(from_orders(InvalidArgument(violations, reason="LISTING_TERMS")), ORDER)
    assert isinstance(refusal, OrdersRefusedListings)
    assert refusal.skus == skus
    # What the caller would read, should the wait end in a refusal: orders' violations, unchanged.
    assert refusal.violations == [FieldViolation(f"order.{v.field}", v.description) for v in violations]


def test_an_orders_that_states_no_reason_yet_is_still_waited_out_on_prices_alone() -> None:
    refusal = place_order_error(from_orders(InvalidArgument([PRICE])), ORDER)
    assert isinstance(refusal, OrdersRefusedListings) and refusal.skus == ("B",)


@pytest.mark.parametrize(
    "error",
    [
        InvalidArgument([NOT_LISTED]),  # an orders from before the reason: not listed cannot be told from bad
        InvalidArgument("lines[0].sku", "must be 1-64 letters, digits, '-', '_' or '.'"),
        InvalidArgument([FieldViolation("lines[1].sku", "repeats lines[0].sku"), PRICE]),
        InvalidArgument([PRICE, FieldViolation("lines[0].unit_price.currency", "must be CNY")]),
        FailedPrecondition("LISTING_TERMS", "a reason on another code is not the listings' refusal"),
    ],
    ids=["unstated not listed", "malformed sku", "repeated sku and a price", "price and currency", "other code"],
)
def test_any_other_refusal_is_answered_as_orders_gave_it(error: DomainError) -> None:
    refusal = place_order_error(from_orders(error), ORDER)
    assert not isinstance(refusal, OrdersRefusedListings)
    assert type(refusal) is type(error)


def test_an_rpc_the_orders_pods_do_not_have_yet_is_to_be_retried_not_internal() -> None:
    """A rollout that replaces channels before orders: orders pods of the release before answer RepriceOrder
    UNIMPLEMENTED. The import is answered UNAVAILABLE (retry), never INTERNAL."""
    unimplemented = grpc.aio.AioRpcError(
        grpc.StatusCode.UNIMPLEMENTED, grpc.aio.Metadata(), grpc.aio.Metadata(), "Method not found!"
    )
    assert isinstance(to_domain_error(unimplemented), Unavailable)
