"""Settlement rules: how the money of a sale, a fulfillment, a return and a replenishment is split.

When: a sale is recognised when the order is **paid**. That is when the customer's money exists, and from
then on the ledger accounts for every fen of it (the channel keeps its commission at payment, as
marketplaces do). A fulfillment fee is earned when the dealer's location actually ships (or hands over) its
part, so it is posted then. Cancelling a paid order and returning goods reverse what is left of the sale.

1. Sale (`sale:<order>`, on orders.order.paid; any later order event that shows the order paid posts it
   too, if the paid event was delayed). The customer's payment G is split with `allocate` (exact):
   - the channel's fee, `fee_rate_bps` of G, to `channel:<id>` (a marketplace keeps its commission);
   - a sale through a dealer's business (`order.dealer_id`, else the channel's `owner_dealer_id`): the
     brand's share, `dealer_sale_brand_share_bps` of G, to `brand`, and the rest to `dealer:<id>`;
   - any other sale: the rest to `brand`.
   `clearing` pays G, so the entry balances. The brand's rates (`SettlementPolicy`, from settings) are read
   once per order, when its sale is booked, and recorded with it (`OrderSettlement`): a rate changed since
   never re-prices the order's later entries.
2. Fulfillment fee (`fulfilment_fee:<order>:<fulfillment>`, when a fulfillment ships or is picked up): a
   dealer whose location shipped it earns the order's `fulfillment_fee_bps` (recorded with its sale) of
   that fulfillment's value (units x unit price, less their share of the line's discount), paid by the
   seller (the brand, or the selling dealer). A seller shipping its own sale earns no fee from itself;
   brand locations earn none.
3. Return (`return:<return>`) and cancellation of a paid order (`cancel:<order>`): the refund R is paid
   back to `clearing` and taken from the order's positions (every party/account the order's sale and fee
   entries credited or debited) in proportion to what they booked, cumulatively: with everything refunded
   so far C (this refund included), each position has given back `allocate(C)` of the booked amounts, and
   this refund takes that less what earlier refunds took. So a return of a third of an order takes back a
   third of the channel's commission, of the fulfillment fees, of the brand's and of the dealer's parts,
   rounding never drifts over many small refunds, and once everything is refunded every position is
   exactly zero. A refund beyond what the order still holds is charged to the brand (`refund_excess`) and
   shows up in reconciliation as `refund_exceeds_sale`.
4. Wholesale (`wholesale:<replenishment>`, on dealers.replenishment.received): the dealer owes the brand
   the replenishment's wholesale total (dealer debited, brand credited).
5. Payment (`payment:<request>`, RecordPayment): money moved outside the ledger settles claims. The payer is
   credited (its debt falls) and the payee debited (its claim is paid). A channel pays out of the
   customers' money it collected: `clearing` is credited with what it remits plus the commission it kept
   (`fee_retained`, debited from the channel), so a marketplace remitting a sale net of its fee leaves
   clearing, the channel and the brand at zero.
6. Payout (`payout:<request>`, CreatePayout): the brand pays a party what it owed it up to a date: the
   party is debited, the brand credited. The amount is `payout_amount`: the party's balance at the date,
   less what settled its claims since, and never more than its balance now less its income from orders that
   can still be cancelled (`is_final`): money of a sale is paid out once the sale is final, as a marketplace
   holds a seller's money until the order is (担保交易).
7. Ownership (`ownership:<move>`, dealers.ownership.moved): goods that changed owner other than by a
   replenishment (a transfer between owners, a return received at a location of someone other than the
   seller, a dealer's location shipping someone else's sale), valued by dealers at a dealer's tier
   wholesale price (docs/settlement.md "Goods that change owner"): the taker is debited, the giver
   credited. Keys: `ownership:transfer:<transfer>`, `ownership:return:<return>`,
   `ownership:fulfillment:<order>:<fulfillment>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from onepool_kernel.errors import InvalidArgument, Violations
from onepool_kernel.money import BPS, allocate, bps_of

from onepool_settlement.domain import parties
from onepool_settlement.domain.model import (
    Account,
    ChannelTerms,
    Fulfillment,
    GoodsMoved,
    JournalEntry,
    OrderFacts,
    OrderSettlement,
    Posting,
    Rule,
    SaleTerms,
    Source,
)


@dataclass(frozen=True)
class SettlementPolicy:
    """The brand's commercial terms (configured in settings)."""

    fulfillment_fee_bps: int = 500
    dealer_sale_brand_share_bps: int = 3000

    def __post_init__(self) -> None:
        for name in ("fulfillment_fee_bps", "dealer_sale_brand_share_bps"):
            if not 0 <= getattr(self, name) <= BPS:
                raise ValueError(f"{name} must be between 0 and {BPS}")


def seller_of(order: OrderFacts, channel: ChannelTerms | None) -> str:
    """Whose sale it is: the order's dealer, else the dealer owning the channel, else the brand."""
    dealer_id = order.dealer_id or (channel.owner_dealer_id if channel else "")
    return parties.dealer(dealer_id) if dealer_id else parties.BRAND


def recognise_sale(
    order: OrderFacts, channel: ChannelTerms | None, policy: SettlementPolicy, source: Source
) -> tuple[OrderSettlement, JournalEntry]:
    """Rule 1: split the customer's payment between channel, brand and the selling dealer."""
    gross = order.gross
    fee_bps = channel.fee_rate_bps if channel else 0
    seller = seller_of(order, channel)
    share_bps = min(policy.dealer_sale_brand_share_bps, BPS - fee_bps) if seller != parties.BRAND else 0
    fee, share, rest = allocate(gross, [fee_bps, share_bps, BPS - fee_bps - share_bps])
    postings = [Posting(parties.CLEARING, Account.CUSTOMER_PAYMENT, -gross)]
    if order.channel_id:
        postings.append(Posting(parties.channel(order.channel_id), Account.CHANNEL_FEE, fee))
    else:
        rest += fee  # no channel, no commission (fee_bps is 0 then, so this adds nothing)
    if seller != parties.BRAND:
        postings.append(Posting(parties.BRAND, Account.BRAND_SHARE, share))
    postings.append(Posting(seller, Account.SALE, rest))
    ful_bps = policy.fulfillment_fee_bps
    entry = JournalEntry(
        key=f"sale:{order.id}",
        rule=Rule.SALE,
        currency=order.currency,
        postings=tuple(postings),
        order_id=order.id,
        source=source,
        memo=f"sale of order {order.id}: channel fee {fee_bps} bps, brand share {share_bps} bps, "
        f"fulfillment fee {ful_bps} bps",
    )
    settlement = OrderSettlement(
        order_id=order.id,
        currency=order.currency,
        channel_id=order.channel_id,
        seller=seller,
        gross=gross,
        terms=SaleTerms(fee_bps, share_bps, ful_bps),
        reported_paid=order.paid,
        reported_refunded=order.refunded,
    )
    return settlement, entry


def fulfillment_fee(
    order: OrderFacts,
    fulfillment: Fulfillment,
    settlement: OrderSettlement,
    policy: SettlementPolicy,
    source: Source,
) -> JournalEntry | None:
    """Rule 2: the seller pays a dealer whose location shipped a fulfillment; None when no fee is due. Priced at
    the rate recorded with the order's sale, so a rate changed in settings since never re-prices it."""
    owner = fulfillment.owner_dealer_id
    if not owner or parties.dealer(owner) == settlement.seller:
        return None
    rate = settlement.terms.fulfillment_rate(policy.fulfillment_fee_bps)
    fee = bps_of(order.fulfillment_value(fulfillment), rate)
    if fee <= 0:
        return None
    return JournalEntry(
        key=f"fulfilment_fee:{order.id}:{fulfillment.id}",
        rule=Rule.FULFILLMENT_FEE,
        currency=settlement.currency,
        order_id=order.id,
        source=source,
        postings=(
            Posting(settlement.seller, Account.FULFILLMENT_FEE, -fee),
            Posting(parties.dealer(owner), Account.FULFILLMENT_FEE, fee),
        ),
        memo=f"fulfillment {fulfillment.id} shipped from {fulfillment.location_id}: "
        f"{rate} bps of {order.fulfillment_value(fulfillment)}",
    )


Position = tuple[str, str]  # (party, account)


def refundable(booked: Mapping[Position, int], taken: Mapping[Position, int]) -> int:
    """What the order still holds: what its entries booked, less what its refunds took back."""
    return sum(booked.values()) - sum(taken.values())


def reverse(
    key: str,
    rule: Rule,
    settlement: OrderSettlement,
    booked: Mapping[Position, int],
    taken: Mapping[Position, int],
    refund: int,
    source: Source,
    memo: str = "",
) -> JournalEntry:
    """Rule 3: pay `refund` back to clearing, taken from the order's positions in proportion to what was booked.

    `booked` are the order's net amounts per (party, account) over its entries other than refunds (the sale,
    fulfillment fees), clearing excluded; they sum to the order's gross. `taken` is what its earlier refunds
    took back from each (refund_excess excluded). Cumulative, as orders splits its own refunds: everything
    refunded so far is split once over `booked`, and this refund takes that split less what was taken before.
    Splitting each refund over what was left instead rounded every refund on its own, and the errors added up:
    9,000 refunds of 1 fen left a 5 % channel all of its 500 where 50 was its share. Now every position is
    always within a fen of its exact share, whatever the number and order of refunds.
    """
    already = sum(taken.values())
    now = max(0, min(refund, refundable(booked, taken)))
    keys = sorted(set(booked) | set(taken))
    weights = [booked.get(k, 0) for k in keys]
    # No sale booked (never in practice: a refund follows its sale): nothing to split, nothing moves.
    shares = allocate(already + now, weights) if sum(weights) > 0 else [taken.get(k, 0) for k in keys]
    postings = [Posting(parties.CLEARING, Account.CUSTOMER_REFUND, refund)]
    postings += [
        Posting(party, account, taken.get((party, account), 0) - share)
        for (party, account), share in zip(keys, shares, strict=True)
    ]
    postings.append(Posting(parties.BRAND, Account.REFUND_EXCESS, -(refund - now)))
    return JournalEntry(
        key=key,
        rule=rule,
        currency=settlement.currency,
        postings=tuple(postings),
        order_id=settlement.order_id,
        source=source,
        memo=memo or f"refund {refund} of order {settlement.order_id}",
    )


def wholesale(replenishment_id: str, dealer_id: str, currency: str, total: int, source: Source) -> JournalEntry:
    """Rule 4: the dealer owes the brand the wholesale total of the replenishment it received."""
    return JournalEntry(
        key=f"wholesale:{replenishment_id}",
        rule=Rule.WHOLESALE,
        currency=currency,
        postings=(
            Posting(parties.dealer(dealer_id), Account.WHOLESALE, -total),
            Posting(parties.BRAND, Account.WHOLESALE, total),
        ),
        source=source,
        memo=f"replenishment {replenishment_id} received",
    )


def payment(
    key: str,
    from_party: str,
    to_party: str,
    currency: str,
    amount: int,
    *,
    fee_retained: int = 0,
    reference: str = "",
    source: Source | None = None,
) -> JournalEntry:
    """Rule 5. Refuses (InvalidArgument) a payment that cannot be one: to itself, by or to clearing, not
    positive, or a retained fee from a payer that is not a channel."""
    v = Violations()
    for path, party in (("from_party", from_party), ("to_party", to_party)):
        if party == parties.CLEARING:
            v.add(path, "clearing is the customers' money, not a party that pays or is paid")
    if from_party == to_party:
        v.add("to_party", "must differ from from_party")
    if amount <= 0:
        v.add("amount.amount_minor", "must be positive")
    remittance = from_party.startswith("channel:")
    if fee_retained < 0:
        v.add("fee_retained.amount_minor", "must not be negative")
    elif fee_retained and not remittance:
        v.add("fee_retained", "only a channel remitting collected money keeps a fee")
    v.raise_if_any()
    if remittance:
        postings = [
            Posting(parties.CLEARING, Account.REMITTANCE, amount + fee_retained),
            Posting(from_party, Account.FEE_RETAINED, -fee_retained),
            Posting(to_party, Account.PAYMENT, -amount),
        ]
        memo = f"{from_party} remitted {amount} to {to_party}, keeping {fee_retained}"
    else:
        postings = [Posting(from_party, Account.PAYMENT, amount), Posting(to_party, Account.PAYMENT, -amount)]
        memo = f"{from_party} paid {amount} to {to_party}"
    return JournalEntry(
        key=key,
        rule=Rule.PAYMENT,
        currency=currency,
        postings=tuple(postings),
        source=source or Source(),
        memo=memo + (f" ({reference})" if reference else ""),
        reference=reference,
    )


def is_final(order: OrderFacts) -> bool:
    """Whether the order's income may be paid out: nothing can refund its payment any more, as orders states it
    (OrderFacts.is_final: cancelled, wholly refunded, or its return window closed, which orders announces with
    orders.order.return_window_closed). A completed order is not enough: until its window closes a return
    refunds the sale. Dealers' credit reads the same fact, so settlement never pays out in cash what dealers
    still holds back from credit. An event from before orders stated it is read by the rule of its time
    (onepool_runtime.order_facts, applied where the event is read)."""
    return order.is_final


def payout_amount(owed_at_end: int, settled_since: int, balance_now: int, held: int = 0) -> int:
    """Rule 6: what a payout up to period_end pays (zero or less: nothing to pay).

    `owed_at_end` is the party's balance just before period_end; `settled_since` the sum of its payment and
    payout lines since that reduced what it was owed (zero or negative: payouts to it, payments it received,
    the commission a channel kept from a remittance); `balance_now` its balance now. What the party paid in
    since (a dealer paying for its replenishments) is not counted: it settled the party's debts, not a
    claim of the party, so it is never paid back. And a party that has run up new debts since is paid at
    most what it is owed on balance now: the brand does not pay out a claim the party's debts already
    cancel.

    `held` (zero or more) is the party's income that can still be taken back by a cancellation: the sum of
    its positive lines on orders not final yet (`is_final`), whenever posted. It is part of `balance_now` and
    is never paid out: after the payout the balance still covers it, so cancelling those orders leaves the
    party owing no more than before the payout. Its negative lines on such orders (a refund, a fee it pays)
    count at once, as everything without an order does."""
    assert settled_since <= 0, "only lines that reduced the claim count"
    assert held >= 0, "only positive lines are held"
    return min(owed_at_end + settled_since, balance_now - held)


def payout(key: str, payout_id: str, party: str, currency: str, amount: int) -> JournalEntry:
    """Rule 6: the brand pays `party` `amount` (positive: what it owed the party)."""
    if party in (parties.BRAND, parties.CLEARING):
        raise InvalidArgument("party", "a payout goes to a dealer or a channel")
    return JournalEntry(
        key=key,
        rule=Rule.PAYOUT,
        currency=currency,
        postings=(Posting(party, Account.PAYOUT, -amount), Posting(parties.BRAND, Account.PAYOUT, amount)),
        memo=f"payout {payout_id} to {party}",
        reference=payout_id,
    )


def ownership(move: GoodsMoved, source: Source) -> JournalEntry | None:
    """Rule 7: the taker owes the giver what dealers valued the goods at; None when nothing is owed."""
    if move.total <= 0 or move.giver == move.taker:
        return None
    unpriced = f"; not priced: {', '.join(move.unpriced_skus)}" if move.unpriced_skus else ""
    return JournalEntry(
        key=f"ownership:{move.id}",
        rule=Rule.OWNERSHIP,
        currency=move.currency,
        order_id=move.order_id,
        source=source,
        postings=(
            Posting(move.taker, Account.OWNERSHIP, -move.total),
            Posting(move.giver, Account.OWNERSHIP, move.total),
        ),
        memo=f"{move.reason.lower()} {move.reference} at {move.location_id}: goods of {move.giver} taken over by "
        f"{move.taker} for {move.total} ({move.priced}){unpriced}",
        reference=move.reference,
    )
