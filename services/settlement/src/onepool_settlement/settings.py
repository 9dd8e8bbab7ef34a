from __future__ import annotations

from onepool_runtime.settings import ServiceSettings


class SettlementSettings(ServiceSettings):
    service_name: str = "settlement"
    grpc_port: int = 50055
