from __future__ import annotations

from onepool_runtime.settings import ServiceSettings


class ChannelsSettings(ServiceSettings):
    service_name: str = "channels"
    grpc_port: int = 50053
