"""One-ID: the same person ordering through different channels gets one customer_id.

A customer is known by identities: a member id (the brand's loyalty account), a phone number, and a buyer id
inside one channel. Each identity points at exactly one customer (unique in the database). Resolving an
order's customer:

1. Look up every identity the order carries.
2. The strongest one found decides the customer: member id, then phone, then the channel buyer id. A member
   id is an account the person registered with the brand; a phone may be shared by a household or reassigned.
3. Identities not seen before are attached to that customer (so a member who later orders with a phone, or a
   marketplace buyer who later gives a phone, is recognised next time).
4. Nothing found: a new customer.

When two identities already point at different customers (a phone first seen with member A, now given by
member B) the stronger one wins for this order, and neither identity is re-pointed: customers are never merged
automatically, because a wrong merge shows one person's orders to another. Merging is an operator's decision.
An order with no identity at all has no customer_id.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onepool_orders.domain.model import CustomerInfo


class IdentityKind(StrEnum):
    MEMBER = "member"
    PHONE = "phone"
    CHANNEL = "channel"


# Strongest first.
PRECEDENCE = (IdentityKind.MEMBER, IdentityKind.PHONE, IdentityKind.CHANNEL)


@dataclass(frozen=True, order=True)
class Identity:
    kind: IdentityKind
    value: str


def normalize_phone(phone: str) -> str:
    """Drop the separators people type ('+86 138-0000 0000' -> '+8613800000000'). No country is guessed."""
    kept = "".join(ch for ch in phone.strip() if ch.isdigit() or ch == "+")
    return ("+" + kept.replace("+", "")) if kept.startswith("+") else kept.replace("+", "")


def identities_of(customer: CustomerInfo, channel_id: str) -> list[Identity]:
    """The order's identities, strongest first."""
    found: list[Identity] = []
    if customer.member_id:
        found.append(Identity(IdentityKind.MEMBER, customer.member_id))
    if customer.phone and normalize_phone(customer.phone):
        found.append(Identity(IdentityKind.PHONE, normalize_phone(customer.phone)))
    if customer.channel_customer_id:
        found.append(Identity(IdentityKind.CHANNEL, f"{channel_id}/{customer.channel_customer_id}"))
    return found


def choose_customer(wanted: list[Identity], known: dict[Identity, str]) -> str | None:
    """The customer the strongest known identity points at, or None if none is known."""
    for identity in sorted(wanted, key=lambda i: PRECEDENCE.index(i.kind)):
        if identity in known:
            return known[identity]
    return None


def settled_customer(wanted: list[Identity], known: dict[Identity, str]) -> str | None:
    """The customer `wanted` resolves to when every identity in it is claimed already ("" when it has none):
    claims are never re-pointed or removed, so a later look-up could only give the same answer. None while
    one of them is new: resolving then claims it, which needs the look-up at that moment."""
    if any(i not in known for i in wanted):
        return None
    return choose_customer(wanted, known) or ""
