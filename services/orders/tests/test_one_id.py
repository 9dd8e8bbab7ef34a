"""One-ID rules (domain/customers.py): which identity decides the customer."""

from __future__ import annotations

from onepool_orders.domain.customers import (
    Identity,
    IdentityKind,
    choose_customer,
    identities_of,
    normalize_phone,
)
from onepool_orders.domain.model import CustomerInfo

M, P, C = IdentityKind.MEMBER, IdentityKind.PHONE, IdentityKind.CHANNEL


def test_phone_numbers_typed_differently_are_the_same_identity() -> None:
    assert normalize_phone("+86 138-0000 0000") == normalize_phone("+8613800000000") == "+8613800000000"
    assert normalize_phone("(021) 5555 1234") == "02155551234"


def test_identities_are_listed_strongest_first_and_channel_buyer_ids_are_per_channel() -> None:
    found = identities_of(CustomerInfo(channel_customer_id="buyer7", phone="138 0000", member_id="m1"), "tmall")
    assert found == [Identity(M, "m1"), Identity(P, "1380000"), Identity(C, "tmall/buyer7")]
    assert identities_of(CustomerInfo(), "tmall") == []


def test_the_strongest_known_identity_decides() -> None:
    wanted = [Identity(M, "m1"), Identity(P, "138")]
    assert choose_customer(wanted, {}) is None
    assert choose_customer(wanted, {Identity(P, "138"): "phone-owner"}) == "phone-owner"
    # Phone and member id point at different customers: the member account wins, nothing is merged.
    assert choose_customer(wanted, {Identity(P, "138"): "a", Identity(M, "m1"): "b"}) == "b"
