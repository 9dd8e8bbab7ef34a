"""Wires the orders service."""

from __future__ import annotations

import grpc
from onepool.orders.v1 import orders_pb2, orders_pb2_grpc
from onepool_runtime.server import Infra, ServiceParts

from onepool_orders.entrypoints.policies import POLICY

SERVICE_NAME = orders_pb2.DESCRIPTOR.services_by_name["OrderService"].full_name


async def build(infra: Infra) -> ServiceParts:
    servicer = orders_pb2_grpc.OrderServiceServicer()

    def register(server: grpc.aio.Server) -> None:
        orders_pb2_grpc.add_OrderServiceServicer_to_server(servicer, server)

    return ServiceParts(register=register, service_names=[SERVICE_NAME], policy=POLICY)
