"""ChannelService servicer: proto -> command -> handler -> proto. It translates; it never decides."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from onepool.channels.v1 import channels_pb2 as pb
from onepool.channels.v1 import channels_pb2_grpc
from onepool_runtime.servicer import Ctx, UseCases
from onepool_runtime.validation import next_page, valid_id

from onepool_channels.adapters import mappers
from onepool_channels.domain.model import ChannelStock
from onepool_channels.entrypoints import requests
from onepool_channels.entrypoints.scope import ChannelScope
from onepool_channels.entrypoints.watch import StockWatchHub
from onepool_channels.service_layer import handlers, importing
from onepool_channels.service_layer.unit_of_work import ChannelsUnitOfWork
from onepool_channels.settings import ChannelsSettings


class ChannelServicer(channels_pb2_grpc.ChannelServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], ChannelsUnitOfWork],
        orders: importing.OrdersPort,
        hub: StockWatchHub,
        settings: ChannelsSettings,
        locations: importing.LocationsPort | None = None,
    ) -> None:
        self._use = UseCases(uow_factory)
        self._scope = ChannelScope(self._use)
        self._orders = orders
        self._hub = hub
        self._settings = settings
        self._locations = locations

    async def CreateChannel(self, request: pb.CreateChannelRequest, context: Ctx) -> pb.CreateChannelResponse:
        cmd = requests.create_channel(request)

        async def produce(uow: ChannelsUnitOfWork) -> pb.CreateChannelResponse:
            return pb.CreateChannelResponse(channel=mappers.channel_to_proto(await handlers.create_channel(uow, cmd)))

        return await self._use.write(produce, request=request, request_id=request.request_id)

    async def GetChannel(self, request: pb.GetChannelRequest, context: Ctx) -> pb.GetChannelResponse:
        channel_id = valid_id("channel_id", request.channel_id)
        await self._scope.require(channel_id)

        async def produce(uow: ChannelsUnitOfWork) -> pb.GetChannelResponse:
            return pb.GetChannelResponse(channel=mappers.channel_to_proto(await handlers.get_channel(uow, channel_id)))

        return await self._use.read(produce)

    async def ListChannels(self, request: pb.ListChannelsRequest, context: Ctx) -> pb.ListChannelsResponse:
        type_, limit, after = requests.list_channels(request)
        owner, only_id = self._scope.list_filter(request.owner_dealer_id)

        async def produce(uow: ChannelsUnitOfWork) -> pb.ListChannelsResponse:
            found = await handlers.list_channels(
                uow, type_=type_, owner_dealer_id=owner, only_id=only_id, after=after, limit=limit + 1
            )
            channels, token = next_page(found, limit, lambda c: {"after": [c.code, c.id]})
            return pb.ListChannelsResponse(
                channels=[mappers.channel_to_proto(c) for c in channels], next_page_token=token
            )

        return await self._use.read(produce)

    async def UpdateChannel(self, request: pb.UpdateChannelRequest, context: Ctx) -> pb.UpdateChannelResponse:
        cmd = requests.update_channel(request)

        async def produce(uow: ChannelsUnitOfWork) -> pb.UpdateChannelResponse:
            return pb.UpdateChannelResponse(channel=mappers.channel_to_proto(await handlers.update_channel(uow, cmd)))

        return await self._use.write(produce)

    async def UpsertListing(self, request: pb.UpsertListingRequest, context: Ctx) -> pb.UpsertListingResponse:
        cmd = requests.upsert_listing(request)

        async def produce(uow: ChannelsUnitOfWork) -> pb.UpsertListingResponse:
            return pb.UpsertListingResponse(listing=mappers.listing_to_proto(await handlers.upsert_listing(uow, cmd)))

        return await self._use.write(produce)

    async def ListListings(self, request: pb.ListListingsRequest, context: Ctx) -> pb.ListListingsResponse:
        channel_id, limit, after = requests.list_listings(request)
        await self._scope.require(channel_id)

        async def produce(uow: ChannelsUnitOfWork) -> pb.ListListingsResponse:
            found = await handlers.list_listings(uow, channel_id, after, limit + 1)
            listings, token = next_page(found, limit, lambda listing: {"after": listing.sku})
            return pb.ListListingsResponse(
                listings=[mappers.listing_to_proto(listing) for listing in listings], next_page_token=token
            )

        return await self._use.read(produce)

    async def GetChannelStock(self, request: pb.GetChannelStockRequest, context: Ctx) -> pb.GetChannelStockResponse:
        channel_id, skus = requests.channel_stock(request)
        await self._scope.require(channel_id)

        async def produce(uow: ChannelsUnitOfWork) -> pb.GetChannelStockResponse:
            items = await handlers.channel_stock(uow, channel_id, skus)
            return pb.GetChannelStockResponse(
                items=[
                    pb.ChannelStockItem(
                        sku=i.sku,
                        channel_sku=i.channel_sku,
                        sellable=i.sellable,
                        listed=i.listed,
                        rules=mappers.rules_to_proto(i.rules),
                        presale_sellable=i.rules.presale_sellable,
                        allow_backorder=i.rules.allow_backorder,
                    )
                    for i in items
                ]
            )

        return await self._use.read(produce)

    async def ImportOrder(self, request: pb.ImportOrderRequest, context: Ctx) -> pb.ImportOrderResponse:
        await self._scope.require(valid_id("channel_id", request.channel_id))  # before reading anything else
        channel_id, imported = requests.import_order(request, self._settings.import_max_payload_bytes)
        wait = self._settings.import_listing_wait_seconds
        remaining = context.time_remaining()
        if remaining is not None:  # half the caller's time is left for the placing that follows the wait
            wait = min(wait, remaining / 2)
        order = await importing.import_order(
            self._use.read,
            self._use.write,
            self._orders,
            channel_id,
            imported,
            wait_seconds=wait,
            locations=self._locations,
        )
        return pb.ImportOrderResponse(order=order)

    async def WatchChannelStock(
        self, request: pb.WatchChannelStockRequest, context: Ctx
    ) -> AsyncIterator[pb.WatchChannelStockResponse]:
        """The published numbers first, then every change; a client that goes away just ends its stream."""
        channel_id = valid_id("channel_id", request.channel_id)
        await self._scope.require(channel_id)
        await self._use.read(lambda uow: handlers.get_channel(uow, channel_id))  # NOT_FOUND before streaming
        sent: dict[str, int] = {}

        async def snapshot() -> list[ChannelStock]:
            stock = await self._use.read(lambda uow: handlers.published_stock(uow, channel_id))
            return [s for s in stock if s.version > sent.get(s.sku, 0)]

        async with self._hub.watch(channel_id) as watcher:
            for stock in await snapshot():
                sent[stock.sku] = stock.version
                yield mappers.stock_to_watch(stock)
            while True:
                update = await watcher.next()
                if watcher.closed:
                    return
                if update is None:
                    for stock in await snapshot():
                        sent[stock.sku] = stock.version
                        yield mappers.stock_to_watch(stock)
                elif update.version > sent.get(update.sku, 0):
                    sent[update.sku] = update.version
                    yield pb.WatchChannelStockResponse(
                        channel_id=update.channel_id,
                        sku=update.sku,
                        channel_sku=update.channel_sku,
                        sellable=update.sellable,
                        version=update.version,
                        rules=update.rules,
                        presale_sellable=update.presale_sellable,
                        allow_backorder=update.allow_backorder,
                    )
