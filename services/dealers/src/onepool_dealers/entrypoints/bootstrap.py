"""Wires the dealers service."""

from __future__ import annotations

import grpc
from onepool.dealers.v1 import dealers_pb2, dealers_pb2_grpc
from onepool_runtime.server import Infra, ServiceParts

from onepool_dealers.entrypoints.policies import POLICY

SERVICE_NAME = dealers_pb2.DESCRIPTOR.services_by_name["DealerService"].full_name


async def build(infra: Infra) -> ServiceParts:
    servicer = dealers_pb2_grpc.DealerServiceServicer()

    def register(server: grpc.aio.Server) -> None:
        dealers_pb2_grpc.add_DealerServiceServicer_to_server(servicer, server)

    return ServiceParts(register=register, service_names=[SERVICE_NAME], policy=POLICY)
