from __future__ import annotations

from onepool_runtime.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    service_name: str = "orders"
    grpc_port: int = 50051
