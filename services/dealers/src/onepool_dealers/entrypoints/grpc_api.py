"""DealerService servicer: proto -> command -> handler or saga -> proto. It translates; it never decides."""

from __future__ import annotations

from collections.abc import Callable

from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.dealers.v1 import dealers_pb2_grpc
from onepool_runtime.errors import Violations
from onepool_runtime.protobuf import money_to_proto
from onepool_runtime.servicer import Ctx, UseCases
from onepool_runtime.validation import (
    check_id,
    check_text,
    next_page,
    page_after_pair,
    page_size,
    valid_id,
)

from onepool_dealers.adapters import mappers
from onepool_dealers.entrypoints import requests
from onepool_dealers.entrypoints.scope import DealerScope
from onepool_dealers.service_layer import handlers
from onepool_dealers.service_layer.sagas import Sagas
from onepool_dealers.service_layer.unit_of_work import DealersUnitOfWork
from onepool_dealers.settings import DealersSettings


class DealerServicer(dealers_pb2_grpc.DealerServiceServicer):
    def __init__(self, uow_factory: Callable[[], DealersUnitOfWork], sagas: Sagas, settings: DealersSettings) -> None:
        self._use = UseCases(uow_factory)
        self._scope = DealerScope(self._use)
        self._sagas = sagas
        self._settings = settings
        self._factors = settings.tier_factors()

    # --- dealers ----------------------------------------------------------------------------------------

    async def RegisterDealer(self, request: pb.RegisterDealerRequest, context: Ctx) -> pb.RegisterDealerResponse:
        dealer = await self._sagas.register_dealer(requests.register_dealer(request))
        return pb.RegisterDealerResponse(dealer=mappers.dealer_to_proto(dealer))

    async def GetDealer(self, request: pb.GetDealerRequest, context: Ctx) -> pb.GetDealerResponse:
        dealer_id = valid_id("dealer_id", request.dealer_id)
        self._scope.require_dealer(dealer_id)

        async def produce(uow: DealersUnitOfWork) -> pb.GetDealerResponse:
            return pb.GetDealerResponse(dealer=mappers.dealer_to_proto(await handlers.get_dealer(uow, dealer_id)))

        return await self._use.read(produce)

    async def ListDealers(self, request: pb.ListDealersRequest, context: Ctx) -> pb.ListDealersResponse:
        v = Violations()
        status = requests.dealer_status_filter(v, request.status)
        check_text(v, "region", request.region, max_len=64)
        limit = page_size(v, request.page_size)
        v.raise_if_any()
        after = page_after_pair(request.page_token)
        own = self._scope.own_dealer()

        async def produce(uow: DealersUnitOfWork) -> pb.ListDealersResponse:
            found = await handlers.list_dealers(
                uow, status=status, region=request.region, only_id=own, after=after, limit=limit + 1
            )
            dealers, token = next_page(found, limit, lambda d: {"after": [d.name, d.id]})
            return pb.ListDealersResponse(dealers=[mappers.dealer_to_proto(d) for d in dealers], next_page_token=token)

        return await self._use.read(produce)

    async def UpdateDealer(self, request: pb.UpdateDealerRequest, context: Ctx) -> pb.UpdateDealerResponse:
        dealer = await self._sagas.update_dealer(requests.update_dealer(request))
        return pb.UpdateDealerResponse(dealer=mappers.dealer_to_proto(dealer))

    async def AddDealerLocation(
        self, request: pb.AddDealerLocationRequest, context: Ctx
    ) -> pb.AddDealerLocationResponse:
        cmd = requests.add_dealer_location(request)
        self._scope.require_dealer(cmd.dealer_id)
        location = await self._sagas.add_dealer_location(cmd)
        return pb.AddDealerLocationResponse(location=mappers.location_to_proto(location))

    # --- prices -----------------------------------------------------------------------------------------

    async def SetWholesalePrice(
        self, request: pb.SetWholesalePriceRequest, context: Ctx
    ) -> pb.SetWholesalePriceResponse:
        cmd = requests.set_wholesale_price(request)

        async def produce(uow: DealersUnitOfWork) -> pb.SetWholesalePriceResponse:
            tiers = await handlers.set_wholesale_price(uow, cmd, self._factors)
            return pb.SetWholesalePriceResponse(
                sku=cmd.sku,
                list_price=money_to_proto(cmd.list_price),
                tier_prices=[
                    pb.TierPrice(tier=mappers.TIERS[tier], factor_bps=bps, unit_price=money_to_proto(price))
                    for tier, bps, price in tiers
                ],
            )

        return await self._use.write(produce)

    # --- replenishments ---------------------------------------------------------------------------------

    async def PlaceReplenishment(
        self, request: pb.PlaceReplenishmentRequest, context: Ctx
    ) -> pb.PlaceReplenishmentResponse:
        cmd = requests.place_replenishment(request)
        self._scope.require_dealer(cmd.dealer_id)
        # Another dealer's location as the destination is refused by the use case as NOT_DEALER_LOCATION, as an
        # unknown or brand id is: a PERMISSION_DENIED here would tell a dealer which ids are other dealers'.
        await self._sagas.learn_location(cmd.from_location_id)

        async def produce(uow: DealersUnitOfWork) -> pb.PlaceReplenishmentResponse:
            replenishment = await handlers.place_replenishment(uow, cmd, self._factors)
            return pb.PlaceReplenishmentResponse(replenishment=mappers.replenishment_to_proto(replenishment))

        # The idempotency key is the dealer's: two dealers may happen to pick the same request_id.
        return await self._use.write(produce, request=request, request_id=f"{cmd.dealer_id}/{request.request_id}")

    async def GetReplenishment(self, request: pb.GetReplenishmentRequest, context: Ctx) -> pb.GetReplenishmentResponse:
        rid = valid_id("id", request.id)
        await self._scope.require_replenishment(rid)

        async def produce(uow: DealersUnitOfWork) -> pb.GetReplenishmentResponse:
            replenishment = await handlers.get_replenishment(uow, rid)
            return pb.GetReplenishmentResponse(replenishment=mappers.replenishment_to_proto(replenishment))

        return await self._use.read(produce)

    async def ListReplenishments(
        self, request: pb.ListReplenishmentsRequest, context: Ctx
    ) -> pb.ListReplenishmentsResponse:
        v = Violations()
        check_id(v, "dealer_id", request.dealer_id, required=False)
        status = requests.replenishment_status_filter(v, request.status)
        limit = page_size(v, request.page_size)
        v.raise_if_any()
        before = requests.replenishments_before(request.page_token)
        dealer_id = self._scope.dealer_filter(request.dealer_id)

        async def produce(uow: DealersUnitOfWork) -> pb.ListReplenishmentsResponse:
            found = await handlers.list_replenishments(
                uow, dealer_id=dealer_id, status=status, before_seq=before, limit=limit + 1
            )
            page, token = next_page(found, limit, lambda seq_and_r: {"before": seq_and_r[0]})
            return pb.ListReplenishmentsResponse(
                replenishments=[mappers.replenishment_to_proto(r) for _, r in page], next_page_token=token
            )

        return await self._use.read(produce)

    async def ShipReplenishment(
        self, request: pb.ShipReplenishmentRequest, context: Ctx
    ) -> pb.ShipReplenishmentResponse:
        rid = valid_id("id", request.id)
        replenishment = await self._sagas.ship(rid)
        return pb.ShipReplenishmentResponse(replenishment=mappers.replenishment_to_proto(replenishment))

    async def ReceiveReplenishment(
        self, request: pb.ReceiveReplenishmentRequest, context: Ctx
    ) -> pb.ReceiveReplenishmentResponse:
        rid = valid_id("id", request.id)
        await self._scope.require_replenishment(rid)
        replenishment = await self._sagas.receive(rid)
        return pb.ReceiveReplenishmentResponse(replenishment=mappers.replenishment_to_proto(replenishment))

    async def RejectReplenishment(
        self, request: pb.RejectReplenishmentRequest, context: Ctx
    ) -> pb.RejectReplenishmentResponse:
        rid = valid_id("id", request.id)
        reason = requests.reject_reason(request.reason)
        await self._scope.require_replenishment(rid)

        async def produce(uow: DealersUnitOfWork) -> pb.RejectReplenishmentResponse:
            replenishment = await handlers.reject_replenishment(uow, rid, reason)
            return pb.RejectReplenishmentResponse(replenishment=mappers.replenishment_to_proto(replenishment))

        return await self._use.write(produce)

    # --- overview ---------------------------------------------------------------------------------------

    async def GetDealerOverview(
        self, request: pb.GetDealerOverviewRequest, context: Ctx
    ) -> pb.GetDealerOverviewResponse:
        cmd = requests.overview(request, self._settings.overview_default_days)
        self._scope.require_dealer(cmd.dealer_id)

        async def produce(uow: DealersUnitOfWork) -> pb.GetDealerOverviewResponse:
            return mappers.overview_to_proto(await handlers.overview(uow, cmd))

        return await self._use.read(produce)
