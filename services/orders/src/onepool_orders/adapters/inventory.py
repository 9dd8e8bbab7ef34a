"""The inventory port over gRPC: a `service` token on every call (onepool_runtime.clients), a deadline on
every call, and inventory's status codes turned back into the runtime's domain errors (with the SKU,
requested and available of every shortage, read from the google.rpc details)."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_runtime import errors
from onepool_runtime.grpc_errors import peer_details
from onepool_runtime.protobuf import enum_maps, from_ts

from onepool_orders.domain.model import AllocatedStock
from onepool_orders.domain.stock_requests import StockLine
from onepool_orders.service_layer.ports import (
    ReservationInfo,
    ReservationState,
    ReserveStock,
    ReturnLocation,
    SourcingMode,
)

log = logging.getLogger(__name__)
R = TypeVar("R")

_STATES = enum_maps(pb.ReservationStatus, ReservationState).from_proto
_SHORTAGE = re.compile(r"requested (\d+), available (-?\d+)")
# Worth retrying: inventory is down, slow, busy, or failed on its side (nothing the caller sent is wrong).
_TRANSIENT = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
}


def domain_error(error: grpc.aio.AioRpcError) -> errors.DomainError:
    """Inventory's answer as the domain error it stands for."""
    code, text = error.code(), error.details() or ""
    details = peer_details(error)
    if code in _TRANSIENT:
        return errors.Unavailable(f"inventory unavailable: {code.name}: {text}")
    if code == grpc.StatusCode.ABORTED:
        return errors.Conflict(f"inventory: {text}")
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        shortages = [
            errors.Shortage(v.subject, int(m.group(1)), max(0, int(m.group(2))))
            for d in details
            if isinstance(d, error_details_pb2.PreconditionFailure)
            for v in d.violations
            if v.type == "STOCK" and (m := _SHORTAGE.search(v.description))
        ]
        if shortages:
            return errors.InsufficientStock(shortages)
        info = next((d for d in details if isinstance(d, error_details_pb2.ErrorInfo)), None)
        return errors.FailedPrecondition(
            info.reason if info else "INVENTORY_REFUSED", text, dict(info.metadata) if info else {}
        )
    if code == grpc.StatusCode.NOT_FOUND:
        resource = next((d for d in details if isinstance(d, error_details_pb2.ResourceInfo)), None)
        return errors.NotFound(
            resource.resource_type if resource else "resource", resource.resource_name if resource else text
        )
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = [
            errors.FieldViolation(v.field, v.description)
            for d in details
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        ]
        return errors.InvalidArgument(violations or [errors.FieldViolation("request", text)])
    # UNAUTHENTICATED / PERMISSION_DENIED: our own credentials or configuration, never the caller's doing.
    log.error("inventory refused the orders service: %s %s", code.name, text)
    return errors.Unavailable(f"inventory refused the orders service ({code.name}); check its configuration")


def allocated_stock(a: pb.Allocation) -> AllocatedStock:
    """One allocation as the order sees it: with the units still waiting for goods, their promised date and the
    version of that state."""
    promised = from_ts(a.promised_at) if a.awaiting_quantity > 0 and a.HasField("promised_at") else None
    return AllocatedStock(
        a.sku, a.location_id, a.quantity, a.location_owner_dealer_id, max(0, a.awaiting_quantity), promised, a.version
    )


def left_at(reservation: pb.Reservation) -> frozenset[str]:
    """The locations everything of the reservation held at has left (an order has one fulfillment per location,
    and orders lets it leave whole)."""
    open_at = {a.location_id for a in reservation.allocations if a.fulfilled_quantity < a.quantity}
    return frozenset(a.location_id for a in reservation.allocations if a.location_id not in open_at)


def _reservation(r: pb.Reservation) -> ReservationInfo:
    return ReservationInfo(
        id=r.id,
        state=_STATES.get(r.status, ReservationState.RELEASED),
        allocations=tuple(allocated_stock(a) for a in r.allocations),
        expires_at=from_ts(r.expires_at) if r.HasField("expires_at") else None,
        left_at=left_at(r),
    )


def _lines(lines: tuple[StockLine, ...]) -> list[pb.StockLine]:
    return [pb.StockLine(sku=ln.sku, quantity=ln.quantity) for ln in lines]


class GrpcInventory:
    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float) -> None:
        self._stub = inventory_pb2_grpc.InventoryServiceStub(channel)
        self._timeout = timeout_seconds

    async def _call(self, method: Callable[..., Awaitable[R]], request: Any) -> R:
        try:
            return await method(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc) from exc

    async def reserve(self, request: ReserveStock) -> ReservationInfo:
        reply = await self._call(
            self._stub.Reserve,
            pb.ReserveRequest(
                request_id=request.request_id,
                order_id=request.order_id,
                channel_id=request.channel_id,
                lines=[pb.ReserveLine(sku=ln.sku, quantity=ln.quantity) for ln in request.lines],
                hint=pb.SourcingHint(
                    mode=pb.SOURCING_MODE_PICKUP if request.mode is SourcingMode.PICKUP else pb.SOURCING_MODE_SHIP,
                    region=request.region,
                    pickup_location_id=request.pickup_location_id,
                    allow_split=request.allow_split,
                    deliver_from_dealer_id=request.deliver_from_dealer_id,
                ),
                ttl_seconds=request.ttl_seconds,
                accept_awaiting_stock=request.accept_awaiting_stock,
            ),
        )
        return _reservation(reply.reservation)

    async def reservation(self, reservation_id: str) -> ReservationInfo:
        reply = await self._call(self._stub.GetReservation, pb.GetReservationRequest(reservation_id=reservation_id))
        return _reservation(reply.reservation)

    async def commit(self, reservation_id: str) -> None:
        await self._call(self._stub.CommitReservation, pb.CommitReservationRequest(reservation_id=reservation_id))

    async def release(self, reservation_id: str, reason: str) -> ReservationInfo:
        reply = await self._call(
            self._stub.ReleaseReservation,
            pb.ReleaseReservationRequest(reservation_id=reservation_id, reason=reason[:500]),
        )
        return _reservation(reply.reservation)

    async def fulfill(
        self, reservation_id: str, location_id: str, lines: tuple[StockLine, ...], request_id: str
    ) -> None:
        await self._call(
            self._stub.FulfillReservation,
            pb.FulfillReservationRequest(
                reservation_id=reservation_id, location_id=location_id, lines=_lines(lines), request_id=request_id
            ),
        )

    async def restock(
        self, location_id: str, lines: tuple[StockLine, ...], request_id: str, reference: str, reason: str
    ) -> None:
        await self._call(
            self._stub.ReceiveStock,
            pb.ReceiveStockRequest(
                request_id=request_id,
                location_id=location_id,
                lines=_lines(lines),
                reason=reason[:500],
                kind=pb.MOVEMENT_KIND_RETURN,
                reference=reference[:128],
            ),
        )

    async def unknown_skus(self, skus: list[str]) -> list[str]:
        if not skus:
            return []
        reply = await self._call(self._stub.GetAvailability, pb.GetAvailabilityRequest(skus=skus))
        stocked = {item.sku for item in reply.items if item.by_location}
        return [sku for sku in skus if sku not in stocked]

    async def receiving_location(self, location_id: str) -> ReturnLocation | None:
        reply = await self._call(self._stub.ListLocations, pb.ListLocationsRequest(location_ids=[location_id]))
        found = next((loc for loc in reply.locations if loc.id == location_id and not loc.disabled), None)
        return ReturnLocation(found.id, found.owner_dealer_id) if found is not None else None
