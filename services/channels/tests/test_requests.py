"""Request validation that needs no database: each refusal names its field and says what it takes."""

from __future__ import annotations

import pytest
from onepool.channels.v1 import channels_pb2 as pb
from onepool.common.v1 import common_pb2
from onepool_channels.entrypoints import requests
from onepool_runtime.errors import InvalidArgument


@pytest.mark.parametrize("amount", [-1, 10**13 + 1, 10**14])
def test_a_listing_price_out_of_range_says_the_range(amount: int) -> None:
    request = pb.UpsertListingRequest(
        channel_id="ch", sku="SKU-1", price=common_pb2.Money(currency="CNY", amount_minor=amount)
    )
    with pytest.raises(InvalidArgument) as refused:
        requests.upsert_listing(request)
    [violation] = refused.value.violations
    # A price too large was refused as "must not be negative".
    assert (violation.field, violation.description) == (
        "price.amount_minor",
        "must be between 0 and 10000000000000 minor units",
    )


def test_the_largest_listing_price_is_taken() -> None:
    request = pb.UpsertListingRequest(
        channel_id="ch", sku="SKU-1", price=common_pb2.Money(currency="CNY", amount_minor=10**13)
    )
    assert requests.upsert_listing(request).listing.price.amount_minor == 10**13
