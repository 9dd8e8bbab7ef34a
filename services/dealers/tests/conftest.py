"""The dealers service on real PostgreSQL and NATS, with in-memory fakes of its peers (channels, inventory),
so its own behaviour (sagas, credit under concurrency, scoping, read models) is tested fast and alone.
The real peers are wired together in tests/dealers."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from google.protobuf.message import Message
from onepool.dealers.v1 import dealers_pb2 as pb
from onepool.dealers.v1 import dealers_pb2_grpc
from onepool.inventory.v1 import inventory_pb2 as inv
from onepool_dealers.domain.model import Dealer, DealerStatus, Location, LocationType, StockLine
from onepool_dealers.entrypoints.bootstrap import build_with
from onepool_dealers.service_layer.ports import OpenReceipt
from onepool_dealers.service_layer.sagas import Sagas
from onepool_dealers.settings import DealersSettings
from onepool_runtime import errors
from onepool_runtime.server import ServiceHost
from onepool_runtime.testing.services import SESSION_TOKEN_TTL, metadata, running_service, test_settings

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


@dataclass
class FakeChannels:
    """Creates a channel once per dealer, like the real service's idempotent CreateChannel."""

    channels: dict[str, dict[str, object]] = field(default_factory=dict)
    create_calls: int = 0
    down: bool = False

    async def create_dealer_channel(self, dealer: Dealer) -> str:
        self.create_calls += 1
        if self.down:
            raise errors.Unavailable("channels failed: UNAVAILABLE")
        channel_id = f"CH-{dealer.id}"
        self.channels.setdefault(channel_id, {"owner": dealer.id, "locations": [], "paused": False})
        return channel_id

    async def update_dealer_channel(self, channel_id: str, dealer: Dealer) -> None:
        if self.down:
            raise errors.Unavailable("channels failed: UNAVAILABLE")
        self.channels[channel_id].update(
            locations=sorted(dealer.location_ids), paused=dealer.status is DealerStatus.SUSPENDED, name=dealer.name
        )


@dataclass
class FakeInventory:
    locations: dict[str, Location] = field(default_factory=dict)
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    transfers: dict[str, dict[str, object]] = field(default_factory=dict)
    by_request: dict[str, str] = field(default_factory=dict)
    down: bool = False
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The next this-many ExpectReceipt calls fail as if inventory were unreachable (the transfer does not).
    expectations_failing: int = 0
    # The same for CancelExpectedReceipt.
    cancels_failing: int = 0
    # How many times dealers read a location's open receipts.
    receipt_reads: int = 0
    # How many times dealers asked for locations it did not know.
    location_lookups: int = 0
    _ids: itertools.count = field(default_factory=itertools.count)  # type: ignore[type-arg]

    def _up(self) -> None:
        if self.down:
            raise errors.Unavailable("inventory failed: UNAVAILABLE")

    def warehouse(self, **stock: int) -> str:
        location_id = f"WH-{uuid.uuid4().hex[:8]}"
        self.locations[location_id] = Location(location_id, "Brand warehouse", LocationType.WAREHOUSE)
        for sku, quantity in stock.items():
            self.stock[(sku, location_id)] = quantity
        return location_id

    async def upsert_location(self, location: Location) -> Location:
        self._up()
        existing = self.locations.get(location.id)
        if existing is not None and existing.owner_dealer_id != location.owner_dealer_id:
            raise errors.FailedPrecondition("OWNER_IMMUTABLE", "belongs to someone else", {"location_id": location.id})
        self.locations[location.id] = location
        return location

    async def find_brand_warehouse(self, location_id: str) -> Location | None:
        self._up()
        found = self.locations.get(location_id)
        return found if found is not None and found.type is LocationType.WAREHOUSE else None

    async def find_locations(self, location_ids: list[str]) -> list[Location]:
        self._up()
        self.location_lookups += 1
        return [self.locations[i] for i in location_ids if i in self.locations]

    async def transfer(
        self, *, request_id: str, from_location_id: str, to_location_id: str, lines: list[StockLine], reference: str
    ) -> str:
        self._up()
        if request_id in self.by_request:
            return self.by_request[request_id]
        short = [ln for ln in lines if self.stock.get((ln.sku, from_location_id), 0) < ln.quantity]
        if short:
            have = self.stock.get((short[0].sku, from_location_id), 0)
            raise errors.InsufficientStock([errors.Shortage(short[0].sku, short[0].quantity, have)])
        for ln in lines:
            self.stock[(ln.sku, from_location_id)] -= ln.quantity
        transfer_id = f"T-{next(self._ids)}"
        self.by_request[request_id] = transfer_id
        self.transfers[transfer_id] = {"to": to_location_id, "lines": lines, "received": False, "reference": reference}
        return transfer_id

    async def receive_transfer(self, transfer_id: str) -> None:
        self._up()
        transfer = self.transfers[transfer_id]
        if not transfer["received"]:
            transfer["received"] = True
            for ln in transfer["lines"]:  # type: ignore[attr-defined]
                key = (ln.sku, transfer["to"])
                self.stock[key] = self.stock.get(key, 0) + ln.quantity  # type: ignore[index]

    async def expect_receipt(
        self, *, request_id: str, location_id: str, lines: list[StockLine], expected_at: Any, reference: str
    ) -> str:
        self._up()
        if self.expectations_failing:
            self.expectations_failing -= 1
            raise errors.Unavailable("inventory is unreachable")
        content = (location_id, [(ln.sku, ln.quantity) for ln in lines], expected_at, reference)
        for receipt_id, receipt in self.expected.items():
            if receipt["request_id"] == request_id:
                # Inventory refuses a request id reused for a different request (its fingerprint).
                stored = (receipt["location_id"], receipt["lines"], receipt["expected_at"], receipt["reference"])
                if stored != content:
                    raise errors.InvalidArgument("request_id", "already used for a different request")
                return receipt_id
        receipt_id = f"R-{next(self._ids)}"
        self.expected[receipt_id] = {
            "request_id": request_id,
            "location_id": location_id,
            "lines": [(ln.sku, ln.quantity) for ln in lines],
            "expected_at": expected_at,
            "reference": reference,
            "status": "OPEN",
        }
        return receipt_id

    async def expected_receipt_of(self, location_id: str, reference: str) -> str:
        self._up()
        self.receipt_reads += 1
        return next(
            (i for i, r in self.expected.items() if r["location_id"] == location_id and r["reference"] == reference),
            "",
        )

    async def open_receipts_at(self, location_id: str) -> list[OpenReceipt]:
        self._up()
        self.receipt_reads += 1
        return [
            OpenReceipt(receipt_id, r["reference"], tuple(StockLine(sku, q) for sku, q in r["lines"]))
            for receipt_id, r in self.expected.items()
            if r["location_id"] == location_id and r["status"] == "OPEN" and r["reference"]
        ]

    async def cancel_expected_receipt(self, receipt_id: str, reason: str) -> None:
        self._up()
        if self.cancels_failing:
            self.cancels_failing -= 1
            raise errors.Unavailable("inventory is unreachable")
        self.expected[receipt_id]["status"] = "CANCELLED"


@pytest.fixture(scope="module")
def fake_channels() -> FakeChannels:
    return FakeChannels()


@pytest.fixture(scope="module")
def fake_inventory() -> FakeInventory:
    return FakeInventory()


@pytest.fixture(scope="module")
async def dealers_host(
    database_url: str, nats_url: str, fake_channels: FakeChannels, fake_inventory: FakeInventory
) -> AsyncIterator[ServiceHost]:
    # The recovery loop is driven by the tests (sagas.recover_once), not by the clock.
    settings = test_settings(
        DealersSettings, database_url, nats_url, recovery_interval_seconds=3600, shipping_retry_after_seconds=0
    )
    build = partial(build_with, channels=fake_channels, inventory=fake_inventory)
    async with running_service(settings, build, MIGRATIONS) as host:
        yield host


@pytest.fixture(scope="module")
async def dealers(dealers_host: ServiceHost) -> AsyncIterator[dealers_pb2_grpc.DealerServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{dealers_host.port}") as channel:
        yield dealers_pb2_grpc.DealerServiceStub(channel)


@pytest.fixture(scope="module")
def sagas(dealers_host: ServiceHost) -> Sagas:
    assert dealers_host.parts is not None
    return dealers_host.parts.components["sagas"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def dealers_db(dealers_host: ServiceHost):  # type: ignore[no-untyped-def]
    assert dealers_host.infra is not None
    return dealers_host.infra.engine


@pytest.fixture(scope="session")
def admin() -> tuple[tuple[str, str], ...]:
    # Valid for the whole session: `make test-long` runs for an hour or more (the default is ten minutes).
    return metadata("admin", ttl=SESSION_TOKEN_TTL)


def cny(amount: int) -> object:
    from onepool.common.v1 import common_pb2

    return common_pb2.Money(currency="CNY", amount_minor=amount)


class Setup:
    """Dealers with a store, a brand warehouse with stock, prices: unique names per test."""

    def __init__(self, dealers, admin, inventory: FakeInventory) -> None:  # type: ignore[no-untyped-def]
        self.dealers = dealers
        self.admin = admin
        self.inventory = inventory

    @staticmethod
    def name(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    async def dealer(self, limit: int = 10_000, tier: int = pb.DEALER_TIER_STANDARD) -> pb.Dealer:
        reply = await self.dealers.RegisterDealer(
            pb.RegisterDealerRequest(
                request_id=self.name("reg"), name="Dealer", tier=tier, credit_limit=cny(limit), region="CN-SH"
            ),
            metadata=self.admin,
        )
        return reply.dealer

    async def store(self, dealer_id: str) -> str:
        location_id = self.name("DS")
        await self.dealers.AddDealerLocation(
            pb.AddDealerLocationRequest(
                dealer_id=dealer_id,
                location=inv.Location(id=location_id, name="Shop", type=inv.LOCATION_TYPE_DEALER_STORE),
            ),
            metadata=self.admin,
        )
        return location_id

    async def price(self, sku: str, list_price: int) -> None:
        await self.dealers.SetWholesalePrice(
            pb.SetWholesalePriceRequest(sku=sku, list_price=cny(list_price)), metadata=self.admin
        )

    async def ready(self, limit: int = 10_000, tier: int = pb.DEALER_TIER_STANDARD, **stock: int):  # type: ignore[no-untyped-def]
        """A dealer with a store, and a warehouse holding `stock` (each SKU priced at 1000 fen)."""
        dealer = await self.dealer(limit, tier)
        store = await self.store(dealer.id)
        warehouse = self.inventory.warehouse(**stock)
        for sku in stock:
            await self.price(sku, 1000)
        return dealer, store, warehouse

    def place_request(self, dealer_id: str, warehouse: str, store: str, **lines: int) -> pb.PlaceReplenishmentRequest:
        return pb.PlaceReplenishmentRequest(
            request_id=self.name("p"),
            dealer_id=dealer_id,
            from_location_id=warehouse,
            to_location_id=store,
            lines=[pb.ReplenishmentLine(sku=sku, quantity=q) for sku, q in lines.items()],
        )


@pytest.fixture
def setup(dealers, admin, fake_inventory) -> Setup:  # type: ignore[no-untyped-def]
    return Setup(dealers, admin, fake_inventory)


Publish = Callable[[str, Message], Awaitable[None]]


@pytest.fixture(scope="module")
async def publish(dealers_host, nats_url: str) -> AsyncIterator[Publish]:  # type: ignore[no-untyped-def]
    """Publish another service's event on JetStream, as its relay would (the event id is the message id)."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    async def send(subject: str, message: Message, event_id: str = "") -> None:
        event_id = event_id or str(uuid.uuid4())
        message.meta.event_id = event_id  # type: ignore[attr-defined]
        await js.publish(subject, message.SerializeToString(), headers={"Nats-Msg-Id": event_id})

    yield send  # type: ignore[misc]
    await nc.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
