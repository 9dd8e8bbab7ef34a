"""Saga safety under real faults: the orders process killed between reserving stock and recording the order,
and inventory down while orders are placed. Orders runs as its own OS process (`python -m onepool_orders`),
exactly as deployed; inventory, PostgreSQL and NATS keep running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from onepool.orders.v1 import orders_pb2 as opb
from onepool.orders.v1 import orders_pb2_grpc
from onepool_runtime.migrations import upgrade
from onepool_runtime.testing.services import TEST_SECRET

from tests.support.channels import wait_until_orders_knows
from tests.support.orders import World, eventually, uid

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[2]
FAULT_EXIT_CODE = 86  # onepool_orders.entrypoints.bootstrap.FAULT_EXIT_CODE
PAYMENT_TTL_SECONDS = 3


class OrdersProcess:
    """The orders service as a child process on the stack's orders port, started and killed by the test."""

    def __init__(self, stack: Any, log_dir: Path) -> None:
        self.stack = stack
        self.log_dir = log_dir
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._channel: grpc.aio.Channel | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.stack.ports['orders']}"

    def stub(self) -> orders_pb2_grpc.OrderServiceStub:
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address)
        return orders_pb2_grpc.OrderServiceStub(self._channel)

    async def start(self, **settings: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONEPOOL_")}
        env.update(
            ONEPOOL_DATABASE_URL=self.stack.database_url,
            ONEPOOL_NATS_URL=self.stack.nats_url,
            ONEPOOL_GRPC_HOST="127.0.0.1",
            ONEPOOL_GRPC_PORT=str(self.stack.ports["orders"]),
            ONEPOOL_INVENTORY_ADDR=f"127.0.0.1:{self.stack.ports['inventory']}",
            ONEPOOL_JWT_SECRET=TEST_SECRET,
            ONEPOOL_LOG_JSON="false",
            ONEPOOL_OUTBOX_POLL_SECONDS="0.2",
            ONEPOOL_HEALTH_CHECK_SECONDS="0.5",
            ONEPOOL_INVENTORY_TIMEOUT_SECONDS="1",
            ONEPOOL_RECOVERY_INTERVAL_SECONDS="0.2",
            ONEPOOL_RECOVERY_AFTER_SECONDS="0.5",
            ONEPOOL_STOCK_RETRY_SECONDS="0.2",
        )
        env.update({f"ONEPOOL_{k.upper()}": v for k, v in settings.items()})
        self.starts += 1
        log = open(self.log_dir / f"orders-{self.starts}.log", "wb")  # noqa: SIM115, ASYNC230 - owned by the child
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "onepool_orders", env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        await self._until_serving()

    async def _until_serving(self, within: float = 60.0) -> None:
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        async with grpc.aio.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while loop.time() < deadline:
                if self.proc.returncode is not None:
                    raise AssertionError(f"orders exited with {self.proc.returncode}; see {self.log_dir}")
                with contextlib.suppress(grpc.aio.AioRpcError):
                    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=0.5)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"orders did not become healthy; see {self.log_dir}")

    async def exited(self, within: float = 20.0) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), within)

    async def stop(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture(scope="module")
async def world(stack, admin) -> World:  # type: ignore[no-untyped-def]
    await stack.start("inventory", sweeper_interval_seconds=0.2)
    await upgrade(ROOT / "services" / "orders" / "migrations", stack.database_url, "orders")
    return World(stack.stub("inventory"), None, admin, stack.nats_url)


@pytest.fixture(scope="module")
async def orders(stack, world: World, tmp_path_factory) -> AsyncIterator[OrdersProcess]:  # type: ignore[no-untyped-def]
    process = OrdersProcess(stack, tmp_path_factory.mktemp("orders-process"))
    yield process
    await process.stop()


async def _find(orders: OrdersProcess, admin: Any, channel_id: str, external_order_id: str) -> opb.Order | None:
    reply = await orders.stub().ListOrders(opb.ListOrdersRequest(channel_id=channel_id), metadata=admin)
    return next((o for o in reply.orders if o.external_order_id == external_order_id), None)


async def test_killing_orders_between_reserving_and_recording_leaves_nothing_stuck(
    world: World, orders: OrdersProcess
) -> None:
    sku = uid("KILL")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    request = world.place_request(channel, {sku: (2, 1000)}, payment_ttl_seconds=PAYMENT_TTL_SECONDS)
    await orders.start(fault_exit_after_reserve="true")
    await wait_until_orders_knows(orders.stub(), world.admin, channel)  # whose sales the channel's are

    with pytest.raises(grpc.aio.AioRpcError):
        await orders.stub().PlaceOrder(request, metadata=world.admin, timeout=20)

    assert await orders.exited() == FAULT_EXIT_CODE
    assert await world.reserved(sku) == 2  # the worst moment: stock held for an order nobody recorded

    await orders.start()  # restarted, without the fault

    resolved = await eventually(
        lambda: _find(orders, world.admin, channel, request.external_order_id),
        lambda o: o is not None and o.status != opb.ORDER_STATUS_PENDING,
    )
    assert resolved.status in (opb.ORDER_STATUS_RESERVED, opb.ORDER_STATUS_CANCELLED)
    # The customer retrying gets that same order, never a second one.
    retried = await orders.stub().PlaceOrder(request, metadata=world.admin)
    assert retried.order.id == resolved.id
    # Unpaid, it lapses like any order: cancelled, and no stock stays held past its TTL.
    final = await eventually(
        lambda: _find(orders, world.admin, channel, request.external_order_id),
        lambda o: o is not None and o.status == opb.ORDER_STATUS_CANCELLED,
    )
    assert final.id == resolved.id
    assert await eventually(lambda: world.reserved(sku), lambda held: held == 0) == 0
    assert [
        o
        for o in (
            await orders.stub().ListOrders(opb.ListOrdersRequest(status=opb.ORDER_STATUS_PENDING), metadata=world.admin)
        ).orders
    ] == []


async def test_orders_placed_while_inventory_is_down_are_reserved_once_it_is_back(
    stack, world: World, orders: OrdersProcess
) -> None:  # type: ignore[no-untyped-def]
    sku = uid("DOWN")
    warehouse = await world.location("WH")
    await world.stock(warehouse, {sku: 5})
    channel = await world.channel(location_ids=[warehouse])
    if orders.proc is None or orders.proc.returncode is not None:
        await orders.start()
    await wait_until_orders_knows(orders.stub(), world.admin, channel)
    request = world.place_request(channel, {sku: (1, 500)})

    await stack.stop("inventory")
    try:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await orders.stub().PlaceOrder(request, metadata=world.admin)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await stack.start("inventory", sweeper_interval_seconds=0.2)
        world.inventory = stack.stub("inventory")

    reserved = await eventually(
        lambda: _find(orders, world.admin, channel, request.external_order_id),
        lambda o: o is not None and o.status == opb.ORDER_STATUS_RESERVED,
    )
    assert await world.reserved(sku) == 1
    assert (await orders.stub().PlaceOrder(request, metadata=world.admin)).order.id == reserved.id
