"""One order is one trace: a storefront's checkout (place + pay) shows up as spans of the orders service,
inventory, the orders outbox relay and the settlement consumer, all under the storefront's trace id."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.inventory.v1 import inventory_pb2 as ipb
from onepool.orders.v1 import orders_pb2 as opb
from onepool.orders.v1 import orders_pb2_grpc
from onepool.settlement.v1 import settlement_pb2 as spb
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.telemetry import configure_telemetry
from opentelemetry import trace
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.channels import wait_until_orders_knows
from tests.support.gateway import running_gateway
from tests.support.orders import cny, eventually, ship_to, uid

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    # A process records spans only with an SDK provider, which the runtime installs for an exporter; this test
    # installs its own (in-memory) first, and configure_telemetry keeps it.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())
    configure_telemetry(ServiceSettings(service_name="tests"))
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_place_and_pay_is_one_trace_through_orders_inventory_relay_and_settlement(stack, admin, spans) -> None:  # type: ignore[no-untyped-def]
    await stack.start("inventory", "channels", "orders", "settlement")
    inventory, channels, settlement = stack.stub("inventory"), stack.stub("channels"), stack.stub("settlement")
    warehouse, sku = uid("WH"), uid("SKU")
    await inventory.UpsertLocation(
        ipb.UpsertLocationRequest(location=ipb.Location(id=warehouse, name="wh", type=1, ships=True)), metadata=admin
    )
    await inventory.ReceiveStock(
        ipb.ReceiveStockRequest(request_id=uid("r"), location_id=warehouse, lines=[ipb.StockLine(sku=sku, quantity=5)]),
        metadata=admin,
    )
    channel = (
        await channels.CreateChannel(
            cpb.CreateChannelRequest(
                code=uid("web"),
                name="web store",
                type=cpb.CHANNEL_TYPE_ONLINE_STORE,
                fee_rate_bps=200,
                request_id=uid("c"),
                catalogue=cpb.CATALOGUE_POOL,  # the order names a SKU without a listing
            ),
            metadata=admin,
        )
    ).channel

    async def inventory_knows_channel() -> bool:
        try:
            await inventory.GetAvailability(
                ipb.GetAvailabilityRequest(skus=[sku], channel_id=channel.id), metadata=admin
            )
            return True
        except grpc.aio.AioRpcError:
            return False

    await eventually(inventory_knows_channel, bool)
    await wait_until_orders_knows(stack.stub("orders"), admin, channel.id)  # whose sales the channel's are

    tracer = trace.get_tracer("storefront")
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{stack.ports['orders']}", interceptors=aio_client_interceptors()
    ) as traced_channel:
        orders = orders_pb2_grpc.OrderServiceStub(traced_channel)
        with tracer.start_as_current_span("storefront checkout") as checkout:
            order = (
                await orders.PlaceOrder(
                    opb.PlaceOrderRequest(
                        channel_id=channel.id,
                        external_order_id=uid("web"),
                        customer=opb.Customer(phone="13800000000"),
                        lines=[opb.OrderLine(sku=sku, quantity=2, unit_price=cny(5000))],
                        fulfillment=ship_to(),
                    ),
                    metadata=admin,
                )
            ).order
            assert order.status == opb.ORDER_STATUS_RESERVED
            await orders.PayOrder(
                opb.PayOrderRequest(order_id=order.id, payment_ref="pay-1", amount=order.total), metadata=admin
            )
        trace_id = checkout.get_span_context().trace_id

    channel_party = f"channel:{channel.id}"
    await eventually(
        lambda: settlement.GetBalance(spb.GetBalanceRequest(party=channel_party), metadata=admin),
        lambda reply: reply.balance.amount_minor == 200,  # 2% of 10000 fen
    )

    async def names() -> set[str]:
        return {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}

    in_trace = await eventually(names, lambda n: "consume orders.order.paid" in n)
    assert "/onepool.orders.v1.OrderService/PlaceOrder" in in_trace
    assert "/onepool.orders.v1.OrderService/PayOrder" in in_trace
    assert "/onepool.inventory.v1.InventoryService/Reserve" in in_trace  # orders -> inventory, server side
    assert "/onepool.inventory.v1.InventoryService/CommitReservation" in in_trace
    assert "publish orders.order.paid" in in_trace  # the orders outbox relay
    assert "consume orders.order.paid" in in_trace  # the settlement consumer
    consumer = next(
        s
        for s in spans.get_finished_spans()
        if s.name == "consume orders.order.paid" and s.context.trace_id == trace_id
    )
    assert consumer.kind == trace.SpanKind.CONSUMER
    assert consumer.attributes["messaging.consumer.group.name"].startswith("settlement-")


async def test_a_browser_call_through_the_gateway_is_one_trace_with_the_gateways_hop(stack, admin, spans) -> None:  # type: ignore[no-untyped-def]
    """The browser's trace continues through the gateway's SERVER span, the parent of the service's span."""
    await stack.start("inventory")
    browser_trace, browser_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    path = "/onepool.inventory.v1.InventoryService/GetAvailability"
    async with running_gateway(stack) as url, httpx.AsyncClient(base_url=url, timeout=30) as web:
        reply = await web.post(
            path,
            json={"skus": [uid("SKU")]},
            headers={
                "Authorization": dict(admin)["authorization"],
                "traceparent": f"00-{browser_trace}-{browser_span}-01",
            },
        )
    assert reply.status_code == 200, reply.text

    async def hops() -> list[Any]:
        return [
            s for s in spans.get_finished_spans() if s.name == path and s.context.trace_id == int(browser_trace, 16)
        ]

    service, gateway = await eventually(hops, lambda found: len(found) == 2)  # the service's span ends first
    assert gateway.kind == service.kind == trace.SpanKind.SERVER
    assert gateway.parent is not None and gateway.parent.span_id == int(browser_span, 16)
    assert service.parent is not None and service.parent.span_id == gateway.context.span_id
    assert gateway.attributes["rpc.grpc.status_code"] == 0
