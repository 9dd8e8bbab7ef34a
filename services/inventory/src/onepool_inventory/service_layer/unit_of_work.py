from __future__ import annotations

from onepool_kernel.timestamps import now
from onepool_runtime.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from onepool_inventory.adapters.channel_rules import ChannelAllocationRepository, ChannelSalesRepository
from onepool_inventory.adapters.expected_receipts import ExpectedReceiptRepository
from onepool_inventory.adapters.integration import translate
from onepool_inventory.adapters.locations import LocationRepository
from onepool_inventory.adapters.policies import ChannelPolicyRepository
from onepool_inventory.adapters.receipt_promises import ReceiptPromises
from onepool_inventory.adapters.reservations import ReservationRepository
from onepool_inventory.adapters.stock_levels import StockLevelRepository
from onepool_inventory.adapters.transfers import TransferRepository


class InventoryUnitOfWork(UnitOfWork):
    """One repository per aggregate; stock levels locked in this transaction are written back at commit."""

    locations: LocationRepository
    levels: StockLevelRepository
    reservations: ReservationRepository
    transfers: TransferRepository
    policies: ChannelPolicyRepository
    allocations: ChannelAllocationRepository
    sales: ChannelSalesRepository
    receipts: ExpectedReceiptRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__(sessions, source="inventory", translate=translate)

    def _start(self) -> None:
        self.locations = LocationRepository(self.session, self)
        self.levels = StockLevelRepository(self.session, self)
        self.reservations = ReservationRepository(self.session, self)
        self.transfers = TransferRepository(self.session, self)
        self.policies = ChannelPolicyRepository(self.session)
        self.allocations = ChannelAllocationRepository(self.session, self)
        self.sales = ChannelSalesRepository(self.session, self)
        self.receipts = ExpectedReceiptRepository(self.session, self)

    async def commit(self) -> None:
        from onepool_inventory.service_layer import promises
        from onepool_inventory.service_layer.waiting import settle

        # Goods available where reservations wait, or a changed waiting line, are settled in this transaction,
        # and the units the receipts there promise published (their rows locked last: promises.py).
        await settle(self)
        levels = self.levels.adopted()
        if any(lvl.promises_changed for lvl in levels):
            store = ReceiptPromises(await self.driver())
            for receipt in await promises.publish(store, levels, now(), self.receipts.held()):
                self.track(receipt)
        await self.levels.save_changed()
        await self.allocations.save_changed()
        await self.sales.save_changed()
        await super().commit()
