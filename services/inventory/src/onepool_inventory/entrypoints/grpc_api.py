"""InventoryService servicer: proto -> command -> handler -> proto. It translates; it never decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from onepool.inventory.v1 import inventory_pb2 as pb
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_kernel.stock import capped
from onepool_runtime.auth import scoped_key
from onepool_runtime.commit_order import page_cursor, page_position
from onepool_runtime.errors import InvalidArgument, Violations
from onepool_runtime.mapping import to_message
from onepool_runtime.servicer import Ctx, UseCases
from onepool_runtime.validation import check_id, encode_page_token, next_page, page_size, valid_id

from onepool_inventory.adapters import mappers
from onepool_inventory.adapters.availability import AvailabilityReader
from onepool_inventory.entrypoints import requests
from onepool_inventory.entrypoints.scope import InventoryScope
from onepool_inventory.service_layer import handlers
from onepool_inventory.service_layer.reserving import ReserveCoalescer
from onepool_inventory.service_layer.unit_of_work import InventoryUnitOfWork
from onepool_inventory.settings import InventorySettings


class InventoryServicer(inventory_pb2_grpc.InventoryServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], InventoryUnitOfWork],
        coalescer: ReserveCoalescer,
        settings: InventorySettings,
        availability: AvailabilityReader,
    ) -> None:
        self._use = UseCases(uow_factory)
        self._availability = availability
        self._scope = InventoryScope(self._use)
        self._coalescer = coalescer
        self._settings = settings

    async def UpsertLocation(self, request: pb.UpsertLocationRequest, context: Ctx) -> pb.UpsertLocationResponse:
        cmd = requests.upsert_location(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.UpsertLocationResponse:
            location = await handlers.upsert_location(uow, cmd)
            return pb.UpsertLocationResponse(location=mappers.location_to_proto(location))

        return await self._use.write(produce)

    async def ListLocations(self, request: pb.ListLocationsRequest, context: Ctx) -> pb.ListLocationsResponse:
        q = requests.locations_query(request)
        own = await self._scope.own_location_ids()
        if own is not None:  # a dealer or a store: its own locations, of those it asked for
            mine = set(own)
            q = replace(q, ids=tuple(own) if q.ids is None else tuple(i for i in q.ids if i in mine))
        limit = q.limit

        async def produce(uow: InventoryUnitOfWork) -> pb.ListLocationsResponse:
            if limit is None:
                locations, token = await handlers.list_locations(uow, q), ""
            else:
                found = await handlers.list_locations(uow, replace(q, limit=limit + 1))
                locations, token = next_page(found, limit, lambda loc: {"after": loc.id})
            return pb.ListLocationsResponse(
                locations=[mappers.location_to_proto(loc) for loc in locations], next_page_token=token
            )

        return await self._use.read(produce)

    async def ReceiveStock(self, request: pb.ReceiveStockRequest, context: Ctx) -> pb.ReceiveStockResponse:
        cmd = requests.receive_stock(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.ReceiveStockResponse:
            # Another's receipt is denied here, before its check names its location.
            receipt_at = await self._receipt_location(uow, cmd.receipt_id) if cmd.receipt_id else None
            await self._scope.hold_locations(uow, [cmd.location_id, *([receipt_at] if receipt_at else [])])
            received = await handlers.receive_stock(uow, cmd)
            return pb.ReceiveStockResponse(
                levels=[mappers.level_to_proto(lvl) for lvl in received.levels],
                receipt=mappers.expected_receipt_to_proto(received.receipt) if received.receipt else None,
                filled=[mappers.fill_to_proto(f) for f in received.fills],
            )

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def AdjustStock(self, request: pb.AdjustStockRequest, context: Ctx) -> pb.AdjustStockResponse:
        cmd = requests.adjust_stock(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.AdjustStockResponse:
            await self._scope.hold_locations(uow, [cmd.location_id])
            return pb.AdjustStockResponse(level=mappers.level_to_proto(await handlers.adjust_stock(uow, cmd)))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def SetSafetyStock(self, request: pb.SetSafetyStockRequest, context: Ctx) -> pb.SetSafetyStockResponse:
        cmd = requests.set_safety_stock(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.SetSafetyStockResponse:
            return pb.SetSafetyStockResponse(level=mappers.level_to_proto(await handlers.set_safety_stock(uow, cmd)))

        return await self._use.write(produce)

    async def GetAvailability(self, request: pb.GetAvailabilityRequest, context: Ctx) -> pb.GetAvailabilityResponse:
        skus, channel_id, location_ids = requests.availability(request)
        channel_id = self._scope.channel_id(channel_id)
        own_view = await self._scope.require_channel(channel_id)
        restricted = await self._scope.restrict_locations(location_ids)
        if restricted is None:  # a dealer or store with no location yet: nothing of it to read
            return pb.GetAvailabilityResponse(items=[pb.Availability(sku=sku) for sku in dict.fromkeys(skus)])

        items = await handlers.get_availability(self._availability, skus, channel_id, restricted)
        reply = availability_to_proto(items)
        if not own_view:
            without_channel_counters(reply)
        return reply

    async def Reserve(self, request: pb.ReserveRequest, context: Ctx) -> pb.ReserveResponse:
        channel_id = self._scope.channel_id(request.channel_id)
        cmd = requests.reserve(request, self._settings, channel_id=channel_id, key=scoped_key(request.request_id))
        outcome = await self._coalescer.submit(cmd)
        if outcome.replay is not None:
            return pb.ReserveResponse.FromString(outcome.replay)
        assert outcome.reservation is not None
        return pb.ReserveResponse(reservation=mappers.reservation_to_proto(outcome.reservation))

    async def GetReservation(self, request: pb.GetReservationRequest, context: Ctx) -> pb.GetReservationResponse:
        rid = valid_id("reservation_id", request.reservation_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.GetReservationResponse:
            return pb.GetReservationResponse(
                reservation=mappers.reservation_to_proto(await handlers.get_reservation(uow, rid))
            )

        return await self._use.read(produce)

    async def CommitReservation(
        self, request: pb.CommitReservationRequest, context: Ctx
    ) -> pb.CommitReservationResponse:
        rid = valid_id("reservation_id", request.reservation_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.CommitReservationResponse:
            reservation = await handlers.commit_reservation(uow, rid)
            return pb.CommitReservationResponse(reservation=mappers.reservation_to_proto(reservation))

        return await self._use.write(produce)

    async def ReleaseReservation(
        self, request: pb.ReleaseReservationRequest, context: Ctx
    ) -> pb.ReleaseReservationResponse:
        rid = valid_id("reservation_id", request.reservation_id)
        v = Violations()
        if len(request.reason) > 500:
            v.add("reason", "must be at most 500 characters")
        v.raise_if_any()

        async def produce(uow: InventoryUnitOfWork) -> pb.ReleaseReservationResponse:
            reservation = await handlers.release_reservation(uow, rid, request.reason)
            return pb.ReleaseReservationResponse(reservation=mappers.reservation_to_proto(reservation))

        return await self._use.write(produce)

    async def FulfillReservation(
        self, request: pb.FulfillReservationRequest, context: Ctx
    ) -> pb.FulfillReservationResponse:
        cmd = requests.fulfill(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.FulfillReservationResponse:
            reservation = await handlers.fulfill_reservation(uow, cmd)
            return pb.FulfillReservationResponse(reservation=mappers.reservation_to_proto(reservation))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def TransferStock(self, request: pb.TransferStockRequest, context: Ctx) -> pb.TransferStockResponse:
        cmd = requests.transfer(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.TransferStockResponse:
            return pb.TransferStockResponse(transfer=mappers.transfer_to_proto(await handlers.transfer_stock(uow, cmd)))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def ReceiveTransfer(self, request: pb.ReceiveTransferRequest, context: Ctx) -> pb.ReceiveTransferResponse:
        tid = valid_id("transfer_id", request.transfer_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.ReceiveTransferResponse:
            if self._scope.limited:
                await self._scope.hold_locations(uow, [(await handlers.get_transfer(uow, tid)).to_location_id])
            return pb.ReceiveTransferResponse(
                transfer=mappers.transfer_to_proto(await handlers.receive_transfer(uow, tid))
            )

        return await self._use.write(produce)

    async def GetTransfer(self, request: pb.GetTransferRequest, context: Ctx) -> pb.GetTransferResponse:
        tid = valid_id("transfer_id", request.transfer_id)
        await self._require_transfer_destination(tid)

        async def produce(uow: InventoryUnitOfWork) -> pb.GetTransferResponse:
            return pb.GetTransferResponse(transfer=mappers.transfer_to_proto(await handlers.get_transfer(uow, tid)))

        return await self._use.read(produce)

    async def _require_transfer_destination(self, transfer_id: str) -> None:
        if await self._scope.own_location_ids() is None:
            return

        async def destination(uow: InventoryUnitOfWork) -> str:
            return (await handlers.get_transfer(uow, transfer_id)).to_location_id

        await self._scope.require_locations([await self._use.read(destination)])

    async def ListMovements(self, request: pb.ListMovementsRequest, context: Ctx) -> pb.ListMovementsResponse:
        v = Violations()
        check_id(v, "location_id", request.location_id, required=False)
        limit = page_size(v, request.page_size)
        v.raise_if_any()
        after = page_position(request.page_token)
        await self._require_own_location(request.location_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.ListMovementsResponse:
            moves, more = await handlers.list_movements(uow, request.location_id, request.sku, after, limit)
            resume = encode_page_token(page_cursor(*((moves[-1].xact_id, moves[-1].id) if moves else after)))
            return pb.ListMovementsResponse(
                movements=[mappers.movement_to_proto(m) for m in moves],
                next_page_token=resume if more else "",
                resume_page_token=resume,
            )

        return await self._use.read(produce)

    async def CreateChannelAllocation(
        self, request: pb.CreateChannelAllocationRequest, context: Ctx
    ) -> pb.CreateChannelAllocationResponse:
        cmd = requests.create_channel_allocation(request)
        await self._scope.require_channel(cmd.channel_id, own=True)

        async def produce(uow: InventoryUnitOfWork) -> pb.CreateChannelAllocationResponse:
            await self._scope.hold_locations(uow, [cmd.location_id])
            allocation = await handlers.create_channel_allocation(uow, cmd)
            return pb.CreateChannelAllocationResponse(allocation=mappers.channel_allocation_to_proto(allocation))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def ReleaseChannelAllocation(
        self, request: pb.ReleaseChannelAllocationRequest, context: Ctx
    ) -> pb.ReleaseChannelAllocationResponse:
        aid = valid_id("allocation_id", request.allocation_id)
        found = await self._use.read(lambda uow: handlers.get_channel_allocation(uow, aid))
        # As when it was created: the dealer's own channel at one of its own locations (the brand's allocation
        # for a dealer's channel at a brand warehouse is the brand's to release).
        await self._scope.require_channel(found.channel_id, own=True)

        async def produce(uow: InventoryUnitOfWork) -> pb.ReleaseChannelAllocationResponse:
            await self._scope.hold_locations(uow, [found.location_id])  # an allocation never moves
            allocation = await handlers.release_channel_allocation(uow, aid)
            return pb.ReleaseChannelAllocationResponse(allocation=mappers.channel_allocation_to_proto(allocation))

        return await self._use.write(produce)

    async def ListChannelAllocations(
        self, request: pb.ListChannelAllocationsRequest, context: Ctx
    ) -> pb.ListChannelAllocationsResponse:
        q = requests.channel_allocations_query(request)
        q = replace(q, channel_id=self._scope.channel_id(q.channel_id))
        if await self._scope.own_location_ids() is not None and not q.channel_id:
            raise InvalidArgument("channel_id", "is required for dealer tokens")
        await self._scope.require_channel(q.channel_id, own=True)

        async def produce(uow: InventoryUnitOfWork) -> pb.ListChannelAllocationsResponse:
            found = await handlers.list_channel_allocations(uow, replace(q, limit=q.limit + 1))
            allocations, token = next_page(found, q.limit, requests.allocation_position)
            return pb.ListChannelAllocationsResponse(
                allocations=[mappers.channel_allocation_to_proto(a) for a in allocations], next_page_token=token
            )

        return await self._use.read(produce)

    async def ListStockLevels(self, request: pb.ListStockLevelsRequest, context: Ctx) -> pb.ListStockLevelsResponse:
        after, limit = requests.stock_levels_page(request)
        await self._require_own_location(request.location_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.ListStockLevelsResponse:
            found = await handlers.list_stock_levels(uow, request.location_id, request.sku, after, limit + 1)
            levels, token = next_page(found, limit, lambda lvl: {"after": [lvl.location_id, lvl.sku]})
            return pb.ListStockLevelsResponse(
                levels=[mappers.level_to_proto(lvl) for lvl in levels], next_page_token=token
            )

        return await self._use.read(produce)

    async def ExpectReceipt(self, request: pb.ExpectReceiptRequest, context: Ctx) -> pb.ExpectReceiptResponse:
        cmd = requests.expect_receipt(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.ExpectReceiptResponse:
            await self._scope.hold_locations(uow, [cmd.location_id])
            receipt = await handlers.expect_receipt(uow, cmd)
            return pb.ExpectReceiptResponse(receipt=mappers.expected_receipt_to_proto(receipt))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def _require_own_location(self, location_id: str) -> None:
        """A dealer or store token names one location, its own; admin and service callers may name none."""
        if await self._scope.own_location_ids() is not None:
            if not location_id:
                raise InvalidArgument("location_id", "is required for dealer and store tokens")
            await self._scope.require_locations([location_id])

    async def _require_receipt_location(self, receipt_id: str) -> None:
        if await self._scope.own_location_ids() is None:
            return
        found = await self._use.read(lambda uow: handlers.get_expected_receipt(uow, receipt_id))
        await self._scope.require_locations([found.location_id])

    async def _receipt_location(self, uow: InventoryUnitOfWork, receipt_id: str) -> str | None:
        """Where the receipt is, for a caller held to its own locations (a receipt never moves); None for the
        others, or for an unknown receipt (the use case refuses it, NOT_FOUND)."""
        if not self._scope.limited:
            return None
        found = await uow.receipts.get(receipt_id)
        return found.location_id if found else None

    async def _hold_receipt_location(self, uow: InventoryUnitOfWork, receipt_id: str) -> None:
        location_id = await self._receipt_location(uow, receipt_id)
        if location_id is not None:
            await self._scope.hold_locations(uow, [location_id])

    async def CancelExpectedReceipt(
        self, request: pb.CancelExpectedReceiptRequest, context: Ctx
    ) -> pb.CancelExpectedReceiptResponse:
        receipt_id, reason = requests.cancel_expected_receipt(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.CancelExpectedReceiptResponse:
            await self._hold_receipt_location(uow, receipt_id)
            receipt = await handlers.cancel_expected_receipt(uow, receipt_id, reason)
            return pb.CancelExpectedReceiptResponse(receipt=mappers.expected_receipt_to_proto(receipt))

        return await self._use.write(produce)

    async def RescheduleExpectedReceipt(
        self, request: pb.RescheduleExpectedReceiptRequest, context: Ctx
    ) -> pb.RescheduleExpectedReceiptResponse:
        receipt_id, expected_at = requests.reschedule_expected_receipt(request)

        async def produce(uow: InventoryUnitOfWork) -> pb.RescheduleExpectedReceiptResponse:
            await self._hold_receipt_location(uow, receipt_id)
            receipt = await handlers.reschedule_expected_receipt(uow, receipt_id, expected_at)
            return pb.RescheduleExpectedReceiptResponse(receipt=mappers.expected_receipt_to_proto(receipt))

        return await self._use.write(produce)

    async def GetExpectedReceipt(
        self, request: pb.GetExpectedReceiptRequest, context: Ctx
    ) -> pb.GetExpectedReceiptResponse:
        receipt_id = valid_id("receipt_id", request.receipt_id)
        await self._require_receipt_location(receipt_id)

        async def produce(uow: InventoryUnitOfWork) -> pb.GetExpectedReceiptResponse:
            receipt = await handlers.get_expected_receipt(uow, receipt_id)
            return pb.GetExpectedReceiptResponse(receipt=mappers.expected_receipt_to_proto(receipt))

        return await self._use.read(produce)

    async def ListExpectedReceipts(
        self, request: pb.ListExpectedReceiptsRequest, context: Ctx
    ) -> pb.ListExpectedReceiptsResponse:
        location_id, sku, after, limit = requests.expected_receipts_filter(request)
        own = await self._scope.own_location_ids()
        if own is not None:
            if not location_id:
                raise InvalidArgument("location_id", "is required for dealer and store tokens")
            await self._scope.require_locations([location_id])

        async def produce(uow: InventoryUnitOfWork) -> pb.ListExpectedReceiptsResponse:
            found = await handlers.list_expected_receipts(
                uow, [location_id] if location_id else None, sku, request.include_closed, after, limit + 1
            )
            receipts, token = next_page(found, limit, lambda r: {"after": r.id})
            return pb.ListExpectedReceiptsResponse(
                receipts=[mappers.expected_receipt_to_proto(r) for r in receipts], next_page_token=token
            )

        return await self._use.read(produce)


def availability_to_proto(items: list[handlers.SkuAvailability]) -> pb.GetAvailabilityResponse:
    """Filled in place (`add()`, then the fields): a message built from keywords is copied into its parent
    once more, which on the hottest read cost more than the rest of the translation. Totals over locations are
    `capped` (one location's counts are bounded where they change, the sum of many is not)."""
    reply = pb.GetAvailabilityResponse()
    replies = reply.items  # each read of a repeated field makes a new container object
    for i in items:
        out = replies.add()
        out.sku, out.on_hand, out.reserved, out.safety_stock, out.available = (
            i.sku, capped(i.on_hand), capped(i.reserved), capped(i.safety_stock), i.available
        )  # fmt: skip
        locations = out.by_location
        for b in i.by_location:
            at = locations.add()
            at.location_id, at.on_hand, at.reserved, at.available, at.safety_stock = (
                b.location_id, b.on_hand, b.reserved, b.available, b.safety_stock
            )  # fmt: skip
            at.dedicated, at.inbound, at.expected, at.awaiting = b.dedicated, capped(b.inbound), b.expected, b.awaiting
            if b.expected_by_date:
                at.expected_by_date.extend(to_message(pb.ExpectedQuantity, q) for q in b.expected_by_date)
        rules, presale = i.rules, i.presale
        out.inbound, out.exposed, out.dedicated, out.sales_cap_units, out.sales_counted = (
            capped(i.inbound), capped(rules.exposed), capped(rules.dedicated), rules.cap_units, rules.counted
        )  # fmt: skip
        out.expected, out.awaiting = capped(i.expected), capped(i.awaiting)
        dates = i.expected_by_date
        if dates:
            out.expected_by_date.extend(to_message(pb.ExpectedQuantity, q) for q in dates)
        out.presale_units, out.presale_counted, out.presale_sellable, out.allow_backorder = (
            presale.presale_units, presale.presale_counted, presale.presale_sellable, presale.allow_backorder
        )  # fmt: skip
    return reply


def without_channel_counters(reply: pb.GetAvailabilityResponse) -> None:
    """Unset the channel-wide sales and presale counters: they count the whole channel's sales, not what the
    caller's own locations hold (scope.InventoryScope.require_channel says who may see them)."""
    for item in reply.items:
        item.sales_counted = item.sales_cap_units = item.presale_counted = item.presale_units = 0
