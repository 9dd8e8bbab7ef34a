"""Wires the settlement service."""

from __future__ import annotations

import grpc
from onepool.settlement.v1 import settlement_pb2, settlement_pb2_grpc
from onepool_runtime.server import Infra, ServiceParts

from onepool_settlement.entrypoints.policies import POLICY

SERVICE_NAME = settlement_pb2.DESCRIPTOR.services_by_name["SettlementService"].full_name


async def build(infra: Infra) -> ServiceParts:
    servicer = settlement_pb2_grpc.SettlementServiceServicer()

    def register(server: grpc.aio.Server) -> None:
        settlement_pb2_grpc.add_SettlementServiceServicer_to_server(servicer, server)

    return ServiceParts(register=register, service_names=[SERVICE_NAME], policy=POLICY)
