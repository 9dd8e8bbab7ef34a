from __future__ import annotations

from onepool_runtime.uow import UnitOfWork

from onepool_orders.adapters.channels import ChannelRepository
from onepool_orders.adapters.integration import translate
from onepool_orders.adapters.repository import OrderRepository, StockRequestRepository


class OrdersUnitOfWork(UnitOfWork, source="orders", translate=translate):
    orders: OrderRepository
    stock_requests: StockRequestRepository
    channels: ChannelRepository

    def _start(self) -> None:
        self.orders = OrderRepository(self.session, self)
        self.stock_requests = StockRequestRepository(self.session, self)
        self.channels = ChannelRepository(self.session, self)
