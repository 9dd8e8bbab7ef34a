"""The orders service, as the channels service uses it: place an imported order, find it again, pay what is
due on it, reprice it when the marketplace adjusted its price before payment, move it to the buyer's new
address, and cancel it when the marketplace closed it.

Its refusals are turned back into domain errors here (one place), so the caller of ImportOrder gets the
same status code and field violations the orders service gave, and never INTERNAL for what it sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import grpc
from google.rpc import error_details_pb2
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import orders_pb2, orders_pb2_grpc
from onepool_kernel.intake import PlaceOrder
from onepool_runtime import errors
from onepool_runtime.grpc_errors import peer_details
from onepool_runtime.mapping import to_message
from onepool_runtime.protobuf import FULFILLMENT_MODES, ts

from onepool_channels.domain.imports import OrdersRefusedListings

# orders' refusal of a command its order is past (the reason is part of orders' error contract): a payment it
# cannot take, an address it can no longer change.
_ORDER_IS_PAST_IT = "INVALID_ORDER_STATE"
# orders' refusal of an order on its copy of the channel's listings alone (PlaceOrder's channel terms): not
# listed, inactive, not at the listing's price.
_LISTING_TERMS = "LISTING_TERMS"
# A line's field in orders' refusal, as `_details` prefixes it; a price it does not list is `unit_price.amount_minor`.
_LINE_FIELD = re.compile(r"order\.lines\[(\d+)\]\.(.+)")
_LISTING_PRICE = "unit_price.amount_minor"


def place_order_request(order: PlaceOrder) -> orders_pb2.PlaceOrderRequest:
    return to_message(
        orders_pb2.PlaceOrderRequest,
        order,
        customer=to_message(orders_pb2.Customer, order.customer),
        lines=[to_message(orders_pb2.OrderLine, line) for line in order.lines],
        fulfillment=to_message(
            orders_pb2.FulfillmentPreference, order.fulfillment, mode=FULFILLMENT_MODES[order.fulfillment.mode]
        ),
    )


@dataclass
class _Details:
    violations: list[errors.FieldViolation] = field(default_factory=list)
    info: error_details_pb2.ErrorInfo | None = None
    resource: error_details_pb2.ResourceInfo | None = None


def _details(error: grpc.aio.AioRpcError) -> _Details:
    out = _Details()
    for detail in peer_details(error):
        if isinstance(detail, error_details_pb2.BadRequest):
            out.violations.extend(
                errors.FieldViolation(f"order.{v.field}", v.description) for v in detail.field_violations
            )
        elif isinstance(detail, error_details_pb2.ErrorInfo):
            out.info = detail
        elif isinstance(detail, error_details_pb2.ResourceInfo):
            out.resource = detail
    return out


def to_domain_error(error: grpc.aio.AioRpcError) -> Exception:
    return _domain_error(error, _details(error))


def _domain_error(error: grpc.aio.AioRpcError, found: _Details) -> Exception:
    code, message = error.code(), error.details() or ""
    violations, info = found.violations, found.info
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidArgument(violations or [errors.FieldViolation("order", message)])
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return errors.FailedPrecondition(
            info.reason if info else "ORDER_REFUSED", message, dict(info.metadata) if info else {}
        )
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS):
        kind = found.resource.resource_type if found.resource else ""
        ident = found.resource.resource_name if found.resource else ""
        exc: errors.NotFound | errors.AlreadyExists
        if code == grpc.StatusCode.NOT_FOUND:
            exc = errors.NotFound(kind or "resource", ident or message)
        else:
            description = found.resource.description if found.resource else ""
            # ErrorInfo (PlaceOrder's ORDER_DIFFERS: the order it is and what differs) goes on to the importer.
            exc = errors.AlreadyExists(
                kind or "resource",
                ident or message,
                description=description,
                reason=info.reason if info else "",
                metadata=dict(info.metadata) if info else None,
            )
        exc.message = message or exc.message
        return exc
    if code == grpc.StatusCode.ABORTED:
        return errors.Conflict(f"orders: {message}")
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED):
        return errors.Unavailable(f"the orders service is unavailable ({code.name}); retry the import")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        # A rollout with orders pods of the release before (RepriceOrder is newer): the import is to be retried
        # once they are replaced, not failed as INTERNAL.
        return errors.Unavailable(f"the orders service does not offer this yet ({message}); retry the import")
    # UNAUTHENTICATED / PERMISSION_DENIED / INTERNAL from orders are our fault, not the caller's.
    return RuntimeError(f"orders.PlaceOrder failed: {code.name}: {message}")


class OrdersGateway:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = orders_pb2_grpc.OrderServiceStub(channel)
        self._timeout = timeout_seconds

    async def place_order(self, order: PlaceOrder) -> orders_pb2.Order:
        try:
            reply = await self._stub.PlaceOrder(place_order_request(order), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise place_order_error(exc, order) from exc
        return reply.order

    async def placed(self, channel_id: str, external_order_id: str) -> orders_pb2.Order | None:
        """The order placed under this channel order number, if any."""
        try:
            reply = await self._stub.ListOrders(
                orders_pb2.ListOrdersRequest(channel_id=channel_id, external_order_id=external_order_id, page_size=1),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # orders has not heard of the channel: nothing placed
                return None
            raise to_domain_error(exc) from exc
        return reply.orders[0] if reply.orders else None

    async def pay_what_is_due(self, order: orders_pb2.Order, payment_ref: str) -> orders_pb2.Order:
        """Record the marketplace's payment: the whole total, or, once a deposit was recorded (the connector's
        PayOrder DEPOSIT, the marketplace's 定金), the balance that is left. The payload's `payment_ref` keys
        it, so a retried import pays once (orders answers the same reference and amount with the order).

        Whether the order can take it is orders' decision, read from its answer and the order's amounts, never
        from its statuses: a refusal INVALID_ORDER_STATE (a re-import of a paid, shipped, cancelled or rejected
        order) answers the order as it is now, unless it shows a deposit recorded since it was read, whose
        balance is then paid instead (once). Any other refusal is the import's answer (BALANCE_OVERDUE,
        RESERVATION_EXPIRED, ...): the marketplace collected the money, so a payment orders did not take must
        not look recorded."""
        try:
            return await self._pay(order, payment_ref)
        except errors.FailedPrecondition as refused:
            if refused.reason != _ORDER_IS_PAST_IT:
                raise
            current = await self._get(order.id)
            if _balance_due(current) and not _balance_due(order):
                return await self._pay(current, payment_ref)
            return current

    async def _pay(self, order: orders_pb2.Order, payment_ref: str) -> orders_pb2.Order:
        request = orders_pb2.PayOrderRequest(order_id=order.id, payment_ref=payment_ref, amount=order.total)
        if _balance_due(order):
            # What orders takes as the balance: total less the deposit, both as the order carries them.
            balance = order.total.amount_minor - order.deposit.amount_minor
            request.kind = orders_pb2.PAYMENT_KIND_BALANCE
            request.amount.CopyFrom(common_pb2.Money(currency=order.total.currency, amount_minor=balance))
        try:
            reply = await self._stub.PayOrder(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise to_domain_error(exc) from exc
        return reply.order

    async def _get(self, order_id: str) -> orders_pb2.Order:
        try:
            reply = await self._stub.GetOrder(orders_pb2.GetOrderRequest(order_id=order_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise to_domain_error(exc) from exc
        return reply.order

    async def deliver_to_if_unshipped(
        self, order: orders_pb2.Order, address: str, request_id: str, as_of: datetime | None = None
    ) -> orders_pb2.Order:
        """Move the order to the buyer's new address, as of `as_of` (the payload's modification time; None: now).
        Whether it still can is orders' decision, not a reading of its statuses here: once something of it has
        shipped, or it is a pickup or closed order, orders refuses with INVALID_ORDER_STATE and the order is
        returned as it is; a change older than the order's address is answered with the order as it is.
        `request_id` makes a retry one change."""
        request = orders_pb2.ChangeDeliveryAddressRequest(
            request_id=request_id, order_id=order.id, address=address, as_of=ts(as_of)
        )
        try:
            reply = await self._stub.ChangeDeliveryAddress(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            error = to_domain_error(exc)
            if isinstance(error, errors.FailedPrecondition) and error.reason == _ORDER_IS_PAST_IT:
                return order
            raise error from exc
        return reply.order

    async def reprice_unpaid(
        self,
        order: orders_pb2.Order,
        discounts: Mapping[str, int],
        shipping_fee_minor: int,
        request_id: str,
        as_of: datetime | None = None,
    ) -> orders_pb2.Order | None:
        """Give the unpaid order the marketplace's adjusted prices (orders' RepriceOrder: each line's discount by
        SKU, and the shipping fee), as of `as_of` (the payload's modification time; None: now). Orders decides
        whether it still can: None when it refuses INVALID_ORDER_STATE (something is paid, or it is closed),
        for the caller to refuse the import; a reprice older than the order's prices is answered with the order
        as it is. `request_id` makes a retry one change; ABORTED (still being placed) passes on as Conflict."""
        currency = order.total.currency
        request = orders_pb2.RepriceOrderRequest(
            request_id=request_id,
            order_id=order.id,
            lines=[
                orders_pb2.RepriceLine(sku=sku, discount=common_pb2.Money(currency=currency, amount_minor=discount))
                for sku, discount in sorted(discounts.items())
            ],
            shipping_fee=common_pb2.Money(currency=currency, amount_minor=shipping_fee_minor),
            as_of=ts(as_of),
        )
        try:
            reply = await self._stub.RepriceOrder(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            error = to_domain_error(exc)
            if isinstance(error, errors.FailedPrecondition) and error.reason == _ORDER_IS_PAST_IT:
                return None
            raise error from exc
        return reply.order

    async def cancel_unless_gone(self, order: orders_pb2.Order, reason: str) -> orders_pb2.Order:
        """Cancel the order the marketplace closed (orders' CancelOrder: its reservation released, a payment due
        back by orders' rules; of an order part of which left, the rest). Cancelling a cancelled order returns
        it, so a re-sent closed trade cancels once. Once all of it has left (or it was completed or rejected)
        orders refuses INVALID_ORDER_STATE and the order is answered as it is now: the goods come back, if at
        all, as a return the connector records with ReturnItems where they arrive."""
        try:
            reply = await self._stub.CancelOrder(
                orders_pb2.CancelOrderRequest(order_id=order.id, reason=reason), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            error = to_domain_error(exc)
            if isinstance(error, errors.FailedPrecondition) and error.reason == _ORDER_IS_PAST_IT:
                return await self._get(order.id)
            raise error from exc
        return reply.order


def place_order_error(exc: grpc.aio.AioRpcError, order: PlaceOrder) -> Exception:
    """Orders' refusal of PlaceOrder(`order`) as a domain error: OrdersRefusedListings when it refused the order
    on its copy of the channel's listings alone (the caller tells whether that copy lags), else `to_domain_error`.

    Orders says so with ErrorInfo LISTING_TERMS; the field paths alone cannot, since it refuses `lines[i].sku`
    for a malformed or repeated SKU too. An orders from before that reason (a rolling upgrade) is still read
    for the one case its paths do tell: nothing refused but lines' prices."""
    found = _details(exc)
    error = _domain_error(exc, found)
    if not isinstance(error, errors.InvalidArgument) or not error.violations:
        return error
    lines = [_LINE_FIELD.fullmatch(v.field) for v in error.violations]
    refused = [int(m.group(1)) for m in lines if m is not None and int(m.group(1)) < len(order.lines)]
    if found.info is None or found.info.reason != _LISTING_TERMS:
        prices_alone = all(m is not None and m.group(2) == _LISTING_PRICE for m in lines)
        if not prices_alone or len(refused) < len(lines):
            return error
    return OrdersRefusedListings(error, tuple(dict.fromkeys(order.lines[i].sku for i in refused)))


def _balance_due(order: orders_pb2.Order) -> bool:
    """A deposit was recorded and the rest is not paid yet (the order's amounts, not its status)."""
    return order.deposit.amount_minor > 0 and order.paid.amount_minor < order.total.amount_minor
