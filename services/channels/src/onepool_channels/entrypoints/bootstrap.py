"""Wires the channels service."""

from __future__ import annotations

import grpc
from onepool.channels.v1 import channels_pb2, channels_pb2_grpc
from onepool_runtime.server import Infra, ServiceParts

from onepool_channels.entrypoints.policies import POLICY

SERVICE_NAME = channels_pb2.DESCRIPTOR.services_by_name["ChannelService"].full_name


async def build(infra: Infra) -> ServiceParts:
    servicer = channels_pb2_grpc.ChannelServiceServicer()

    def register(server: grpc.aio.Server) -> None:
        channels_pb2_grpc.add_ChannelServiceServicer_to_server(servicer, server)

    return ServiceParts(register=register, service_names=[SERVICE_NAME], policy=POLICY)
