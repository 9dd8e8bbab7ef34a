"""The double-entry ledger: journal entries made of postings that sum to exactly zero.

An entry is identified by a business key (`sale:<order>`, `fulfilment_fee:<order>:<fulfillment>`,
`return:<return>`, `cancel:<order>`, `wholesale:<replenishment>`, `payment:<request>`, `payout:<request>`,
`ownership:<move>`): the ledger writes each key once, so however often an event is delivered, or
re-published under a new id, or a request retried, its money is posted once.

Also here: the facts settlement reads from other services' events (orders, channels, replenishments),
as plain values, so the rules never see protobuf.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from onepool_kernel.errors import InvalidArgument
from onepool_kernel.lines import StockLine
from onepool_kernel.money import units_value

from onepool_settlement.domain import parties


class UnbalancedEntry(ValueError):
    """A bug, never a caller's mistake: a rule produced postings that do not sum to zero."""


class Rule(StrEnum):
    """Stored in the ledger and published on settlement events (`rule`, `account`, and the entry keys, which make
    posting idempotent), so the values keep their first spelling: "fulfilment_fee" stays until a data migration
    rewrites the stored keys and the events' readers accept the new value."""

    SALE = "sale"
    FULFILLMENT_FEE = "fulfilment_fee"
    RETURN = "return"
    CANCEL = "cancel"
    WHOLESALE = "wholesale"
    PAYMENT = "payment"
    PAYOUT = "payout"
    OWNERSHIP = "ownership"
    DEPOSIT = "deposit"  # presale deposits: received, applied to the sale, kept or refunded (domain/deposits.py)


# Rules that settle claims with money moved outside the ledger: a payout pays what was owed at its period_end
# less the lines of these since that reduced the claim (rules.payout_amount).
CASH_RULES = (Rule.PAYMENT.value, Rule.PAYOUT.value)


class Account(StrEnum):
    """What a posting is for (shown on statements)."""

    CUSTOMER_PAYMENT = "customer_payment"  # clearing: the customer's payment being split
    CUSTOMER_REFUND = "customer_refund"  # clearing: money paid back to the customer
    SALE = "sale"  # the seller's part of a sale (brand, or the dealer for its own channel's sales)
    BRAND_SHARE = "brand_share"  # the brand's share of a dealer's sale
    CHANNEL_FEE = "channel_fee"  # a channel's commission
    FULFILLMENT_FEE = "fulfilment_fee"  # paid to a dealer whose location shipped, by the seller
    REFUND_EXCESS = "refund_excess"  # a refund beyond what the order still held; borne by the brand
    WHOLESALE = "wholesale"  # a dealer's replenishment bought from the brand on credit
    PAYMENT = "payment"  # money one party paid another outside the ledger (a bank transfer)
    REMITTANCE = "remittance"  # clearing: customers' money a channel collected and handed over
    FEE_RETAINED = "fee_retained"  # a channel's commission kept out of the money it remitted
    PAYOUT = "payout"  # the brand paid the party what it owed it
    OWNERSHIP = "ownership"  # goods that changed owner (a transfer, a return or a fulfillment between owners)
    CUSTOMER_DEPOSIT = "customer_deposit"  # clearing: a presale deposit the customer paid
    DEPOSIT_HELD = "deposit_held"  # clearing: deposits held for orders not sold yet (nobody's money yet)
    DEPOSIT_KEPT = "deposit_kept"  # the seller kept the deposit of a lapsed presale order
    DEPOSIT_REFUND = "deposit_refund"  # clearing: a deposit paid back to the customer


# The accounts of presale deposits (domain/deposits.py): an order with only these sold nothing.
DEPOSIT_ACCOUNTS = (Account.CUSTOMER_DEPOSIT, Account.DEPOSIT_HELD, Account.DEPOSIT_KEPT, Account.DEPOSIT_REFUND)


@dataclass(frozen=True)
class Posting:
    party: str
    account: str
    amount: int


@dataclass(frozen=True)
class Source:
    """The integration event that caused an entry."""

    event_id: str = ""
    subject: str = ""
    occurred_at: datetime | None = None


@dataclass
class JournalEntry:
    """A balanced set of postings in one currency. Postings to the same (party, account) are merged and
    zero postings dropped; an entry with no postings left is empty and is not written."""

    key: str
    rule: Rule
    currency: str
    postings: tuple[Posting, ...]
    order_id: str = ""
    source: Source = field(default_factory=Source)
    memo: str = ""
    reference: str = ""
    # Set on a late entry (its fact belongs to a closed period): what it corrects, and that period's end.
    corrects_entry_id: str = ""
    corrects_period_end: datetime | None = None
    id: str = ""
    created_at: datetime | None = None
    events: list[Any] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged: dict[tuple[str, str], int] = {}
        for p in self.postings:
            if not parties.is_valid(p.party):
                raise UnbalancedEntry(f"entry {self.key}: {p.party!r} is not a party")
            merged[(p.party, p.account)] = merged.get((p.party, p.account), 0) + p.amount
        self.postings = tuple(Posting(party, account, amount) for (party, account), amount in merged.items() if amount)
        total = sum(p.amount for p in self.postings)
        if total != 0:
            raise UnbalancedEntry(f"entry {self.key} does not balance: postings sum to {total}")

    @property
    def is_empty(self) -> bool:
        return not self.postings

    @property
    def parties(self) -> list[str]:
        return sorted({p.party for p in self.postings})

    def mark_late(self, corrects_entry_id: str, corrects_period_end: datetime) -> None:
        """The entry posts into the first open period although its fact belongs to a closed one."""
        self.corrects_entry_id = corrects_entry_id
        self.corrects_period_end = corrects_period_end
        note = (
            f"late: corrects {corrects_entry_id or 'a fact'} of the period closed at {corrects_period_end.isoformat()}"
        )
        self.memo = f"{self.memo}; {note}" if self.memo else note

    def written_as(self, lines: Iterable[JournalLine]) -> bool:
        """Whether `lines` (an entry stored under this entry's key) are what this entry writes: the same rule,
        currency, memo and reference, and the same postings. A request id reused for another request (after
        its idempotency key was purged) finds the first request's entry under the key, and must not be
        answered with it."""
        lines = list(lines)
        stored = sorted((ln.party, ln.account, ln.amount) for ln in lines)
        heads = {(ln.rule, ln.currency, ln.memo, ln.reference) for ln in lines}
        return heads == {(self.rule.value, self.currency, self.memo, self.reference)} and stored == sorted(
            (p.party, p.account, p.amount) for p in self.postings
        )

    def record_posting(self, lines: tuple[JournalLine, ...]) -> None:
        """The entry was written as `lines` (with their ids and running balances)."""
        from onepool_settlement.domain.events import EntryPosted

        self.events.append(EntryPosted(self, lines))


@dataclass(frozen=True)
class JournalLine:
    """A posting as written: with its id and the entry it belongs to."""

    id: int
    entry_id: str
    party: str
    account: str
    amount: int
    currency: str
    rule: str
    order_id: str = ""
    source_event_id: str = ""
    source_subject: str = ""
    memo: str = ""
    created_at: datetime | None = None
    occurred_at: datetime | None = None
    reference: str = ""
    corrects_entry_id: str = ""
    corrects_period_end: datetime | None = None
    # The transaction that wrote the line, as read back (0 on lines just written): ListEntries lists lines in
    # (xact_id, id) order, so that a line committed late is never behind a page already read.
    xact_id: int = 0


# --- what settlement knows about other services' objects -------------------------------------------


class ChannelType(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    ONLINE_STORE = "ONLINE_STORE"
    MARKETPLACE = "MARKETPLACE"
    SOCIAL_COMMERCE = "SOCIAL_COMMERCE"
    PHYSICAL_STORE = "PHYSICAL_STORE"
    DEALER = "DEALER"


@dataclass(frozen=True)
class ChannelTerms:
    """Local copy of a channel's commercial terms (versioned: an older version never replaces a newer)."""

    channel_id: str
    type: ChannelType = ChannelType.UNSPECIFIED
    owner_dealer_id: str = ""
    fee_rate_bps: int = 0
    version: int = 0
    currency: str = ""  # what the channel sells in ("" if not known)

    def __post_init__(self) -> None:
        if not 0 <= self.fee_rate_bps <= 10_000:
            raise InvalidArgument("channel.fee_rate_bps", "must be between 0 and 10000")


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int
    # The reduction on the whole line (the order's facts state it); the line is worth unit_price x quantity
    # less this.
    discount: int = 0

    def value_of(self, units: int) -> int:
        """What `units` of the line sold for, valued as orders values them (the kernel's units_value)."""
        return units_value(self.quantity * self.unit_price - self.discount, units, self.quantity)


@dataclass(frozen=True)
class Fulfillment:
    id: str
    location_id: str
    owner_dealer_id: str
    lines: tuple[StockLine, ...]
    shipped: bool  # shipped or picked up: the goods left the location
    cancelled: bool = False  # cancelled with its order: nothing will leave


@dataclass(frozen=True)
class OrderFacts:
    """The order as an orders event shows it."""

    id: str
    channel_id: str
    dealer_id: str
    currency: str
    total: int
    paid: int
    refunded: int
    lines: tuple[OrderLine, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()
    is_paid: bool = False  # the customer has paid (settlement recognises the sale)
    # The order still has a step to go (false once completed, cancelled or rejected). True unless stated: an
    # order not known to be closed may still be cancelled, so its income is not paid out (rules.is_final).
    is_open: bool = True
    # Nothing can cancel the order's payment any more (orders decides: OrderFacts.is_final).
    is_final: bool = False
    # Presale: the part of `paid` paid as a deposit, and the deposit the seller kept when the balance lapsed.
    deposit: int = 0
    deposit_kept: int = 0
    # The version of the channel's terms the sale was made on (orders' copy when the order was paid); 0: not
    # stated (older events), the terms settlement holds apply.
    channel_version: int = 0

    @property
    def terms_key(self) -> tuple[str, int]:
        """Which channel terms the sale is split at: (channel, version), version 0 for the latest held."""
        return self.channel_id, self.channel_version

    @property
    def gross(self) -> int:
        """The customer's payment that settlement splits (the order total if no payment amount is shown)."""
        return self.paid if self.paid > 0 else self.total

    def unit_price(self, sku: str) -> int:
        for line in self.lines:
            if line.sku == sku:
                return line.unit_price
        return 0

    def fulfillment_value(self, fulfillment: Fulfillment) -> int:
        """What the fulfillment's goods sold for, net of their lines' discounts."""
        lines = {line.sku: line for line in self.lines}
        return sum(lines[ln.sku].value_of(ln.quantity) for ln in fulfillment.lines if ln.sku in lines)

    def shipped_fulfillments(self, also: Iterable[str] = ()) -> list[Fulfillment]:
        named = set(also)
        return [f for f in self.fulfillments if f.shipped or f.id in named]


@dataclass(frozen=True)
class ReturnedGoods:
    """What came back in a return, and where it was received (and restocked)."""

    return_id: str
    location_id: str
    lines: tuple[StockLine, ...]
    refund: int


@dataclass(frozen=True)
class GoodsMoved:
    """Goods that changed owner as dealers valued them (dealers.ownership.moved): `taker` owes `giver`
    `total` (parties: "brand" or "dealer:<id>")."""

    id: str
    reason: str  # TRANSFER, RETURN or FULFILLMENT
    giver: str
    taker: str
    currency: str
    total: int
    order_id: str = ""
    reference: str = ""
    location_id: str = ""
    priced: str = ""  # the lines as valued, for the memo: "2 x TEA at 8000"
    # The units nothing priced (not in `total`; quantity 0 where dealers did not say): domain/unpriced.py.
    unpriced: tuple[StockLine, ...] = ()

    @property
    def unpriced_skus(self) -> tuple[str, ...]:
        return tuple(ln.sku for ln in self.unpriced)


@dataclass(frozen=True)
class SaleTerms:
    """The rates an order's sale was split at, recorded with it: a rate changed since (a channel's fee, a
    setting) never re-prices the order's later entries."""

    fee_rate_bps: int
    brand_share_bps: int
    # What every fulfillment fee of the order is priced at (None: settled before the rate was recorded).
    fulfillment_fee_bps: int | None = None

    def fulfillment_rate(self, current_bps: int) -> int:
        """The order's fulfillment fee rate; `current_bps` (settings' rate) for an order settled before it was
        recorded."""
        return current_bps if self.fulfillment_fee_bps is None else self.fulfillment_fee_bps


@dataclass(frozen=True)
class OrderSettlement:
    """What the ledger remembers about an order it settled: who sold it, on which terms, and what the
    orders service last reported (for reconciliation)."""

    order_id: str
    currency: str
    channel_id: str
    seller: str  # "brand" or "dealer:<id>": receives the sale's remainder and pays fulfillment fees
    gross: int
    terms: SaleTerms
    reported_paid: int = 0
    reported_refunded: int = 0
    cancelled: bool = False
    events: list[Any] = field(default_factory=list, repr=False, compare=False)


@dataclass(frozen=True)
class Payout:
    """The brand paid a party what it owed it up to period_end (booked as the entry `entry_id`)."""

    id: str
    party: str
    currency: str
    amount: int
    period_end: datetime
    entry_id: str = ""
    status: str = "PAID"
    created_at: datetime | None = None
    # Not paid: the party's income from orders that could still be cancelled then (rules.payout_amount).
    held: int = 0


@dataclass(frozen=True)
class Payment:
    """A recorded payment: the entry it was posted as."""

    entry: JournalEntry
    lines: tuple[JournalLine, ...]
    from_party: str
    to_party: str
    amount: int
    fee_retained: int
    reference: str
