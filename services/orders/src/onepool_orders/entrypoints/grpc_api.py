"""OrderService servicer: proto -> command -> use case -> proto. It translates and scopes; it never decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from onepool.orders.v1 import orders_pb2 as pb
from onepool.orders.v1 import orders_pb2_grpc
from onepool_runtime.servicer import Ctx, UseCases
from onepool_runtime.validation import next_page

from onepool_orders.adapters.mappers import order_to_proto, return_to_proto
from onepool_orders.domain import commands
from onepool_orders.domain.model import Order, Return
from onepool_orders.entrypoints import requests
from onepool_orders.entrypoints.scope import OrderScope
from onepool_orders.service_layer import handlers
from onepool_orders.service_layer.lifecycle import OrderLifecycle, Turns
from onepool_orders.service_layer.placing import OrderPlacement
from onepool_orders.service_layer.ports import Inventory
from onepool_orders.service_layer.stock_sync import StockSync
from onepool_orders.service_layer.unit_of_work import OrdersUnitOfWork
from onepool_orders.settings import OrdersSettings


class OrdersServicer(orders_pb2_grpc.OrderServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], OrdersUnitOfWork],
        placement: OrderPlacement,
        stock: StockSync,
        inventory: Inventory,
        settings: OrdersSettings,
    ) -> None:
        self._use = UseCases(uow_factory)
        self._placement = placement
        turns = Turns(settings.hand_over_slots, wait=settings.inventory_timeout_seconds)
        self._lifecycle = OrderLifecycle(self._use, stock, inventory, turns)
        self._settings = settings
        self._scope = OrderScope()

    async def PlaceOrder(self, request: pb.PlaceOrderRequest, context: Ctx) -> pb.PlaceOrderResponse:
        asked = requests.place_order(request, self._settings)
        skus = [line.sku for line in asked.lines]
        terms = await self._use.read(lambda uow: handlers.sales_terms(uow, asked.channel_id, skus))
        cmd = self._scope.place(asked, terms.channel)
        # Not shielded: when the caller cancels or its deadline passes, grpc.aio cancels this task and the saga
        # stops where it is. Each step is idempotent and a PENDING order is driven on by the recovery loop
        # (placing.py), so stopping is safe, and the server does no work for callers that have given up.
        order = await self._placement.place(cmd, terms)
        return pb.PlaceOrderResponse(order=order_to_proto(order))

    async def GetOrder(self, request: pb.GetOrderRequest, context: Ctx) -> pb.GetOrderResponse:
        order_id = requests.order_id(request.order_id)
        guard = self._scope.read()

        async def produce(uow: OrdersUnitOfWork) -> pb.GetOrderResponse:
            return pb.GetOrderResponse(order=order_to_proto(await handlers.get_order(uow, order_id, guard)))

        return await self._use.read(produce)

    async def ListOrders(self, request: pb.ListOrdersRequest, context: Ctx) -> pb.ListOrdersResponse:
        query = self._scope.list(requests.list_orders(request))

        async def produce(uow: OrdersUnitOfWork) -> pb.ListOrdersResponse:
            found = await handlers.list_orders(uow, replace(query, limit=query.limit + 1))
            orders, token = next_page(found, query.limit, lambda o: {"c": o.created_at.isoformat(), "i": o.id})
            return pb.ListOrdersResponse(orders=[order_to_proto(o) for o in orders], next_page_token=token)

        return await self._use.read(produce)

    async def PayOrder(self, request: pb.PayOrderRequest, context: Ctx) -> pb.PayOrderResponse:
        cmd = requests.pay_order(request)
        guard = self._scope.manage()
        order = await self._lifecycle.pay(cmd, guard)
        return pb.PayOrderResponse(order=order_to_proto(order))

    async def CancelOrder(self, request: pb.CancelOrderRequest, context: Ctx) -> pb.CancelOrderResponse:
        cmd = requests.cancel_order(request)
        guard = self._scope.manage()
        order = await self._lifecycle.cancel(cmd, guard)
        return pb.CancelOrderResponse(order=order_to_proto(order))

    async def ChangeDeliveryAddress(
        self, request: pb.ChangeDeliveryAddressRequest, context: Ctx
    ) -> pb.ChangeDeliveryAddressResponse:
        cmd = requests.change_delivery_address(request)
        guard = self._scope.manage()
        return await self._lifecycle.change_delivery_address(
            cmd,
            guard,
            request=request,
            answer=lambda order: pb.ChangeDeliveryAddressResponse(order=order_to_proto(order)),
        )

    async def RepriceOrder(self, request: pb.RepriceOrderRequest, context: Ctx) -> pb.RepriceOrderResponse:
        cmd = requests.reprice_order(request)
        guard = self._scope.manage()
        return await self._lifecycle.reprice(
            cmd, guard, request=request, answer=lambda order: pb.RepriceOrderResponse(order=order_to_proto(order))
        )

    async def ShipFulfillment(self, request: pb.ShipFulfillmentRequest, context: Ctx) -> pb.ShipFulfillmentResponse:
        cmd = requests.ship_fulfillment(request)
        guard = self._scope.fulfill(cmd.fulfillment_id)
        order = await self._lifecycle.ship(cmd, guard)
        return pb.ShipFulfillmentResponse(order=order_to_proto(order))

    async def ConfirmPickup(self, request: pb.ConfirmPickupRequest, context: Ctx) -> pb.ConfirmPickupResponse:
        cmd = requests.confirm_pickup(request)
        guard = self._scope.fulfill(cmd.fulfillment_id)
        order = await self._lifecycle.confirm_pickup(cmd, guard)
        return pb.ConfirmPickupResponse(order=order_to_proto(order))

    async def CompleteOrder(self, request: pb.CompleteOrderRequest, context: Ctx) -> pb.CompleteOrderResponse:
        order_id = requests.order_id(request.order_id)
        guard = self._scope.manage()
        order = await self._lifecycle.complete(commands.CompleteOrder(order_id), guard)
        return pb.CompleteOrderResponse(order=order_to_proto(order))

    async def ReturnItems(self, request: pb.ReturnItemsRequest, context: Ctx) -> pb.ReturnItemsResponse:
        cmd = requests.return_items(request)
        guard = self._scope.receive_return(cmd.return_location_id, accept_after_window=cmd.accept_after_window)

        def answer(order: Order, order_return: Return) -> pb.ReturnItemsResponse:
            shown = order_to_proto(order) if self._scope.may_read(order) else None
            return pb.ReturnItemsResponse(order_return=return_to_proto(order_return), order=shown)

        return await self._lifecycle.return_items(
            cmd, guard, request=request, answer=answer, receives_at=self._scope.receives_at()
        )

    async def RefundOrder(self, request: pb.RefundOrderRequest, context: Ctx) -> pb.RefundOrderResponse:
        cmd = requests.refund_order(request)
        guard = self._scope.refund(accept_after_window=cmd.accept_after_window)
        return await self._lifecycle.refund(
            cmd,
            guard,
            request=request,
            answer=lambda order, refund: pb.RefundOrderResponse(
                order=order_to_proto(order), order_return=return_to_proto(refund)
            ),
        )
