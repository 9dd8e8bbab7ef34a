"""What the caller's token lets it see and do to an order (the scoping half of authorization; the role table
is policies.py). Scope comes from the verified token only, never from the request body.

- admin, service: everything.
- channel: orders of its own channel (place, read, pay, cancel, change the delivery address, reprice, complete,
  return, refund without goods).
- dealer: orders it sells (dealer_id) and orders fulfilled at its locations (read); it pays, cancels, reprices,
  changes the delivery address of, refunds and completes the orders it sells, and ships / hands over the
  fulfillments at its own locations.
- store: orders with a fulfillment at its location (read, ship, hand over), and returns received at its
  location (a return may come back to any shop).
- dealer, for returns: like a store, at its own locations only (any of them; a return may come back to any
  shop, so the order need not be the dealer's), never at the brand's or another dealer's.

Whose sale an order is (its dealer_id) is decided here from who may act, never taken from the request:
- an order on a DEALER channel belongs to that channel's dealer, whoever places it; naming another dealer
  is PERMISSION_DENIED;
- a dealer token may place orders only on its own dealer's channel, and need not name itself;
- on the brand's own channels, a channel token binds no dealer, so naming one is PERMISSION_DENIED; admin and
  service callers may name a dealer (the brand attributing a sale to the dealer who delivers it: a
  DEALER_DELIVERY order, or a back-office order taken for a dealer).
A refused placement writes nothing: no order, no reservation, no event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from onepool_kernel.roles import CHANNEL, DEALER, STORE
from onepool_runtime.auth import Principal, current_principal
from onepool_runtime.errors import NotFound, PermissionDenied

from onepool_orders.domain import commands
from onepool_orders.domain.channels import SalesChannel
from onepool_orders.domain.model import Order
from onepool_orders.service_layer.ports import ReturnLocation

Guard = Callable[[Order], None]


def _visible(p: Principal, order: Order) -> bool:
    if p.is_privileged:
        return True
    if p.role == CHANNEL:
        return order.channel_id == p.channel_id
    if p.role == DEALER:
        return order.dealer_id == p.dealer_id or any(f.owner_dealer_id == p.dealer_id for f in order.fulfillments)
    if p.role == STORE:
        return any(f.location_id == p.location_id for f in order.fulfillments) or (
            order.fulfillment.pickup_location_id == p.location_id
        )
    return False


def _allow(order: Order) -> None:
    pass


def _deny(what: str) -> PermissionDenied:
    return PermissionDenied(f"this token may not {what} this order")


class OrderScope:
    def __init__(self, principal: Callable[[], Principal] = current_principal) -> None:
        self._principal = principal

    def place(self, cmd: commands.PlaceOrder, channel: SalesChannel | None) -> commands.PlaceOrder:
        """The command to place, with its dealer decided (see the module docstring); `channel` is orders'
        copy of cmd.channel_id, None if orders has not heard of it."""
        p = self._principal()
        if p.role == CHANNEL and p.channel_id != cmd.channel_id:
            raise PermissionDenied("channel tokens may only place orders on their own channel")
        if p.role == DEALER and (channel is None or channel.bound_dealer != p.dealer_id):
            # An unknown channel looks the same as another dealer's, as in the channels service.
            raise PermissionDenied("dealer tokens may only place orders on their own dealer's channel")
        if channel is None:
            raise NotFound("channel", cmd.channel_id)
        if channel.bound_dealer:
            if cmd.dealer_id and cmd.dealer_id != channel.bound_dealer:
                raise PermissionDenied(f"orders on channel {channel.id} are its dealer's; they cannot name another")
            return replace(cmd, dealer_id=channel.bound_dealer)
        if cmd.dealer_id and not p.is_privileged:
            raise PermissionDenied(f"channel {channel.id} belongs to no dealer; this token may not name one")
        return cmd

    def list(self, query: commands.ListOrders) -> commands.ListOrders:
        """Force the caller's own filter onto the query; asking for someone else's is refused."""
        p = self._principal()
        forced = {
            CHANNEL: ("channel_id", p.channel_id),
            DEALER: ("dealer_id", p.dealer_id),
            STORE: ("location_id", p.location_id),
        }.get(p.role)
        if forced is None:
            return query
        field, own = forced
        asked = getattr(query, field)
        if asked and asked != own:
            raise PermissionDenied(f"{p.role} tokens may only list their own orders ({field} {own})")
        return replace(query, **{field: own})  # type: ignore[arg-type]  # field is one of three str fields

    def may_read(self, order: Order) -> bool:
        """Whether GetOrder would show the caller this order: answers that carry it (a return received at a
        shop for an order sold and fulfilled elsewhere) leave it out otherwise, so no customer data leaks."""
        return _visible(self._principal(), order)

    def read(self) -> Guard:
        p = self._principal()

        def guard(order: Order) -> None:
            if not _visible(p, order):
                raise _deny("read")

        return guard

    def manage(self) -> Guard:
        """Pay, cancel, reprice, change the delivery address, complete: the selling side (the channel, or the dealer
        whose sale it is)."""
        p = self._principal()

        def guard(order: Order) -> None:
            if p.is_privileged:
                return
            if p.role == CHANNEL and order.channel_id == p.channel_id:
                return
            if p.role == DEALER and order.dealer_id == p.dealer_id:
                return
            raise _deny("change")

        return guard

    def refund(self, *, accept_after_window: bool = False) -> Guard:
        """Money back without goods: the selling side (`manage`), never a store or a dealer's shop as such: a
        counter takes goods back, it does not pay money out without them. Late, only the brand's operators,
        as for a return (`receive_return`)."""
        p = self._principal()
        if accept_after_window and not p.is_privileged:
            raise PermissionDenied("only the brand's operators may refund after the order's return window")
        return self.manage()

    def fulfill(self, fulfillment_id: str) -> Guard:
        """Ship / hand over: the location the fulfillment is at (its store, or its owning dealer)."""
        p = self._principal()

        def guard(order: Order) -> None:
            if p.is_privileged:
                return
            fulfillment = order.fulfillment_by_id(fulfillment_id)  # NOT_FOUND before PERMISSION_DENIED
            if p.role == STORE and fulfillment.location_id == p.location_id:
                return
            if p.role == DEALER and fulfillment.owner_dealer_id and fulfillment.owner_dealer_id == p.dealer_id:
                return
            raise _deny("fulfill")

        return guard

    def receives_at(self) -> Callable[[ReturnLocation], Guard]:
        """Where the caller may receive a return, once inventory has said whose location it is: refused at
        once, or a guard on the order. Goods received at a dealer's location become that dealer's stock and
        debit it at its wholesale price, so a channel's connector may name such a location only when the
        order is that dealer's (its own channel's) or was fulfilled from there; anywhere else needs the
        dealer's or its store's token. A dealer (or its store) receives the brand's orders and its own, never
        another dealer's: that would refund that dealer's sale and move its money, and a dealer changes only
        its own dealer's data."""
        p = self._principal()

        def check(location: ReturnLocation) -> Guard:
            if p.role == DEALER and location.owner_dealer_id != p.dealer_id:
                raise PermissionDenied("dealer tokens may only receive returns at their own locations")
            if p.role in (DEALER, STORE) and location.owner_dealer_id:
                return _brands_or_own_orders(location.owner_dealer_id)
            if p.role != CHANNEL or not location.owner_dealer_id:
                return _allow

            def dealers_own_goods(order: Order) -> None:
                if order.dealer_id == location.owner_dealer_id:
                    return
                if any(f.location_id == location.id for f in order.fulfillments):
                    return
                raise PermissionDenied(
                    "channel tokens may receive returns at the brand's locations, or at a dealer's location"
                    " only for that dealer's orders or where the order was fulfilled from"
                )

            return dealers_own_goods

        return check

    def receive_return(self, return_location_id: str, *, accept_after_window: bool = False) -> Guard:
        p = self._principal()
        if accept_after_window and not p.is_privileged:
            # A late return refunds income the seller's credit and payouts already count: the brand decides it.
            raise PermissionDenied("only the brand's operators may accept a return after the order's return window")
        if p.role == STORE and return_location_id != p.location_id:
            raise PermissionDenied("store tokens may only receive returns at their own location")

        def guard(order: Order) -> None:
            if p.role == CHANNEL and order.channel_id != p.channel_id:
                raise _deny("return items of")

        return guard


def _brands_or_own_orders(dealer_id: str) -> Guard:
    def guard(order: Order) -> None:
        if order.dealer_id and order.dealer_id != dealer_id:
            raise PermissionDenied("a dealer's locations may receive returns of the brand's orders or its own only")

    return guard
