"""The five services as the launcher sees them: package, settings class, port, proto service name, and the
event consumers each one runs (for the event catalogue and the contract tests)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from nats.aio.client import Client
from onepool_runtime import db
from onepool_runtime.consumer import EventConsumer
from onepool_runtime.server import Infra
from onepool_runtime.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    package: str
    settings_class: str
    proto_service: str

    def settings_type(self) -> type[ServiceSettings]:
        module = importlib.import_module(f"{self.package}.settings")
        return getattr(module, self.settings_class)  # type: ignore[no-any-return]

    def settings(self) -> ServiceSettings:
        return self.settings_type()()

    def event_consumers(self) -> list[EventConsumer]:
        """The consumers the service's bootstrap builds (`event_consumers(infra)`), on a database engine and a
        NATS client that are never connected: building them opens nothing, only running them would."""
        settings = self.settings()
        engine = db.create_engine(settings.database_url, settings.schema_name)
        nc = Client()
        infra = Infra(settings, engine, db.session_factory(engine), nc, nc.jetstream())
        bootstrap = importlib.import_module(f"{self.package}.entrypoints.bootstrap")
        return bootstrap.event_consumers(infra)  # type: ignore[no-any-return]

    @property
    def migrations(self) -> Path:
        spec = importlib.util.find_spec(self.package)  # type: ignore[attr-defined]
        assert spec is not None and spec.origin is not None
        return Path(spec.origin).resolve().parents[2] / "migrations"


SERVICES = [
    ServiceInfo("orders", "onepool_orders", "OrdersSettings", "onepool.orders.v1.OrderService"),
    ServiceInfo("inventory", "onepool_inventory", "InventorySettings", "onepool.inventory.v1.InventoryService"),
    ServiceInfo("channels", "onepool_channels", "ChannelsSettings", "onepool.channels.v1.ChannelService"),
    ServiceInfo("dealers", "onepool_dealers", "DealersSettings", "onepool.dealers.v1.DealerService"),
    ServiceInfo("settlement", "onepool_settlement", "SettlementSettings", "onepool.settlement.v1.SettlementService"),
]
BY_NAME = {s.name: s for s in SERVICES}
