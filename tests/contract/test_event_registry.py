"""One binding of subject to message: the registry generated from the protos' subject options is complete and
consistent, every service produces and consumes events through it, and a consumer never decodes a payload
as another message than the one its subscription expects."""

from __future__ import annotations

import ast
import asyncio
import importlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from onepool.common.v1 import common_pb2
from onepool.orders.v1 import events_pb2 as order_events
from onepool.orders.v1 import orders_pb2
from onepool_cli.services import SERVICES
from onepool_contracts import events as registry
from onepool_runtime import db, messaging
from onepool_runtime.consumer import EventConsumer, Subscription
from onepool_runtime.outbox import EVENT_TYPE_HEADER, MSG_ID_HEADER
from onepool_runtime.tables import metadata
from onepool_runtime.uow import UnitOfWork

ROOT = Path(__file__).resolve().parents[2]

# The public subjects (the public contract, ../shared/docs/contracts.md "Events", outside this repository; all of
# them in docs/events.md): renaming one breaks every subscriber, in any language.
PUBLIC_SUBJECTS = {
    "orders.order.placed",
    "orders.order.paid",
    "orders.order.cancelled",
    "orders.order.shipped",
    "orders.order.completed",
    "orders.order.returned",
    "orders.order.return_window_closed",
    "orders.order.deposit_paid",
    "orders.order.promise_moved",
    "orders.order.stock_filled",
    "orders.order.delivery_address_changed",
    "orders.order.repriced",
    "inventory.stock.changed",
    "inventory.location.upserted",
    "inventory.reservation.created",
    "inventory.reservation.committed",
    "inventory.reservation.released",
    "inventory.reservation.expired",
    "inventory.reservation.fulfilled",
    "inventory.transfer.shipped",
    "inventory.transfer.received",
    "inventory.channel_allocation.changed",
    "inventory.channel_sales.changed",
    "inventory.expected_receipt.recorded",
    "inventory.expected_receipt.cancelled",
    "inventory.expected_receipt.changed",
    "inventory.reservation.filled",
    "inventory.reservation.promise_moved",
    "channels.channel.created",
    "channels.channel.updated",
    "channels.listing.upserted",
    "channels.stock.updated",
    "dealers.dealer.registered",
    "dealers.dealer.updated",
    "dealers.replenishment.placed",
    "dealers.replenishment.shipped",
    "dealers.replenishment.received",
    "dealers.replenishment.rejected",
    "dealers.ownership.moved",
    "settlement.entry.posted",
    "settlement.statement.generated",
}


def test_registry_holds_exactly_the_public_subjects_one_message_each() -> None:
    assert set(registry.BY_SUBJECT) == PUBLIC_SUBJECTS
    assert len(registry.EVENTS) == len(registry.BY_SUBJECT) == len(registry.BY_NAME)


def test_every_event_message_in_the_protos_has_its_subject_in_the_registry() -> None:
    for service in messaging.STREAMS:
        module = importlib.import_module(f"onepool.{service}.v1.events_pb2")
        for name, descriptor in module.DESCRIPTOR.message_types_by_name.items():
            declared = descriptor.GetOptions().Extensions[common_pb2.subject]
            assert declared, f"{descriptor.full_name} has no (onepool.common.v1.subject) option"
            entry = registry.BY_SUBJECT[declared]
            assert entry.message is getattr(module, name)
            assert entry.producer == service
            assert entry.stream == messaging.STREAMS[service]


def _produced_messages(service: str) -> set[str]:
    """Full names of the event messages a service's translator (the only place its events are made) builds: the
    ones its `carrying` rules build (`Translator.produces`) and the ones its code constructs."""
    path = ROOT / "services" / service / "src" / f"onepool_{service}" / "adapters" / "integration.py"
    tree = ast.parse(path.read_text())
    aliases = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
        if alias.name.startswith("events_pb2")
    }
    translate = importlib.import_module(f"onepool_{service}.adapters.integration").translate
    produced = {m.DESCRIPTOR.full_name for m in getattr(translate, "produces", ())}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in aliases
        ):
            module = importlib.import_module(aliases[node.func.value.id])
            produced.add(getattr(module, node.func.attr).DESCRIPTOR.full_name)
    return produced


def test_every_produced_message_is_registered_to_its_producer_and_every_registered_one_is_produced() -> None:
    produced = {service.name: _produced_messages(service.name) for service in SERVICES}
    for service, names in produced.items():
        assert names, f"found no events built by {service}'s translator"
        for name in names:
            assert name in registry.BY_NAME, f"{service} produces {name}, which has no subject"
            assert registry.BY_NAME[name].producer == service
    assert set().union(*produced.values()) == set(registry.BY_NAME)


def test_every_subscribed_subject_is_produced_by_some_service() -> None:
    subscribed = 0
    for service in SERVICES:
        for consumer in service.event_consumers():
            assert consumer.durable.startswith(f"{service.name}-")
            for sub in consumer.subscriptions:
                subscribed += 1
                entry = registry.BY_SUBJECT.get(sub.subject)
                assert entry is not None, f"{consumer.durable} reads {sub.subject}, which no service produces"
                assert entry.message is sub.message_type, f"{consumer.durable} decodes {sub.subject} as another type"
                assert entry.stream == consumer.stream, f"{consumer.durable} reads {sub.subject} from {consumer.stream}"
                assert entry.producer in {s.name for s in SERVICES}
    assert subscribed >= 20  # five services' consumers were found, not an empty list


def _docstrings(tree: ast.AST) -> set[int]:
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def test_service_code_spells_no_subject() -> None:
    """Subjects live in the protos only. Code (not prose in docstrings) finds them in the registry; not even a
    piece of one (`f"orders.order.{name}"`) is spelled."""
    pieces = {s.rsplit(".", 1)[0] + "." for s in registry.BY_SUBJECT}  # "orders.order.", "inventory.stock.", ...
    found = []
    for path in sorted((ROOT / "services").glob("*/src/**/*.py")):
        tree = ast.parse(path.read_text())
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {p}" for p in pieces if p in node.value]
    assert found == []


# --- a consumer on real PostgreSQL and NATS ---------------------------------------------------------------


@pytest.fixture
async def orders_env(database_url: str, nats_url: str) -> AsyncIterator[tuple[object, UnitOfWork]]:
    schema = f"ct_{uuid.uuid4().hex[:8]}"
    engine = db.create_engine(database_url, schema)
    await db.ensure_schema(engine, schema)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    nc = await messaging.connect(nats_url, "contract-tests")
    js = nc.jetstream()
    await messaging.ensure_service_stream(js, "orders")
    yield js, (lambda: UnitOfWork(db.session_factory(engine), source="contract"))  # type: ignore[misc]
    await nc.close()
    await engine.dispose()


async def test_payload_of_another_event_type_is_dead_lettered_not_decoded_as_the_subscribed_one(orders_env) -> None:  # type: ignore[no-untyped-def]
    """OrderCompleted and OrderPaid share a wire layout: read by subject alone, a completed order published on
    the paid subject would be booked as a payment. The type header tells them apart."""
    js, uow_factory = orders_env
    handled: list[str] = []

    async def on_paid(event: order_events.OrderPaid, uow: UnitOfWork) -> None:
        handled.append(event.meta.event_id)

    consumer = EventConsumer(
        js,
        uow_factory,
        service="contract",
        name="paid",
        stream=messaging.STREAMS["orders"],
        subscriptions=[Subscription.of(order_events.OrderPaid, on_paid)],
        backoff=lambda n: 0.05,
    )
    subject = registry.subject_of(order_events.OrderPaid)
    completed = order_events.OrderCompleted(
        meta=common_pb2.EventMeta(event_id="evt-completed"), order=orders_pb2.Order(id="ORD-1")
    )
    assert order_events.OrderPaid.FromString(completed.SerializeToString()).order.id == "ORD-1"  # same layout
    paid = order_events.OrderPaid(meta=common_pb2.EventMeta(event_id="evt-paid"), order=orders_pb2.Order(id="ORD-2"))
    for event in (completed, paid):
        headers = {MSG_ID_HEADER: event.meta.event_id, EVENT_TYPE_HEADER: event.DESCRIPTOR.full_name}
        await js.publish(subject, event.SerializeToString(), headers=headers)

    dead_letters = await js.pull_subscribe(consumer.dlq_subject, stream=messaging.DLQ_STREAM)
    task = asyncio.create_task(consumer.run())
    try:
        [dead] = await dead_letters.fetch(1, timeout=10)
        for _ in range(200):
            if handled:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await dead_letters.unsubscribe()
    assert handled == ["evt-paid"]  # the matching event is handled; the other never reaches the handler
    assert dead.headers["Onepool-Original-Msg-Id"] == "evt-completed"
    assert dead.headers["Onepool-Deliveries"] == "1"  # at once, not after retries
    assert "onepool.orders.v1.OrderCompleted" in dead.headers["Onepool-Error"]
    assert order_events.OrderCompleted.FromString(dead.data) == completed
