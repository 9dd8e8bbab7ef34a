from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from onepool.inventory.v1 import inventory_pb2_grpc
from onepool_inventory.entrypoints.bootstrap import build
from onepool_inventory.settings import InventorySettings
from onepool_runtime.server import ServiceHost
from onepool_runtime.testing.services import SESSION_TOKEN_TTL, metadata, running_service, test_settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@pytest.fixture(scope="module")
async def inventory_host(database_url: str, nats_url: str) -> AsyncIterator[ServiceHost]:
    settings = test_settings(InventorySettings, database_url, nats_url, sweeper_interval_seconds=0.2)
    async with running_service(settings, build, MIGRATIONS) as host:
        yield host


@pytest.fixture(scope="module")
async def inventory(inventory_host: ServiceHost) -> AsyncIterator[inventory_pb2_grpc.InventoryServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{inventory_host.port}") as channel:
        yield inventory_pb2_grpc.InventoryServiceStub(channel)


@pytest.fixture(scope="session")
def admin() -> tuple[tuple[str, str], ...]:
    # Valid for the whole session: `make test-long` runs for an hour or more (the default is ten minutes).
    return metadata("admin", ttl=SESSION_TOKEN_TTL)


@pytest.fixture(scope="module")
async def inventory_db(inventory_host: ServiceHost) -> AsyncIterator[object]:
    """A read-only view of the inventory schema, for checking invariants against the ledger."""
    assert inventory_host.infra is not None
    yield inventory_host.infra.engine


@pytest.fixture(scope="module")
def check_invariants(inventory_db):  # type: ignore[no-untyped-def]
    """Assert the brief's invariants over every (sku, location):
    0 <= reserved <= on_hand; on_hand == sum of its ledger movements; reserved == sum of open allocations on hand;
    awaiting == sum of their units still waiting for goods; expected == what open expected receipts still bring;
    each open receipt line was last published as promising what the waiting line there promises it now;
    dedicated == the remaining units of its ACTIVE channel allocations."""
    from onepool_inventory.domain.expected import PublishedPromise, moved_promises
    from sqlalchemy import text

    async def check() -> dict[tuple[str, str], tuple[int, int]]:
        async with inventory_db.connect() as conn:  # type: ignore[attr-defined]
            rows = (await conn.execute(text("SELECT * FROM stock_levels"))).all()
            levels = {(r.sku, r.location_id): (r.on_hand, r.reserved, r.safety_stock) for r in rows}
            dedicated = {(r.sku, r.location_id): r.dedicated for r in rows}
            set_aside = {
                (r.sku, r.location_id): int(r.remaining)
                for r in (
                    await conn.execute(
                        text(
                            "SELECT sku, location_id, sum(remaining) AS remaining FROM channel_allocations "
                            "WHERE status = 'ACTIVE' GROUP BY 1, 2"
                        )
                    )
                ).all()
            }
            waiting = {(r.sku, r.location_id): (r.awaiting, r.expected) for r in rows}
            expected = {
                (r.sku, r.location_id): int(r.remaining)
                for r in (
                    await conn.execute(
                        text(
                            "SELECT l.sku, e.location_id, "
                            # A line received beyond its quantity brings nothing more (ExpectedLine.remaining).
                            "sum(GREATEST(0, l.quantity - l.received - l.shortfall)) AS remaining "
                            "FROM expected_receipt_lines l JOIN expected_receipts e ON e.id = l.receipt_id "
                            "WHERE e.status = 'OPEN' GROUP BY 1, 2"
                        )
                    )
                ).all()
            }
            ledger = {
                (r.sku, r.location_id): int(r.total)
                for r in (
                    await conn.execute(
                        text("SELECT sku, location_id, sum(delta) AS total FROM movements GROUP BY 1, 2")
                    )
                ).all()
            }
            open_rows = (
                await conn.execute(
                    text(
                        "SELECT a.sku, a.location_id, sum(a.quantity - a.fulfilled - a.awaiting) AS open, "
                        "sum(a.awaiting) AS awaiting FROM allocations a "
                        "JOIN reservations r ON r.id = a.reservation_id "
                        "WHERE r.status IN ('ACTIVE', 'COMMITTED') GROUP BY 1, 2"
                    )
                )
            ).all()
            reserved = {(r.sku, r.location_id): int(r.open) for r in open_rows}
            awaited = {(r.sku, r.location_id): int(r.awaiting) for r in open_rows}
            published = [
                PublishedPromise(*r)
                for r in (
                    await conn.execute(
                        text(
                            "SELECT l.receipt_id, l.sku, e.location_id, e.expected_at, "
                            "l.quantity - l.received - l.shortfall, l.promised "
                            "FROM expected_receipt_lines l JOIN expected_receipts e ON e.id = l.receipt_id "
                            "WHERE e.status = 'OPEN'"
                        )
                    )
                ).all()
            ]
        assert moved_promises({k: a for k, (a, _) in waiting.items()}, published) == {}
        for key, (on_hand, res, safety) in levels.items():
            assert 0 <= res <= on_hand, (key, on_hand, res)
            assert safety >= 0
            assert on_hand == ledger.get(key, 0), (key, on_hand, ledger.get(key))
            assert res == reserved.get(key, 0), (key, res, reserved.get(key))
            awaiting, coming = waiting[key]
            assert awaiting == awaited.get(key, 0), (key, awaiting, awaited.get(key))
            assert coming == expected.get(key, 0), (key, coming, expected.get(key))
            assert dedicated[key] == set_aside.get(key, 0), (key, dedicated[key], set_aside.get(key))
        for key in set_aside:
            assert key in levels, key
        for key in set(ledger) | set(reserved):
            assert key in levels, key
        return {k: (v[0], v[1]) for k, v in levels.items()}

    return check


class Setup:
    """Small helpers to lay out locations and stock with unique names per test."""

    def __init__(self, inventory, admin) -> None:  # type: ignore[no-untyped-def]
        self.inventory = inventory
        self.admin = admin
        self.tag = ""

    def name(self, prefix: str) -> str:
        import uuid

        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    async def location(
        self,
        prefix: str = "WH",
        *,
        type_: int = 1,
        region: str = "",
        ships: bool = True,
        pickup: bool = False,
        priority: int = 0,
        owner: str = "",
    ) -> str:
        from onepool.inventory.v1 import inventory_pb2 as pb

        location_id = self.name(prefix)
        await self.inventory.UpsertLocation(
            pb.UpsertLocationRequest(
                location=pb.Location(
                    id=location_id,
                    name=prefix,
                    type=type_,
                    region=region,
                    ships=ships,
                    pickup=pickup,
                    priority=priority,
                    owner_dealer_id=owner,
                )
            ),
            metadata=self.admin,
        )
        return location_id

    async def stock(self, location_id: str, **quantities: int) -> None:
        from onepool.inventory.v1 import inventory_pb2 as pb

        await self.inventory.ReceiveStock(
            pb.ReceiveStockRequest(
                request_id=self.name("rcv"),
                location_id=location_id,
                lines=[pb.StockLine(sku=sku, quantity=q) for sku, q in quantities.items()],
            ),
            metadata=self.admin,
        )

    async def reserve(self, *lines: tuple[str, int], **kwargs):  # type: ignore[no-untyped-def]
        from onepool.inventory.v1 import inventory_pb2 as pb

        hint = kwargs.pop("hint", None)
        request = pb.ReserveRequest(
            request_id=kwargs.pop("request_id", self.name("res")),
            order_id=kwargs.pop("order_id", self.name("o")),
            lines=[pb.ReserveLine(sku=s, quantity=q, location_id=kwargs.get("pin", "")) for s, q in lines],
            hint=hint,
            ttl_seconds=kwargs.pop("ttl_seconds", 0),
            channel_id=kwargs.pop("channel_id", ""),
        )
        return (await self.inventory.Reserve(request, metadata=self.admin)).reservation


@pytest.fixture
def setup(inventory, admin) -> Setup:  # type: ignore[no-untyped-def]
    return Setup(inventory, admin)
