"""gRPC adapters for the ports dealers needs (service_layer/ports.py): the channels and inventory services.

A peer's refusal comes back as the same domain error (with its field violations, reason and metadata), so
a dealer calling through dealers sees what inventory or channels said; a peer that cannot be reached or
answers with a server-side error is `Unavailable` (safe to retry, every call here is idempotent).
"""

from __future__ import annotations

from datetime import datetime

import grpc
from google.rpc import error_details_pb2
from onepool.channels.v1 import channels_pb2 as ch
from onepool.channels.v1 import channels_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_runtime import errors
from onepool_runtime.grpc_errors import peer_details
from onepool_runtime.protobuf import ts

from onepool_dealers.adapters import mappers
from onepool_dealers.domain.model import Dealer, DealerStatus, Location, LocationType, StockLine
from onepool_dealers.service_layer.ports import OpenReceipt

# A dealer channel sells from the brand's pool (warehouses and brand stores) plus the dealer's own
# locations; inventory sources its orders from the dealer's own locations first (owner_dealer_id).
BRAND_POOL = [inv.LOCATION_TYPE_WAREHOUSE, inv.LOCATION_TYPE_STORE]
# A suspended dealer's channel stops selling.
CHANNEL_STATUS = {DealerStatus.ACTIVE: ch.CHANNEL_STATUS_ACTIVE, DealerStatus.SUSPENDED: ch.CHANNEL_STATUS_PAUSED}
# The most location ids inventory's ListLocations takes in one request.
LOCATION_IDS_PER_CALL = 500


def channel_request_id(dealer_id: str) -> str:
    return f"dealer-channel:{dealer_id}"


def channel_code(dealer_id: str) -> str:
    return f"dealer-{dealer_id}"


def domain_error(exc: grpc.aio.AioRpcError, peer: str, field_prefix: str = "") -> errors.DomainError:
    """Translate a peer's status into the domain error the runtime maps back to the same status."""
    code, message = exc.code(), exc.details() or ""
    details = peer_details(exc)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = [
            errors.FieldViolation(field_prefix + v.field, v.description)
            for d in details
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        ]
        return errors.InvalidArgument(violations or [errors.FieldViolation("request", f"{peer}: {message}")])
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        info = next((d for d in details if isinstance(d, error_details_pb2.ErrorInfo)), None)
        return errors.FailedPrecondition(
            info.reason if info else "FAILED_PRECONDITION", message, dict(info.metadata) if info else {}
        )
    if code == grpc.StatusCode.NOT_FOUND:
        res = next((d for d in details if isinstance(d, error_details_pb2.ResourceInfo)), None)
        return errors.NotFound(res.resource_type if res else peer, res.resource_name if res else message)
    if code == grpc.StatusCode.ALREADY_EXISTS:
        res = next((d for d in details if isinstance(d, error_details_pb2.ResourceInfo)), None)
        if res is None:
            return errors.AlreadyExists(peer, message)
        return errors.AlreadyExists(res.resource_type, res.resource_name, description=res.description)
    if code == grpc.StatusCode.ABORTED:
        return errors.Conflict(f"{peer}: {message}")
    # UNAVAILABLE, DEADLINE_EXCEEDED, and anything that is not the caller's fault (including our own
    # credentials being refused: an operator must fix the deployment, the request itself was fine).
    return errors.Unavailable(f"{peer} failed: {code.name} {message}".strip())


class ChannelsGateway:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = channels_pb2_grpc.ChannelServiceStub(channel)
        self._timeout = timeout

    async def create_dealer_channel(self, dealer: Dealer) -> str:
        request = ch.CreateChannelRequest(
            request_id=channel_request_id(dealer.id),
            code=channel_code(dealer.id),
            name=dealer.name,
            type=ch.CHANNEL_TYPE_DEALER,
            owner_dealer_id=dealer.id,
            fee_rate_bps=0,
            allocation=ch.AllocationPolicy(location_types=BRAND_POOL),
            currency=dealer.currency,
            # A dealer sells the brand's whole range from its portal, not a synced storefront catalogue.
            catalogue=ch.CATALOGUE_POOL,
        )
        try:
            return (await self._stub.CreateChannel(request, timeout=self._timeout)).channel.id
        except grpc.aio.AioRpcError as exc:
            error = domain_error(exc, "channels")
            # Created before under the same code (an earlier attempt with other details): it is ours.
            if isinstance(error, errors.AlreadyExists | errors.InvalidArgument):
                found = await self._find(dealer.id)
                if found:
                    return found
            raise error from exc

    async def _find(self, dealer_id: str) -> str:
        try:
            reply = await self._stub.ListChannels(
                ch.ListChannelsRequest(type=ch.CHANNEL_TYPE_DEALER, owner_dealer_id=dealer_id), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "channels") from exc
        for channel in reply.channels:
            if channel.owner_dealer_id == dealer_id and channel.code == channel_code(dealer_id):
                return channel.id
        return ""

    async def update_dealer_channel(self, channel_id: str, dealer: Dealer) -> None:
        request = ch.UpdateChannelRequest(
            channel=ch.Channel(
                id=channel_id,
                name=dealer.name,
                allocation=ch.AllocationPolicy(location_types=BRAND_POOL, location_ids=sorted(dealer.location_ids)),
                status=CHANNEL_STATUS[dealer.status],
            ),
        )
        # Only the locations follow the dealer; the rest of the policy (share, buffer, own-stock rule) is the
        # brand's choice per channel and is left as set.
        request.update_mask.paths.extend(["name", "allocation.location_types", "allocation.location_ids", "status"])
        try:
            await self._stub.UpdateChannel(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "channels") from exc


class InventoryGateway:
    def __init__(self, channel: grpc.aio.Channel, timeout: float) -> None:
        self._stub = inventory_pb2_grpc.InventoryServiceStub(channel)
        self._timeout = timeout

    async def upsert_location(self, location: Location) -> Location:
        try:
            reply = await self._stub.UpsertLocation(
                inv.UpsertLocationRequest(location=mappers.location_to_proto(location)), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc
        stored = mappers.location_from_proto(reply.location)
        assert stored is not None
        return stored

    async def find_brand_warehouse(self, location_id: str) -> Location | None:
        try:
            reply = await self._stub.ListLocations(
                inv.ListLocationsRequest(type=inv.LOCATION_TYPE_WAREHOUSE, location_ids=[location_id]),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc
        for loc in reply.locations:
            if loc.id == location_id:
                found = mappers.location_from_proto(loc)
                if found is not None and found.type is LocationType.WAREHOUSE:
                    return found
        return None

    async def find_locations(self, location_ids: list[str]) -> list[Location]:
        found: list[Location] = []
        wanted = sorted(set(location_ids))
        for start in range(0, len(wanted), LOCATION_IDS_PER_CALL):
            request = inv.ListLocationsRequest(location_ids=wanted[start : start + LOCATION_IDS_PER_CALL])
            try:
                reply = await self._stub.ListLocations(request, timeout=self._timeout)
            except grpc.aio.AioRpcError as exc:
                raise domain_error(exc, "inventory") from exc
            found += [loc for loc in map(mappers.location_from_proto, reply.locations) if loc is not None]
        return found

    async def transfer(
        self, *, request_id: str, from_location_id: str, to_location_id: str, lines: list[StockLine], reference: str
    ) -> str:
        request = inv.TransferStockRequest(
            request_id=request_id,
            from_location_id=from_location_id,
            to_location_id=to_location_id,
            lines=[inv.StockLine(sku=ln.sku, quantity=ln.quantity) for ln in lines],
            reason="dealer replenishment",
            reference=reference,
        )
        try:
            return (await self._stub.TransferStock(request, timeout=self._timeout)).transfer.id
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc

    async def receive_transfer(self, transfer_id: str) -> None:
        try:
            await self._stub.ReceiveTransfer(inv.ReceiveTransferRequest(transfer_id=transfer_id), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc

    async def expect_receipt(
        self, *, request_id: str, location_id: str, lines: list[StockLine], expected_at: datetime, reference: str
    ) -> str:
        request = inv.ExpectReceiptRequest(
            request_id=request_id,
            location_id=location_id,
            lines=[inv.StockLine(sku=ln.sku, quantity=ln.quantity) for ln in lines],
            expected_at=ts(expected_at),
            reference=reference,
        )
        try:
            return (await self._stub.ExpectReceipt(request, timeout=self._timeout)).receipt.id
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc

    async def open_receipts_at(self, location_id: str) -> list[OpenReceipt]:
        request = inv.ListExpectedReceiptsRequest(location_id=location_id, page_size=500)
        receipts: list[OpenReceipt] = []
        try:
            while True:
                reply = await self._stub.ListExpectedReceipts(request, timeout=self._timeout)
                receipts += [
                    OpenReceipt(r.id, r.reference, tuple(StockLine(ln.sku, ln.quantity) for ln in r.lines))
                    for r in reply.receipts
                    if r.reference
                ]
                if not reply.next_page_token:
                    return receipts
                request.page_token = reply.next_page_token
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc

    async def cancel_expected_receipt(self, receipt_id: str, reason: str) -> None:
        request = inv.CancelExpectedReceiptRequest(receipt_id=receipt_id, reason=reason)
        try:
            await self._stub.CancelExpectedReceipt(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, "inventory") from exc
