from __future__ import annotations

from onepool_runtime.settings import ServiceSettings


class DealersSettings(ServiceSettings):
    service_name: str = "dealers"
    grpc_port: int = 50054
