"""Whose sale an order is, as OrderScope.place decides it from the token and the channel (no database, no
network): every combination of caller, channel and named dealer, and the answer."""

from __future__ import annotations

import pytest
from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import CustomerInfo, FulfillmentPreference
from onepool_orders.entrypoints.scope import OrderScope
from onepool_runtime.auth import Principal
from onepool_runtime.errors import NotFound, PermissionDenied

DEALER_B = SalesChannel("CH-B", "DEALER", owner_dealer_id="B")
BRAND = SalesChannel("CH-WEB", "ONLINE_STORE")
ADMIN, SERVICE = Principal("admin"), Principal("service")
TOKEN_A, TOKEN_B = Principal("dealer", dealer_id="A"), Principal("dealer", dealer_id="B")
CH_B, CH_WEB = Principal("channel", channel_id="CH-B"), Principal("channel", channel_id="CH-WEB")
DENIED = PermissionDenied


def _place(channel_id: str, dealer_id: str) -> commands.PlaceOrder:
    return commands.PlaceOrder(
        channel_id=channel_id,
        external_order_id="E1",
        customer=CustomerInfo(phone="13800000000"),
        lines=(),
        fulfillment=FulfillmentPreference(),
        dealer_id=dealer_id,
        payment_ttl_seconds=0,
    )


CASES = [
    # caller, channel, named dealer -> the order's dealer, or the refusal
    (TOKEN_B, DEALER_B, "", "B"),  # a dealer on its own channel need not name itself
    (TOKEN_B, DEALER_B, "B", "B"),
    (TOKEN_A, DEALER_B, "A", DENIED),  # the attack
    (TOKEN_A, DEALER_B, "", DENIED),
    (TOKEN_A, DEALER_B, "B", DENIED),
    (TOKEN_A, BRAND, "", DENIED),  # a dealer token sells only on its own dealer's channel
    (TOKEN_A, BRAND, "A", DENIED),
    (TOKEN_A, None, "A", DENIED),  # an unknown channel looks like another dealer's
    (CH_B, DEALER_B, "", "B"),  # the channel's token: the order is its dealer's
    (CH_B, DEALER_B, "A", DENIED),
    (CH_WEB, BRAND, "", ""),
    (CH_WEB, BRAND, "A", DENIED),  # a brand channel binds no dealer
    (CH_WEB, DEALER_B, "", DENIED),  # another channel
    (ADMIN, DEALER_B, "", "B"),
    (ADMIN, DEALER_B, "A", DENIED),  # not even admin moves a dealer channel's sale
    (ADMIN, BRAND, "A", "A"),  # the brand attributes a sale to a dealer (dealer delivery)
    (SERVICE, BRAND, "", ""),
    (ADMIN, None, "", NotFound),
]


@pytest.mark.parametrize(("caller", "channel", "named", "expected"), CASES)
def test_the_dealer_of_an_order_comes_from_the_token_and_the_channel(caller, channel, named, expected) -> None:  # type: ignore[no-untyped-def]
    scope = OrderScope(lambda: caller)
    channel_id = channel.id if channel is not None else "CH-NONE"
    if isinstance(expected, type):
        with pytest.raises(expected):
            scope.place(_place(channel_id, named), channel)
    else:
        assert scope.place(_place(channel_id, named), channel).dealer_id == expected
