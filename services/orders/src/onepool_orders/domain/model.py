"""The unified order (订单统一): one model and one lifecycle whatever channel the order came from.

Lifecycle (an explicit state machine; anything else is FAILED_PRECONDITION):

    PENDING ──reserved──> RESERVED ──paid──> PAID ──first of several shipped──> FULFILLING ──last──> SHIPPED
       │  └─rejected─> REJECTED  │            │ └──────────────every fulfillment shipped────────────────^  │
       │                         │            └─(pickup, all at the shop)───> READY_FOR_PICKUP ─picked up─^
       └──────cancelled──────────┴────────────┴─────────────────────────────────┘        SHIPPED ─> COMPLETED
                                  (any time before anything left a location)

- PENDING exists only while inventory is being asked for stock (the PlaceOrder saga). A PENDING order that
  nobody finishes is driven to RESERVED/REJECTED, or CANCELLED, by the recovery loop.
- An order has one fulfillment per location its stock was reserved at; it is SHIPPED when every fulfillment
  has left (shipped, or handed over in the store), FULFILLING while only some have.
- Repeating a command that already took effect (the same payment, the same shipment, a second cancel) returns
  the order unchanged, so callers may retry safely; a command that contradicts the order's state is refused.
- Presale (docs/presale.md): a RESERVED order on a channel that takes deposits may be paid as a deposit
  (DEPOSIT_PAID: its reservation stops expiring) and then the balance by `balance_due_at` (PAID, as if paid
  in full). A balance not paid in time lapses the order (CANCELLED, its units released): the deposit is
  refunded or kept by the seller as the rule it was paid under says (`deposit_rule`). Lines whose units wait
  for goods to arrive (`awaiting`, with their `promised_at`) follow inventory's fills and moved promises;
  nothing ships while any of its units wait.
- The delivery address of a SHIP or DEALER_DELIVERY order may change until something of it has left a location
  (`change_delivery_address`); only the free text changes, never the region or where the stock is held.
- An unpaid (RESERVED) order may be repriced (`reprice`: the marketplace adjusted its price before payment):
  only the lines' discounts and the shipping fee change, so payment then equals the new total.
- Money: a line costs unit_price * quantity - discount (its explicit reduction); the total is the sum of
  the lines plus the shipping fee, in one currency; payment must equal it exactly; refunds are
  proportional to the value returned and never exceed what was paid (shipping comes back with the last unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from onepool_kernel.errors import (
    Conflict,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Shortage,
    Violations,
)
from onepool_kernel.ids import new_uuid
from onepool_kernel.intake import CustomerInfo, FulfillmentMode, FulfillmentPreference
from onepool_kernel.lines import check_lines
from onepool_kernel.money import MAX_AMOUNT_MINOR, Money, bps_of, proportional_share, units_value
from onepool_kernel.payments import payment_is_final
from onepool_kernel.presale import DepositRule, PresaleTerms

from onepool_orders.domain import events
from onepool_orders.domain import stock_requests as sr
from onepool_orders.domain.channels import DEFAULT_RETURN_WINDOW_DAYS
from onepool_orders.domain.stock_requests import StockLine


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    RESERVED = "RESERVED"
    PAID = "PAID"
    FULFILLING = "FULFILLING"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    DEPOSIT_PAID = "DEPOSIT_PAID"


class PaymentKind(StrEnum):
    FULL = "FULL"
    DEPOSIT = "DEPOSIT"
    BALANCE = "BALANCE"


S = OrderStatus
# Every legal transition. The aggregate never changes status without consulting this table.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.RESERVED, S.REJECTED, S.CANCELLED}),
    S.RESERVED: frozenset({S.PAID, S.DEPOSIT_PAID, S.CANCELLED}),
    S.DEPOSIT_PAID: frozenset({S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.READY_FOR_PICKUP, S.FULFILLING, S.SHIPPED, S.CANCELLED}),
    S.READY_FOR_PICKUP: frozenset({S.SHIPPED, S.CANCELLED}),
    S.FULFILLING: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.REJECTED: frozenset(),
}
PAID_STATES = frozenset({S.PAID, S.READY_FOR_PICKUP, S.FULFILLING, S.SHIPPED, S.COMPLETED})
CLOSED_STATES = frozenset({S.COMPLETED, S.CANCELLED, S.REJECTED})
# Where a payment already recorded is answered as a repeat, not refused: a paid order may since have been
# cancelled (inventory released its stock first, or the brand cancelled it), and the caller's retry of the
# payment must still get the order, as its first call did, rather than learn the payment was refused.
REPEATABLE_PAYMENT_STATES = PAID_STATES | {S.CANCELLED}
RETURNABLE_STATES = frozenset({S.FULFILLING, S.SHIPPED, S.COMPLETED})
# Where every fulfillment not cancelled has left: only the last leaving (or the rest's cancellation) moves an order
# to SHIPPED, and COMPLETED follows only SHIPPED (TRANSITIONS). The return window is fixed on entering them.
GOODS_GONE_STATES = frozenset({S.SHIPPED, S.COMPLETED})


class FulfillmentStatus(StrEnum):
    PENDING = "PENDING"
    SHIPPED = "SHIPPED"
    PICKED_UP = "PICKED_UP"
    CANCELLED = "CANCELLED"


F = FulfillmentStatus
# What an order's fulfillments can be while it is in each status. None before its stock is held (a reservation
# makes them); all PENDING until the first leaves, which moves the order to FULFILLING or SHIPPED in the same
# step (`_record_left`); a cancellation cancels them all, or only those still waiting once some have left. So
# ListOrders finds a dealer's or a location's orders in a status before anything left among their fulfillments
# still to leave (a few), not among every fulfillment ever (order_listing.py).
FULFILLMENTS_WHILE: dict[OrderStatus, frozenset[FulfillmentStatus]] = {
    S.PENDING: frozenset(),
    S.REJECTED: frozenset(),
    S.RESERVED: frozenset({F.PENDING}),
    S.DEPOSIT_PAID: frozenset({F.PENDING}),
    S.PAID: frozenset({F.PENDING}),
    S.READY_FOR_PICKUP: frozenset({F.PENDING}),
    S.FULFILLING: frozenset({F.PENDING, F.SHIPPED, F.PICKED_UP}),
    S.SHIPPED: frozenset({F.SHIPPED, F.PICKED_UP, F.CANCELLED}),
    S.COMPLETED: frozenset({F.SHIPPED, F.PICKED_UP, F.CANCELLED}),
    S.CANCELLED: frozenset({F.CANCELLED}),
}
# The statuses in which an order still has goods to send, or is yet to hold them: ListOrders' partial indexes
# hold only these orders (orm.py IN_FLIGHT), the few of any moment, whatever the history.
IN_FLIGHT_STATES = frozenset({S.PENDING, S.RESERVED, S.DEPOSIT_PAID, S.PAID, S.READY_FOR_PICKUP, S.FULFILLING})


@dataclass
class OrderLine:
    sku: str
    quantity: int
    unit_price: Money
    channel_sku: str = ""
    returned: int = 0
    # The reduction on the whole line, in the order's currency (0 <= discount <= unit_price * quantity).
    discount_minor: int = 0
    # Units still waiting for goods to arrive (presale or backorder), and when they are promised (None: nothing
    # waits, or nothing promises them).
    awaiting: int = 0
    promised_at: datetime | None = None

    @property
    def gross(self) -> Money:
        return self.unit_price.times(self.quantity)

    @property
    def discount(self) -> Money:
        return Money(self.unit_price.currency, self.discount_minor)

    @property
    def line_total(self) -> Money:
        """What the customer pays for the line."""
        return self.gross - self.discount

    def value_of(self, units: int) -> int:
        """The net value of `units` of this line (the kernel's units_value)."""
        return units_value(self.line_total.amount_minor, units, self.quantity)


@dataclass
class Fulfillment:
    """The part of an order that one location fulfills."""

    id: str
    location_id: str
    lines: tuple[StockLine, ...]
    status: FulfillmentStatus = FulfillmentStatus.PENDING
    owner_dealer_id: str = ""
    tracking_no: str = ""
    shipped_at: datetime | None = None

    @property
    def has_left(self) -> bool:
        return self.status in (FulfillmentStatus.SHIPPED, FulfillmentStatus.PICKED_UP)

    @property
    def is_cancelled(self) -> bool:
        return self.status is FulfillmentStatus.CANCELLED


@dataclass(frozen=True)
class AllocatedStock:
    """One line of inventory's reservation: units of a SKU held at a location (and who owns it)."""

    sku: str
    location_id: str
    quantity: int
    owner_dealer_id: str = ""
    # Of `quantity`, units that wait for goods to arrive, and the date they are promised (None: no promise).
    awaiting: int = 0
    promised_at: datetime | None = None
    # Inventory's version of this allocation's waiting state (inventory.v1.Allocation.version): of two news of
    # it, the higher is the newer. 0 in news published before inventory kept versions.
    version: int = 0


# Per SKU: units waiting for goods and when they are promised.
LineStock = tuple[int, datetime | None]


@dataclass(frozen=True)
class LinePromise:
    """One line's promise before and after a change inventory reported."""

    sku: str
    awaiting: int
    previous_promised_at: datetime | None
    promised_at: datetime | None


def line_stock(
    allocations: list[AllocatedStock] | tuple[AllocatedStock, ...],
) -> dict[str, tuple[int, datetime | None]]:
    """Per SKU: units waiting, and when the whole of them is promised (the latest promise; None when some
    waiting units have none)."""
    out: dict[str, LineStock] = {}
    unpromised: set[str] = set()
    for a in allocations:
        if a.awaiting <= 0:
            continue
        waiting, promised = out.get(a.sku, (0, None))
        if a.promised_at is None:
            unpromised.add(a.sku)
        elif promised is None or a.promised_at > promised:
            promised = a.promised_at
        out[a.sku] = (waiting + a.awaiting, promised)
    return {sku: (waiting, None if sku in unpromised else promised) for sku, (waiting, promised) in out.items()}


@dataclass(frozen=True)
class Return:
    id: str
    order_id: str
    request_id: str
    lines: tuple[StockLine, ...]
    location_id: str
    refund: Money
    reason: str
    created_at: datetime


def new_id() -> str:
    return new_uuid()


# Why an unpaid order was cancelled when its reservation expired (its status_reason).
UNPAID_IN_TIME = "payment not received in time"


def _state_error(order: Order, action: str, why: str = "") -> FailedPrecondition:
    return FailedPrecondition(
        "INVALID_ORDER_STATE",
        f"cannot {action} order {order.id}: it is {order.status.value}" + (f" ({why})" if why else ""),
        {"order_id": order.id, "status": order.status.value},
    )


@dataclass
class Order:
    id: str
    channel_id: str
    external_order_id: str
    customer: CustomerInfo
    lines: list[OrderLine]
    fulfillment: FulfillmentPreference
    status: OrderStatus
    created_at: datetime
    updated_at: datetime
    dealer_id: str = ""
    customer_id: str = ""
    payment_ttl_seconds: int = 0
    fulfillments: list[Fulfillment] = field(default_factory=list)
    reservation_id: str = ""
    reservation_expires_at: datetime | None = None
    # Which Reserve request (request_id suffix) this order's reservation comes from; bumped when a
    # reservation made for it lapsed before it could be recorded, so the next attempt is a new request.
    reserve_attempt: int = 0
    paid: Money | None = None
    refunded: Money | None = None
    payment_ref: str = ""
    status_reason: str = ""
    shortfalls: list[Shortage] = field(default_factory=list)
    # Shipping charged to the customer, in the order's currency (part of the total).
    shipping_fee_minor: int = 0
    # Presale: the part of `paid` paid as a deposit and its payment reference; the balance deadline; the deposit
    # the seller kept when the balance lapsed under a keeping rule (not part of `refunded`).
    deposit_minor: int = 0
    deposit_ref: str = ""
    balance_due_at: datetime | None = None
    deposit_kept_minor: int = 0
    # When the seller first broke its word to a customer whose deposit it holds: a waiting line's promised date
    # moved later, or was lost, while the order was DEPOSIT_PAID. A keeping rule (定金不退) then no longer
    # applies: the customer who declines to pay the balance for goods that come late, or may never come, is not
    # the party who failed, and the deposit is refunded.
    promise_broken_at: datetime | None = None
    # The reservation state (inventory's updated_at) the lines' waiting units last followed: for news without
    # allocation versions (published before inventory kept them), older news is ignored.
    stock_seen_at: datetime | None = None
    # Per allocation (sku, location_id): the highest inventory version whose waiting state a line followed
    # (absent: none yet, or followed before versions were kept). A line takes its date only from news that
    # shows none of its allocations older than this (news without versions: by stock_seen_at).
    stock_versions: dict[tuple[str, str], int] = field(default_factory=dict)
    # When `fulfillment.address` took effect (a marketplace's own modification time, or when it was set): an
    # address change older than it is moot. None on orders placed before it was kept (any change applies).
    address_as_of: datetime | None = None
    # The address the order was placed with, kept once it has changed (None: it has not), so a repeated
    # PlaceOrder is still recognised as the same request.
    placed_address: str | None = None
    # When the lines' discounts and the shipping fee took effect (as `address_as_of`, for `reprice`). None on
    # orders placed before it was kept (any reprice applies).
    prices_as_of: datetime | None = None
    # The prices the order was placed with, kept once it was repriced (None: it was not), so a repeated
    # PlaceOrder with the placed copy is still recognised as the same request.
    placed_prices: PlacedPrices | None = None
    # Counts the order's saved changes (the repository adds one with each, under the order's lock): its events
    # carry it, and readers keep the state with the highest. updated_at is a replica's clock, which can't
    # order two changes made close together.
    revision: int = 0
    # The version of orders' copy of the channel the order's first payment was made under (the sale was made
    # then: a presale's balance keeps its deposit's terms), stored and stated in every later event
    # (OrderFacts.channel_version): settlement books the sale from whichever event reaches it first, so a
    # shipment overtaking a delayed payment must name the same terms. 0: not known (unpaid, or paid before it
    # was kept), and readers fall back to the terms they hold.
    channel_version: int = 0
    # Presale: the channel's deposit rule when the deposit was paid, a term fixed then like `balance_due_at` (a
    # later change of the channel's rule is for deposits paid after it). None: no deposit, or one paid before it
    # was kept (a lapse applies the channel's rule).
    deposit_rule: DepositRule | None = None
    # Returns are accepted until then: when the last goods left plus the channel's return window, fixed at that
    # moment (`_fix_return_window`). None while goods are still to leave (or nothing will: cancelled).
    returnable_until: datetime | None = None
    # The window closed and OrderReturnWindowClosed was published (once: `close_return_window`); the order's
    # income is final from then on (`is_final`).
    return_window_closed: bool = False
    # The channel's return window in days as orders' copy of the channel states it when the order was read
    # (not stored with the order): what `returnable_until` is fixed from when the last goods leave.
    channel_return_window_days: int = DEFAULT_RETURN_WINDOW_DAYS
    events: list[Any] = field(default_factory=list, repr=False, compare=False)
    stock_requests: list[sr.StockRequest] = field(default_factory=list, repr=False, compare=False)
    new_returns: list[Return] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.paid is None:
            self.paid = Money.zero(self.currency)
        if self.refunded is None:
            self.refunded = Money.zero(self.currency)

    # --- creation ---------------------------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        *,
        order_id: str,
        channel_id: str,
        external_order_id: str,
        customer: CustomerInfo,
        lines: list[OrderLine],
        fulfillment: FulfillmentPreference,
        dealer_id: str,
        payment_ttl_seconds: int,
        now: datetime,
        shipping_fee_minor: int = 0,
        address_as_of: datetime | None = None,
    ) -> Order:
        """A new order, PENDING until inventory answers. Refuses lines that cannot make a valid total.
        `address_as_of`: when the sender's copy of it was last modified (None: now), see change_delivery_address."""
        v = Violations()
        check_lines(v, "lines", lines)
        currency = lines[0].unit_price.currency if lines else ""
        total = 0
        for i, line in enumerate(lines):
            if line.unit_price.amount_minor < 0:
                v.add(f"lines[{i}].unit_price.amount_minor", "must not be negative")
            if line.unit_price.currency != currency:
                v.add(f"lines[{i}].unit_price.currency", f"must be {currency} like the first line")
            gross = max(0, line.unit_price.amount_minor) * max(0, line.quantity)
            if gross > MAX_AMOUNT_MINOR:
                # The largest amount any service books (settlement values lines before their discount).
                v.add(f"lines[{i}].unit_price.amount_minor", f"times quantity must be at most {MAX_AMOUNT_MINOR}")
            if not 0 <= line.discount_minor <= gross:
                v.add(f"lines[{i}].discount.amount_minor", f"must be between 0 and the line's price {gross}")
            total += gross - min(max(0, line.discount_minor), gross)
        if shipping_fee_minor < 0:
            v.add("shipping_fee.amount_minor", "must not be negative")
        total += max(0, shipping_fee_minor)
        if total > MAX_AMOUNT_MINOR:
            v.add("lines", f"order total must be at most {MAX_AMOUNT_MINOR} minor units")
        if fulfillment.mode is FulfillmentMode.PICKUP_IN_STORE and not fulfillment.pickup_location_id:
            v.add("fulfillment.pickup_location_id", "is required for PICKUP_IN_STORE")
        if fulfillment.mode is FulfillmentMode.DEALER_DELIVERY and not dealer_id:
            v.add("dealer_id", "is required for DEALER_DELIVERY")
        v.raise_if_any()
        return cls(
            id=order_id,
            channel_id=channel_id,
            external_order_id=external_order_id,
            customer=customer,
            lines=list(lines),
            fulfillment=fulfillment,
            status=OrderStatus.PENDING,
            created_at=now,
            updated_at=now,
            dealer_id=dealer_id,
            payment_ttl_seconds=payment_ttl_seconds,
            shipping_fee_minor=shipping_fee_minor,
            address_as_of=_not_after(address_as_of, now) or now,
            prices_as_of=_not_after(address_as_of, now) or now,
        )

    # --- derived ----------------------------------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency if self.lines else ""

    @property
    def shipping_fee(self) -> Money:
        return Money(self.currency, self.shipping_fee_minor)

    @property
    def placed_fulfillment(self) -> FulfillmentPreference:
        """The fulfillment as placed: only its address can have changed since."""
        if self.placed_address is None:
            return self.fulfillment
        return replace(self.fulfillment, address=self.placed_address)

    @property
    def prices(self) -> PlacedPrices:
        """The lines' discounts and the shipping fee as they are now."""
        return PlacedPrices(self.shipping_fee_minor, tuple(sorted((ln.sku, ln.discount_minor) for ln in self.lines)))

    @property
    def placed_prices_or_now(self) -> PlacedPrices:
        """The prices as placed: only a reprice can have changed them."""
        return self.placed_prices if self.placed_prices is not None else self.prices

    @property
    def total(self) -> Money:
        """What the customer is charged: the lines (net of their discounts) plus shipping."""
        total = self.shipping_fee
        for line in self.lines:
            total = total + line.line_total
        return total

    # The facts orders' events state for their readers (adapters/integration.py), so that no reader has to
    # interpret the status: what counts as paid or open is decided here, once.

    @property
    def is_paid(self) -> bool:
        """A payment of the whole order was recorded. It stays true after a cancellation or a return: what is
        due back is `refunded`. A presale deposit alone is not a payment of the order (nothing is sold yet)."""
        assert self.paid is not None
        return self.status in PAID_STATES or self.paid.amount_minor > self.deposit_minor

    @property
    def deposit(self) -> Money:
        return Money(self.currency, self.deposit_minor)

    @property
    def deposit_kept(self) -> Money:
        return Money(self.currency, self.deposit_kept_minor)

    @property
    def balance(self) -> Money:
        """What is left to pay after the deposit."""
        return self.total - self.deposit

    @property
    def awaiting_stock(self) -> bool:
        return any(ln.awaiting > 0 for ln in self.lines)

    @property
    def is_open(self) -> bool:
        """The order still has a step to go (it is not completed, cancelled or rejected)."""
        return self.status not in CLOSED_STATES

    @property
    def is_final(self) -> bool:
        """Nothing can refund the payment any more (short of an operator's late return, a quality claim): the
        order was cancelled or rejected, everything paid is refunded already, or its return window closed. What
        settlement's payouts and dealers' credit wait for. Goods that left are not enough: until the window
        closes a return refunds the sale, and income counted at shipment would have lent the seller credit it
        then loses (a dealer shipping, reordering on the credit and returning its own sale). Once true, true
        for good: each of the three only ever becomes true."""
        if self.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) or self.return_window_closed:
            return True
        assert self.paid is not None and self.refunded is not None
        return self.paid.amount_minor > 0 and self.refunded == self.paid

    def _fix_return_window(self) -> None:
        """Once every fulfillment not cancelled has left (one at least), the return deadline is fixed: when the
        last of them left plus the channel's window now. A later change of the channel's window moves no order
        whose goods are gone."""
        if self.returnable_until is not None or not payment_is_final(True, True, self.fulfillments):
            return
        self._set_return_window()

    def fix_missed_return_window(self) -> bool:
        """Goods that left on a replica of the release before the return window (a rolling upgrade: its save
        writes no deadline) get the deadline now by the same rule, from when the last of them left and the
        channel's window now, so the closer can close it. Decided on the status, as the closer finds such orders
        (GOODS_GONE_STATES), so every order it finds leaves its list. True if the deadline was fixed now."""
        if self.returnable_until is not None or self.status not in GOODS_GONE_STATES:
            return False
        self._set_return_window()
        return True

    def _set_return_window(self) -> None:
        left = [f.shipped_at for f in self.fulfillments if f.has_left and f.shipped_at is not None]
        # No departure time at all (never written so by any release): the order's last change, which is no
        # earlier than its goods leaving, so the window is never shorter than the channel's.
        self.returnable_until = max(left, default=self.updated_at) + timedelta(days=self.channel_return_window_days)

    def window_closed(self, now: datetime) -> bool:
        """No return is accepted any more without an operator's override."""
        return self.return_window_closed or (self.returnable_until is not None and now > self.returnable_until)

    def close_return_window(self, now: datetime) -> bool:
        """The return deadline passed: record it once and publish OrderReturnWindowClosed (its facts final).
        False, unchanged, if the window is still open or was closed already."""
        if self.return_window_closed or self.returnable_until is None or now < self.returnable_until:
            return False
        self.return_window_closed = True
        self.updated_at = now
        self.events.append(events.ReturnWindowClosed(self))
        return True

    @property
    def is_pickup(self) -> bool:
        return self.fulfillment.mode is FulfillmentMode.PICKUP_IN_STORE

    @property
    def was_placed(self) -> bool:
        """Stock was reserved at some point, so the rest of the platform has heard of this order."""
        return bool(self.reservation_id)

    def line(self, sku: str) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.sku == sku), None)

    def fulfillment_by_id(self, fulfillment_id: str) -> Fulfillment:
        found = next((f for f in self.fulfillments if f.id == fulfillment_id), None)
        if found is None:
            raise NotFound("fulfillment", fulfillment_id)
        return found

    def delivered(self, sku: str) -> int:
        """Units of `sku` that have left our locations for the customer."""
        return sum(ln.quantity for f in self.fulfillments if f.has_left for ln in f.lines if ln.sku == sku)

    def _move(self, to: OrderStatus, action: str, now: datetime) -> None:
        if to not in TRANSITIONS[self.status]:
            raise _state_error(self, action)
        self.status = to
        self.updated_at = now

    # --- the saga's outcomes ----------------------------------------------------------------------------

    def record_reservation(
        self,
        reservation_id: str,
        expires_at: datetime | None,
        allocations: list[AllocatedStock],
        customer_id: str,
        now: datetime,
    ) -> None:
        """Inventory holds the stock: one fulfillment per location it is held at."""
        wanted = {ln.sku: ln.quantity for ln in self.lines}
        got: dict[str, int] = {}
        for a in allocations:
            got[a.sku] = got.get(a.sku, 0) + a.quantity
        if got != wanted:
            raise ValueError(f"reservation {reservation_id} does not cover order {self.id}: {got} != {wanted}")
        self._move(OrderStatus.RESERVED, "reserve", now)
        by_location: dict[str, list[AllocatedStock]] = {}
        for a in allocations:
            by_location.setdefault(a.location_id, []).append(a)
        self.fulfillments = [
            Fulfillment(
                id=new_id(),
                location_id=location_id,
                lines=tuple(StockLine(a.sku, a.quantity) for a in sorted(held, key=lambda a: a.sku)),
                owner_dealer_id=held[0].owner_dealer_id,
            )
            for location_id, held in sorted(by_location.items())
        ]
        self.reservation_id = reservation_id
        self.reservation_expires_at = expires_at
        self.customer_id = customer_id
        waiting = line_stock(allocations)
        for line in self.lines:
            line.awaiting, line.promised_at = waiting.get(line.sku, (0, None))
        self.stock_versions = {(a.sku, a.location_id): a.version for a in allocations if a.version}
        self.events.append(events.OrderPlaced(self))

    def record_rejection(self, shortfalls: list[Shortage], reason: str, customer_id: str, now: datetime) -> None:
        """Inventory could not hold the stock; the caller learns what was missing."""
        self._move(OrderStatus.REJECTED, "reject", now)
        self.shortfalls = list(shortfalls)
        self.status_reason = reason
        self.customer_id = customer_id

    def abandon(self, reason: str, now: datetime) -> None:
        """A PENDING order nobody could finish (inventory unreachable for too long)."""
        if self.status is not OrderStatus.PENDING:
            return
        self._move(OrderStatus.CANCELLED, "cancel", now)
        self.status_reason = reason

    # --- commands -----------------------------------------------------------------------------------------

    def pay(
        self,
        amount: Money,
        payment_ref: str,
        now: datetime,
        kind: PaymentKind = PaymentKind.FULL,
        presale: PresaleTerms | None = None,
    ) -> bool:
        """Record a payment: the whole total (FULL), a presale deposit (DEPOSIT, on the channel's `presale`
        terms) or the balance after a deposit (BALANCE). False if it was already recorded."""
        if self.status is OrderStatus.CANCELLED and self.status_reason == UNPAID_IN_TIME:
            # Paid (in full or a deposit) after its window, the order already cancelled for it: the reason a
            # storefront acts on (refund the buyer) is that it was not paid in time, not that it is "cancelled".
            raise FailedPrecondition(
                "RESERVATION_EXPIRED",
                f"order {self.id} was not paid in time: it was cancelled and its stock released",
                {"order_id": self.id, "reservation_id": self.reservation_id, "status": self.status.value},
            )
        if self.status is OrderStatus.PENDING:
            # Its reservation is still being asked for: the payment is not refused (INVALID_ORDER_STATE reads as
            # "already paid or closed" to a caller, who may then never send it again), it is to be retried.
            raise Conflict(f"order {self.id} is still being placed; retry the payment")
        if kind is PaymentKind.DEPOSIT:
            return self._pay_deposit(amount, payment_ref, now, presale or PresaleTerms())
        if kind is PaymentKind.BALANCE:
            return self._pay_balance(amount, payment_ref, now)
        if self.status in REPEATABLE_PAYMENT_STATES and payment_ref == self.payment_ref and amount == self.paid:
            return False
        if self.status is not OrderStatus.RESERVED:
            why = "already paid" if self.status in PAID_STATES else ""
            if self.status is OrderStatus.DEPOSIT_PAID:
                why = "a deposit was paid: pay the balance (kind BALANCE)"
            raise _state_error(self, "pay", why)
        self._check_amount(amount, self.total, "the order total")
        self._check_not_expired(now)
        self._move(OrderStatus.PAID, "pay", now)
        self.paid = amount
        self.payment_ref = payment_ref
        self.stock_requests.append(sr.CommitReservation(self.reservation_id))
        self.events.append(events.OrderPaid(self))
        self._ready_for_pickup_if_all_there(now)
        return True

    def _ready_for_pickup_if_all_there(self, now: datetime) -> None:
        """A paid pickup order is ready to collect once every unit is at the shop: at payment, or when the
        last waiting unit is filled (`follow_stock`). Until then it stays PAID: the customer is not sent to
        collect goods that are days away (ConfirmPickup is AWAITING_STOCK meanwhile)."""
        if self.is_pickup and self.status is OrderStatus.PAID and not any(ln.awaiting for ln in self.lines):
            self._move(OrderStatus.READY_FOR_PICKUP, "prepare", now)

    def _check_amount(self, amount: Money, expected: Money, what: str) -> None:
        violations = []
        if amount.currency != expected.currency:
            violations.append(FieldViolation("amount.currency", f"must be {expected.currency}, the order's currency"))
        if amount.amount_minor != expected.amount_minor:
            violations.append(
                FieldViolation(
                    "amount.amount_minor", f"must equal {what} {expected.amount_minor}, not {amount.amount_minor}"
                )
            )
        if violations:
            raise InvalidArgument(violations)

    def _check_not_expired(self, now: datetime) -> None:
        if self.reservation_expires_at is not None and self.reservation_expires_at <= now:
            raise FailedPrecondition(
                "RESERVATION_EXPIRED",
                f"order {self.id} was not paid in time: its stock was released at "
                f"{self.reservation_expires_at.isoformat()}",
                {"order_id": self.id, "reservation_id": self.reservation_id},
            )

    def _pay_deposit(self, amount: Money, payment_ref: str, now: datetime, presale: PresaleTerms) -> bool:
        if self.deposit_minor and payment_ref == self.deposit_ref and amount == self.deposit:
            return False  # the same deposit again
        if self.status is not OrderStatus.RESERVED:
            raise _state_error(self, "take a deposit for", "only a RESERVED order takes one")
        if not presale.takes_deposits:
            raise FailedPrecondition(
                "DEPOSIT_NOT_OFFERED",
                f"channel {self.channel_id} takes no deposits: pay the order in full",
                {"order_id": self.id, "channel_id": self.channel_id},
            )
        total = self.total
        least = max(1, bps_of(total.amount_minor, presale.min_deposit_bps))
        v = Violations()
        if amount.currency != total.currency:
            v.add("amount.currency", f"must be {total.currency}, the order's currency")
        elif not least <= amount.amount_minor < total.amount_minor:
            v.add(
                "amount.amount_minor",
                f"a deposit must be at least {least} ({presale.min_deposit_bps} bps of the total) and less than the "
                f"total {total.amount_minor}, not {amount.amount_minor}",
            )
        v.raise_if_any()
        self._check_not_expired(now)
        self._move(OrderStatus.DEPOSIT_PAID, "take a deposit for", now)
        self.paid = amount
        self.deposit_minor = amount.amount_minor
        self.deposit_ref = payment_ref
        self.balance_due_at = now + timedelta(seconds=presale.balance_due_seconds)
        self.deposit_rule = presale.deposit_rule
        # The units are the customer's until the balance deadline: the reservation must stop expiring.
        self.stock_requests.append(sr.CommitReservation(self.reservation_id))
        self.events.append(events.DepositPaid(self))
        return True

    def _pay_balance(self, amount: Money, payment_ref: str, now: datetime) -> bool:
        repeated = self.deposit_minor and payment_ref == self.payment_ref and amount == self.balance
        if self.status in REPEATABLE_PAYMENT_STATES and repeated:
            return False  # the same balance again
        if self.status is not OrderStatus.DEPOSIT_PAID:
            why = "already paid" if self.status in PAID_STATES else "no deposit was paid: pay it in full"
            raise _state_error(self, "take the balance of", why)
        self._check_amount(amount, self.balance, "the balance (total less the deposit)")
        assert self.balance_due_at is not None
        if self.balance_due_at <= now:
            raise FailedPrecondition(
                "BALANCE_OVERDUE",
                f"the balance of order {self.id} was due by {self.balance_due_at.isoformat()}",
                {"order_id": self.id, "balance_due_at": self.balance_due_at.isoformat()},
            )
        self._move(OrderStatus.PAID, "pay", now)
        self.paid = self.total
        self.payment_ref = payment_ref
        self.events.append(events.OrderPaid(self))
        self._ready_for_pickup_if_all_there(now)
        return True

    def lapse_balance(self, channel_rule: DepositRule, now: datetime) -> bool:
        """The balance was not paid by its deadline: the order is cancelled, its units go back to the pool and
        the deposit is refunded or kept by the seller as the rule it was paid under says; `channel_rule` (the
        channel's rule now) only for a deposit paid before that was kept. A seller that did not keep its own
        side (`_seller_failed`) keeps nothing. False if not (yet) due."""
        if self.status is not OrderStatus.DEPOSIT_PAID or self.balance_due_at is None or self.balance_due_at > now:
            return False
        assert self.balance_due_at is not None
        reason = f"balance not paid by {self.balance_due_at.isoformat()}; deposit "
        if (self.deposit_rule or channel_rule) is not DepositRule.KEEP:
            return self.cancel(reason + "refunded", now)
        failed = self._seller_failed(self.balance_due_at)
        if failed:
            return self.cancel(reason + "refunded: " + failed, now)
        return self.cancel(reason + "kept", now, keep_deposit=True)

    def _seller_failed(self, deadline: datetime) -> str:
        """How the seller failed the customer whose deposit it holds, by the balance deadline ("": it did not): a
        promised date moved later or lost (`promise_broken_at`); goods still waiting with no date; or goods
        still waiting whose date came before the deadline. A receipt that is simply late is never rescheduled
        by anyone, so no news moves the date: its passing before the deadline with units still waiting is the
        broken promise, and a customer who would not pay for goods that were not there is not walking away. A
        date at or after the deadline is the presale as sold (the balance is due before the goods), and units
        filled before the lapse, however late, were there to be paid for."""
        if self.promise_broken_at is not None:
            return "the seller moved a promised date later or lost it"
        waiting = [line for line in self.lines if line.awaiting]
        if any(line.promised_at is None for line in waiting):
            return "goods still waited with no date for them"
        late = [line for line in waiting if line.promised_at is not None and line.promised_at < deadline]
        if late:
            first = late[0]
            assert first.promised_at is not None
            return f"{first.awaiting} x {first.sku} promised for {first.promised_at.isoformat()} had not come"
        return ""

    def cancel(self, reason: str, now: datetime, *, release: bool = True, keep_deposit: bool = False) -> bool:
        """Cancel before anything left a location; the reservation is released and any payment is due back.
        Once part of it has left (FULFILLING), what has not is cancelled instead (`_cancel_unshipped`).

        `release=False` when inventory already gave the stock back (the reservation expired).
        `keep_deposit`: a lapsed presale order whose deposit was paid under a keeping rule (not due back)."""
        if self.status is OrderStatus.CANCELLED or self.unshipped_cancelled:
            return False
        if self.status is OrderStatus.FULFILLING:
            return self._cancel_unshipped(reason, now)
        self._move(OrderStatus.CANCELLED, "cancel", now)
        self.status_reason = reason
        for f in self.fulfillments:
            f.status = FulfillmentStatus.CANCELLED
        assert self.paid is not None
        if keep_deposit:
            self.deposit_kept_minor = self.deposit_minor
            self.refunded = self.paid - self.deposit_kept
        else:
            self.refunded = self.paid  # everything paid is due back
        if release and self.reservation_id:
            self.stock_requests.append(sr.ReleaseReservation(self.reservation_id, reason))
        if self.was_placed:
            self.events.append(events.OrderCancelled(self, reason))
        return True

    def _cancel_unshipped(self, reason: str, now: datetime) -> bool:
        """Part of the order left and the rest will not (damaged, lost, its goods never arrived): the
        fulfillments still waiting are cancelled, their units go back to the pool (the reservation is released:
        inventory keeps what was fulfilled) and their share of the payment is due back, as for a return of
        goods that never left (no location: nothing comes back anywhere). The order is SHIPPED with what left."""
        waiting = [f for f in self.fulfillments if f.status is FulfillmentStatus.PENDING]
        units: dict[str, int] = {}
        for f in waiting:
            f.status = FulfillmentStatus.CANCELLED
            for ln in f.lines:
                units[ln.sku] = units.get(ln.sku, 0) + ln.quantity
        self._move(OrderStatus.SHIPPED, "cancel", now)
        self._fix_return_window()  # what left is all that will: its window runs from when it left
        refund = self._refund_due()
        assert self.refunded is not None
        self.refunded = self.refunded + refund
        never_sent = Return(
            id=new_id(),
            order_id=self.id,
            # One per order (it is SHIPPED afterwards): the return row's unique key.
            request_id=f"orders:unshipped:{self.id}",
            lines=tuple(StockLine(sku, quantity) for sku, quantity in units.items()),
            location_id="",
            refund=refund,
            reason=reason,
            created_at=now,
        )
        self.new_returns.append(never_sent)
        self.stock_requests.append(sr.ReleaseReservation(self.reservation_id, reason))
        self.events.append(events.ItemsReturned(self, never_sent))
        return True

    @property
    def unshipped_cancelled(self) -> bool:
        """Its fulfillments that had not left were cancelled after others had (see `_cancel_unshipped`)."""
        return self.status is not OrderStatus.CANCELLED and any(
            f.status is FulfillmentStatus.CANCELLED for f in self.fulfillments
        )

    def never_sent(self, sku: str) -> int:
        """Units of `sku` whose fulfillment was cancelled after others had left: refunded, never delivered."""
        if not self.unshipped_cancelled:
            return 0
        cancelled = (f for f in self.fulfillments if f.status is FulfillmentStatus.CANCELLED)
        return sum(ln.quantity for f in cancelled for ln in f.lines if ln.sku == sku)

    def _refund_due(self) -> Money:
        """What is due back now, beyond what was refunded, for every unit returned or never sent: the payment
        in proportion to their value (cumulatively, so rounding never drifts), and all of it once nothing is
        kept. Never more than was paid."""
        assert self.paid is not None and self.refunded is not None
        gone = {ln.sku: ln.returned + self.never_sent(ln.sku) for ln in self.lines}
        value = sum(ln.value_of(gone[ln.sku]) for ln in self.lines)
        everything_back = all(gone[ln.sku] == ln.quantity for ln in self.lines)
        paid = self.paid.amount_minor
        due = paid if everything_back else proportional_share(paid, value, self.total.amount_minor)
        return Money(self.currency, max(0, min(due, paid) - self.refunded.amount_minor))

    def record_lapsed_reservation(self, reservation_id: str, now: datetime, released: str | None = None) -> bool:
        """Inventory expired this order's reservation: an unpaid order is cancelled (flow 6). An order paid a
        moment before expiry whose commit lost the race is cancelled too, with its payment due back.

        `released`: inventory released it without orders asking (an operator's ReleaseReservation; its
        release_reason), which this order still counted on: the same, since its units are back in the pool. A
        partly shipped order (FULFILLING) keeps what left; the rest is cancelled (`_cancel_unshipped`)."""
        if reservation_id != self.reservation_id or self.status not in (
            OrderStatus.RESERVED,
            OrderStatus.DEPOSIT_PAID,
            OrderStatus.PAID,
            OrderStatus.READY_FOR_PICKUP,
            OrderStatus.FULFILLING,
        ):
            return False
        if released is not None:
            reason = f"stock released in inventory ({released or 'no reason given'})"
            if self.status is not OrderStatus.RESERVED:
                reason += "; payment to be refunded"
        elif self.status is OrderStatus.RESERVED:
            reason = UNPAID_IN_TIME
        else:
            reason = "stock was released before the payment was confirmed; payment to be refunded"
        # FULFILLING: the rest is released again by _cancel_unshipped, which inventory answers as done.
        return self.cancel(reason, now, release=False)

    def change_delivery_address(self, address: str, now: datetime, as_of: datetime | None = None) -> bool:
        """Deliver to `address` instead (the buyer moved it before the goods left). False if nothing changed.

        `as_of`: when the buyer's address became `address` (a marketplace payload's own modification time; None
        is now). Changes arrive out of order (a re-send of an old payload comes late), so one older than
        `address_as_of` is moot whatever the order's state: False, nothing changes. The address the order has
        with a later `as_of` only moves `address_as_of` forward (no event), so a change older than that one is
        moot too; `address_as_of` never moves back.

        Refused (INVALID_ORDER_STATE) once a fulfillment has left, for pickup orders (collected at the shop) and
        for closed orders; a PENDING order is still being placed (its saga writes the order as it placed it),
        so the caller retries (ABORTED). The region stays: the stock was reserved for it and is not moved."""
        as_of = _not_after(as_of, now)
        if as_of is not None and self.address_as_of is not None and as_of < self.address_as_of:
            return False
        refusal = self._why_the_address_stays()
        if address == self.fulfillment.address:
            if as_of is None or refusal is not None or (self.address_as_of is not None and as_of <= self.address_as_of):
                return False
            self.address_as_of = as_of
            self.updated_at = now
            return True
        if refusal is not None:
            raise refusal
        previous = self.fulfillment.address
        if self.placed_address is None:
            self.placed_address = previous
        self.fulfillment = replace(self.fulfillment, address=address)
        moment = as_of or now
        self.address_as_of = max(moment, self.address_as_of) if self.address_as_of else moment
        self.updated_at = now
        self.events.append(events.DeliveryAddressChanged(self, previous))
        return True

    def reprice(
        self, discounts: dict[str, Money], shipping_fee: Money, now: datetime, as_of: datetime | None = None
    ) -> bool:
        """The marketplace's price adjustment before payment: new line discounts (`discounts`, by SKU, every
        line once) and shipping fee. False if nothing changed.

        Only the reductions and shipping change: quantities need stock, and a line's unit_price is the listing's
        price it was placed at. `as_of` as for change_delivery_address: a reprice older than `prices_as_of` is
        moot whatever the state; the prices the order has with a later `as_of` only move `prices_as_of`.
        Refused (INVALID_ORDER_STATE) once anything is paid (a payment of the old total must not be taken for
        the new one) and for closed orders; PENDING is still being placed: ABORTED, retry."""
        as_of = _not_after(as_of, now)
        if as_of is not None and self.prices_as_of is not None and as_of < self.prices_as_of:
            return False
        self._check_prices(discounts, shipping_fee)
        wanted = PlacedPrices(
            shipping_fee.amount_minor, tuple(sorted((sku, d.amount_minor) for sku, d in discounts.items()))
        )
        refusal = self._why_the_prices_stay()
        if wanted == self.prices:
            if as_of is None or refusal is not None or (self.prices_as_of is not None and as_of <= self.prices_as_of):
                return False
            self.prices_as_of = as_of
            self.updated_at = now
            return True
        if refusal is not None:
            raise refusal
        previous = self.total
        if self.placed_prices is None:
            self.placed_prices = self.prices
        for line in self.lines:
            line.discount_minor = discounts[line.sku].amount_minor
        self.shipping_fee_minor = shipping_fee.amount_minor
        moment = as_of or now
        self.prices_as_of = max(moment, self.prices_as_of) if self.prices_as_of else moment
        self.updated_at = now
        self.events.append(events.OrderRepriced(self, previous))
        return True

    def _check_prices(self, discounts: dict[str, Money], shipping_fee: Money) -> None:
        v = Violations()
        skus = {ln.sku for ln in self.lines}
        if set(discounts) != skus:
            v.add("lines", f"must name each of the order's SKUs once: {', '.join(sorted(skus))}")
        for i, sku in enumerate(discounts):
            line = self.line(sku)
            d = discounts[sku]
            if line is None:
                continue
            if d.amount_minor and d.currency != self.currency:
                v.add(f"lines[{i}].discount.currency", f"must be {self.currency}, the order's currency")
            if not 0 <= d.amount_minor <= line.gross.amount_minor:
                v.add(
                    f"lines[{i}].discount.amount_minor",
                    f"must be between 0 and the line's price {line.gross.amount_minor}",
                )
        if shipping_fee.amount_minor and shipping_fee.currency != self.currency:
            v.add("shipping_fee.currency", f"must be {self.currency}, the order's currency")
        if shipping_fee.amount_minor < 0:
            v.add("shipping_fee.amount_minor", "must not be negative")
        v.raise_if_any()
        lines = sum(ln.gross.amount_minor - discounts[ln.sku].amount_minor for ln in self.lines)
        if lines + shipping_fee.amount_minor > MAX_AMOUNT_MINOR:  # as PlaceOrder holds it
            v.add("shipping_fee.amount_minor", f"makes the order total more than {MAX_AMOUNT_MINOR} minor units")
        v.raise_if_any()

    def _why_the_prices_stay(self) -> Exception | None:
        if self.status is OrderStatus.PENDING:
            return Conflict(f"order {self.id} is still being placed; retry")
        if self.status is not OrderStatus.RESERVED:
            why = "only an unpaid order is repriced" if self.status in PAID_STATES or self.deposit_minor else ""
            return _state_error(self, "reprice", why)
        return None

    def _why_the_address_stays(self) -> Exception | None:
        if self.status is OrderStatus.PENDING:
            return Conflict(f"order {self.id} is still being placed; retry")
        if self.is_pickup:
            return _state_error(self, "change the delivery address of", "a pickup order is collected at the shop")
        if any(f.has_left for f in self.fulfillments):
            return _state_error(self, "change the delivery address of", "part of it has shipped already")
        if not self.is_open:
            return _state_error(self, "change the delivery address of")
        return None

    def ship(
        self, fulfillment_id: str, tracking_no: str, now: datetime, *, commit: sr.CommitState = sr.CommitState.CONFIRMED
    ) -> bool:
        """`commit`: where inventory stands on this order's reservation commit (see `_left`); the caller reads
        it from the command outbox (StockRequestRepository.commit_state)."""
        fulfillment = self.fulfillment_by_id(fulfillment_id)
        if fulfillment.status is FulfillmentStatus.SHIPPED and fulfillment.tracking_no == tracking_no:
            return False
        if fulfillment.status is FulfillmentStatus.SHIPPED and not fulfillment.tracking_no:
            # Recorded without one from inventory's news (`record_left_in_inventory`: orders stopped after
            # inventory let the goods leave): the caller's retry of its shipment is answered as its first call
            # was, and the tracking number kept. Nothing more goes to inventory.
            fulfillment.tracking_no = tracking_no
            self.updated_at = now
            return True
        if self.is_pickup:
            raise _state_error(self, "ship", "pickup orders are handed over with ConfirmPickup")
        # The fulfillment's own state first: "already shipped" or "cancelled" says more than the order's status
        # (a fully shipped order is SHIPPED, a cancelled one CANCELLED), and it is what the contract promises.
        if fulfillment.status is not FulfillmentStatus.PENDING:
            raise FailedPrecondition(
                "INVALID_FULFILLMENT_STATE",
                f"fulfillment {fulfillment_id} is already {fulfillment.status.value}",
                {"order_id": self.id, "fulfillment_id": fulfillment_id, "status": fulfillment.status.value},
            )
        if self.status not in (OrderStatus.PAID, OrderStatus.FULFILLING):
            unpaid = self.status in (OrderStatus.RESERVED, OrderStatus.DEPOSIT_PAID)
            raise _state_error(self, "ship", "it must be paid in full first" if unpaid else "")
        fulfillment.tracking_no = tracking_no
        self._left(fulfillment, FulfillmentStatus.SHIPPED, now, commit)
        return True

    def confirm_pickup(
        self, fulfillment_id: str, now: datetime, *, commit: sr.CommitState = sr.CommitState.CONFIRMED
    ) -> bool:
        fulfillment = self.fulfillment_by_id(fulfillment_id)
        if fulfillment.status is FulfillmentStatus.PICKED_UP:
            return False
        if self.status is not OrderStatus.READY_FOR_PICKUP:
            if self.is_pickup and self.status is OrderStatus.PAID:
                self._check_nothing_waits(fulfillment)  # a paid pickup order is PAID only while goods are due
            why = "it is not a pickup order" if not self.is_pickup else "it must be paid first"
            if self.is_pickup and self.status is OrderStatus.CANCELLED:
                # Not "pay first": the counter would ask a customer who paid, and is owed a refund, to pay again.
                why = "it was cancelled: nothing is handed over, and what was paid is due back"
            elif self.is_pickup and self.status not in (OrderStatus.PENDING, OrderStatus.RESERVED, S.DEPOSIT_PAID):
                why = ""  # rejected, or already handed over: its status says which
            raise _state_error(self, "hand over", why)
        self._left(fulfillment, FulfillmentStatus.PICKED_UP, now, commit)
        return True

    def _left(self, fulfillment: Fulfillment, status: FulfillmentStatus, now: datetime, commit: sr.CommitState) -> None:
        """Record the fulfillment as left, with the FulfillReservation that tells inventory. The caller tells
        inventory before it commits this (handlers._leave): goods that left while inventory gave the units
        back to the pool (an operator's release) would be sold twice, and only inventory can say which came
        first."""
        # Until inventory confirmed the commit it may still refuse it (the TTL passed while it was unreachable)
        # and give the units back to the pool: goods that left meanwhile would be sold twice.
        if commit is sr.CommitState.PENDING:
            raise sr.CommitNotConfirmed(self.id, self.reservation_id)
        if commit is sr.CommitState.REFUSED:
            raise sr.stock_not_held(self.id, self.reservation_id, fulfillment.id)
        self._check_nothing_waits(fulfillment)
        self._record_left(fulfillment, status, now)
        self.stock_requests.append(
            sr.FulfillReservation(
                self.reservation_id,
                fulfillment.location_id,
                fulfillment.lines,
                # Inventory's idempotency key, so its first spelling stays: a retry sent across an upgrade
                # must carry the key of the first try, or the goods would leave twice.
                request_id=f"orders:fulfil:{fulfillment.id}",
            )
        )

    def _record_left(self, fulfillment: Fulfillment, status: FulfillmentStatus, now: datetime) -> None:
        everything_left = all(f.has_left or f is fulfillment for f in self.fulfillments)
        to = OrderStatus.SHIPPED if everything_left else OrderStatus.FULFILLING
        if to is self.status:  # another of several fulfillments left; still FULFILLING
            self.updated_at = now
        else:
            self._move(to, "ship", now)
        fulfillment.status = status
        fulfillment.shipped_at = now
        self._fix_return_window()
        self.events.append(events.FulfillmentShipped(self, fulfillment.id))

    def record_left_in_inventory(self, reservation_id: str, location_ids: frozenset[str], now: datetime) -> bool:
        """Inventory reports everything this order holds at `location_ids` left (inventory.reservation.fulfilled,
        or the allocations of a later release): a fulfillment there that orders has not recorded as left is
        recorded now, as shipped (no tracking number: a retried ShipFulfillment adds it) or handed over (a pickup
        order). That happens only when orders stopped between inventory letting the goods leave and its own
        commit, and the caller never retried: the order must not stay PAID with its stock gone. Nothing goes
        to inventory (it applied it). True if the order changed; a cancelled order is left to an operator."""
        if reservation_id != self.reservation_id or self.status not in (
            OrderStatus.PAID,
            OrderStatus.READY_FOR_PICKUP,
            OrderStatus.FULFILLING,
        ):
            return False
        left = [f for f in self.fulfillments if f.location_id in location_ids and f.status is FulfillmentStatus.PENDING]
        status = FulfillmentStatus.PICKED_UP if self.is_pickup else FulfillmentStatus.SHIPPED
        for fulfillment in left:
            self._record_left(fulfillment, status, now)
        return bool(left)

    def _check_nothing_waits(self, fulfillment: Fulfillment) -> None:
        waiting = [ln for ln in fulfillment.lines if (line := self.line(ln.sku)) is not None and line.awaiting > 0]
        if waiting:
            first = self.line(waiting[0].sku)
            assert first is not None
            raise FailedPrecondition(
                "AWAITING_STOCK",
                f"fulfillment {fulfillment.id} cannot leave: {first.awaiting} x {first.sku} still wait for goods "
                f"to arrive" + (f" (promised {first.promised_at.isoformat()})" if first.promised_at else ""),
                {"order_id": self.id, "fulfillment_id": fulfillment.id, "sku": first.sku},
            )

    def follow_stock(
        self,
        reservation_id: str,
        allocations: list[AllocatedStock],
        changed_at: datetime,
        now: datetime,
        reason: str = "",
        moved_skus: frozenset[str] | None = None,
    ) -> bool:
        """Inventory filled waiting units of this order's reservation, or moved their promise: the lines follow
        (idempotent: the same or older news changes nothing). Records OrderStockFilled when units arrived and
        PromiseMoved (for the customer) when a waiting line's date moved. True if anything changed.

        `moved_skus`: the lines `reason` moved. One inventory transaction may move lines for several reasons,
        one event each, every event carrying the reservation as the whole transaction left it; the other lines'
        dates are left to their own events (None: every line, as news without them says).

        Units only ever stop waiting (filled, or released with the whole reservation), so a line keeps the
        fewest waiting units any news showed, in whatever order news comes: two receipts filling different
        SKUs of one reservation at once (inventory's waiting line locks stock rows, not the reservation) each
        send the reservation with the other SKU still waiting, and taken whole, the one applied last put that
        line back to waiting for good (ShipFulfillment refused AWAITING_STOCK with no news to come).

        Dates follow each line's own allocations (`_is_current`): the same two transactions, one moving A's
        promise and one filling B, each send A as they read it, and the fill, stamped later, carried A's old
        date; ordered by updated_at, the promise move was dropped as older and A kept a date no receipt
        backed."""
        if reservation_id != self.reservation_id or self.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            return False
        stale = self.stock_seen_at is not None and changed_at < self.stock_seen_at
        if not stale:
            self.stock_seen_at = changed_at
        versions_before = dict(self.stock_versions)
        waiting = line_stock(allocations)
        moved: list[LinePromise] = []
        filled = False
        for line in self.lines:
            shown, promised_at = waiting.get(line.sku, (0, None))
            awaiting = min(shown, line.awaiting)
            told = moved_skus is None or line.sku in moved_skus
            current = self._is_current(line.sku, allocations, stale)
            if awaiting == 0:
                promised_at = None
            elif not current or not told or shown > awaiting:
                promised_at = line.promised_at
            if current and told:
                self._followed(line.sku, allocations)
            if awaiting < line.awaiting:
                filled = True
            if awaiting > 0 and promised_at != line.promised_at:
                moved.append(LinePromise(line.sku, awaiting, line.promised_at, promised_at))
                if self._breaks_promise(line.promised_at, promised_at):
                    self.promise_broken_at = self.promise_broken_at or now
            line.awaiting, line.promised_at = awaiting, promised_at
        if not filled and not moved:
            # Nothing to tell, but a newer version seen is kept (an older state delivered after it must not win).
            return self.stock_versions != versions_before
        if filled:
            # The last units arriving at the shop make a paid pickup order ready: OrderStockFilled says so.
            self._ready_for_pickup_if_all_there(now)
        self.updated_at = max(self.updated_at, now)
        if filled:
            self.events.append(events.StockFilled(self))
        if moved:
            self.events.append(events.PromiseMoved(self, tuple(moved), reason))
        return True

    def _breaks_promise(self, before: datetime | None, after: datetime | None) -> bool:
        """A date the customer holding a deposit was given moves later, or is gone (see `promise_broken_at`);
        a first date, or a sooner one, breaks nothing."""
        if self.status is not OrderStatus.DEPOSIT_PAID or before is None:
            return False
        return after is None or after > before

    def _is_current(self, sku: str, allocations: list[AllocatedStock], stale: bool) -> bool:
        """The news shows none of `sku`'s allocations older than the line followed (a version equal to the one
        followed is the same state). News without versions (0: published by an inventory that did not keep
        them yet, before or during its upgrade) is ordered by the reservation's updated_at, as it was
        (`stale`)."""
        for a in allocations:
            if a.sku != sku:
                continue
            if a.version == 0 and stale:
                return False
            if a.version and a.version < self.stock_versions.get((a.sku, a.location_id), 0):
                return False
        return True

    def _followed(self, sku: str, allocations: list[AllocatedStock]) -> None:
        for a in allocations:
            key = (a.sku, a.location_id)
            if a.sku == sku and a.version > self.stock_versions.get(key, 0):
                self.stock_versions[key] = a.version

    def complete(self, now: datetime) -> bool:
        if self.status is OrderStatus.COMPLETED:
            return False
        self._move(OrderStatus.COMPLETED, "complete", now)
        self.events.append(events.OrderCompleted(self))
        return True

    def return_items(
        self,
        return_id: str,
        request_id: str,
        lines: list[StockLine],
        location_id: str,
        reason: str,
        now: datetime,
        *,
        accept_after_window: bool = False,
    ) -> Return:
        """Goods come back to any location and are restocked there. The refund is the paid amount in
        proportion to the value returned so far (cumulatively, so rounding never drifts), and the last
        return refunds exactly what is left: refunds never exceed the payment. After `returnable_until` only
        with `accept_after_window` (an operator's quality claim; the caller checks who may)."""
        if self.status not in RETURNABLE_STATES:
            raise _state_error(self, "return items of", "nothing has been delivered yet")
        if self.window_closed(now) and not accept_after_window:
            assert self.returnable_until is not None
            raise FailedPrecondition(
                "RETURN_WINDOW_CLOSED",
                f"cannot return items of order {self.id}: its return window closed at "
                f"{self.returnable_until.isoformat()}",
                {"order_id": self.id, "returnable_until": self.returnable_until.isoformat()},
            )
        violations: list[FieldViolation] = []
        for i, ret in enumerate(lines):
            if self.line(ret.sku) is None:
                violations.append(FieldViolation(f"lines[{i}].sku", f"{ret.sku} is not in order {self.id}"))
        if violations:
            raise InvalidArgument(violations)
        for ret in lines:
            line = self.line(ret.sku)
            assert line is not None
            returnable = self.delivered(ret.sku) - line.returned
            if ret.quantity > returnable:
                raise FailedPrecondition(
                    "RETURN_EXCEEDS_DELIVERED",
                    f"cannot return {ret.quantity} x {ret.sku}: {returnable} delivered and not yet returned",
                    {"sku": ret.sku, "requested": str(ret.quantity), "available": str(returnable)},
                )
        assert self.refunded is not None
        for ret in lines:
            line = self.line(ret.sku)
            assert line is not None
            line.returned += ret.quantity
        refund = self._refund_due()
        self.refunded = self.refunded + refund
        order_return = Return(
            id=return_id,
            order_id=self.id,
            request_id=request_id,
            lines=tuple(lines),
            location_id=location_id,
            refund=refund,
            reason=reason,
            created_at=now,
        )
        self.updated_at = now
        self.new_returns.append(order_return)
        self.stock_requests.append(
            sr.RestockReturn(
                location_id,
                tuple(lines),
                request_id=f"orders:return:{return_id}",
                reference=self.id,
                reason=reason or "customer return",
            )
        )
        self.events.append(events.ItemsReturned(self, order_return))
        return order_return

    def refund_only(
        self,
        return_id: str,
        request_id: str,
        amount: Money,
        reason: str,
        now: datetime,
        *,
        accept_after_window: bool = False,
    ) -> Return:
        """Money back with no goods coming back (a marketplace's refund-only, a goodwill credit): recorded as a
        return of no goods, so every reader of returns handles it as one, and nothing is restocked. Refunds
        stay cumulative: `_refund_due` counts it, so a later return is due its goods' share of the payment
        minus everything refunded so far, the total never passes what was paid, and returning everything
        refunds exactly the rest. Only an order paid in full: a deposit alone (DEPOSIT_PAID) sells nothing yet,
        and its lapse decides the deposit by its rule. The window as for `return_items`."""
        if self.status not in PAID_STATES:
            raise _state_error(self, "refund", "it is not paid in full")
        if self.window_closed(now) and not accept_after_window:
            assert self.returnable_until is not None
            raise FailedPrecondition(
                "RETURN_WINDOW_CLOSED",
                f"cannot refund order {self.id}: its return window closed at {self.returnable_until.isoformat()}",
                {"order_id": self.id, "returnable_until": self.returnable_until.isoformat()},
            )
        if amount.currency != self.currency:
            raise InvalidArgument("amount.currency", f"must be the order's currency {self.currency}")
        assert self.paid is not None and self.refunded is not None
        left = self.paid.amount_minor - self.refunded.amount_minor
        if not 0 < amount.amount_minor <= left:
            raise InvalidArgument(
                "amount.amount_minor",
                f"must be more than 0 and at most {left}, what is still refundable"
                f" ({self.paid} paid, {self.refunded} refunded already)",
            )
        if amount.amount_minor == left and any(f.status is FulfillmentStatus.PENDING for f in self.fulfillments):
            # Money all back, goods still shipping: the order would be final (wholly refunded) and the goods
            # would still go out. Cancelling releases them and refunds what is left.
            raise _state_error(
                self, "refund everything of", "goods are still to leave: cancel the order instead (CancelOrder)"
            )
        self.refunded = self.refunded + amount
        refund = Return(
            id=return_id,
            order_id=self.id,
            request_id=request_id,
            lines=(),
            location_id="",
            refund=amount,
            reason=reason,
            created_at=now,
        )
        self.updated_at = now
        self.new_returns.append(refund)
        self.events.append(events.ItemsReturned(self, refund))
        return refund


@dataclass(frozen=True)
class PlacedPrices:
    """What a reprice changes: the shipping fee and each line's discount (sku, discount_minor), sorted."""

    shipping_fee_minor: int
    discounts: tuple[tuple[str, int], ...]


def _not_after(moment: datetime | None, now: datetime) -> datetime | None:
    """A sender's modification time, never later than now: a marketplace clock running ahead (or a forged
    time) would otherwise hold the address against every later timed change until that time came."""
    return None if moment is None else min(moment, now)
