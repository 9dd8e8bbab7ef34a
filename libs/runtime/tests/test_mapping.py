"""The runtime's shared translation helpers: enum maps from proto descriptors, same-named field copies,
request checks (lines, money, ids), a peer's error details, the column shapes and the standard consumer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from onepool.channels.v1 import channels_pb2
from onepool.common.v1 import common_pb2
from onepool.inventory.v1 import inventory_pb2
from onepool.settlement.v1 import settlement_pb2
from onepool_kernel.locations import Location
from onepool_kernel.locations import LocationType as KernelLocationType
from onepool_kernel.money import Money
from onepool_runtime import errors
from onepool_runtime.columns import core_table, core_tables, counter_column, money_column, timestamp_column
from onepool_runtime.errors import Violations
from onepool_runtime.grpc_errors import peer_details, to_status
from onepool_runtime.locations import check_location, location_from_proto, location_to_proto
from onepool_runtime.mapping import build, copy_fields, row_values, to_message
from onepool_runtime.protobuf import enum_maps, enum_prefix
from onepool_runtime.server import Infra
from onepool_runtime.settings import ServiceSettings
from onepool_runtime.tables import outbox
from onepool_runtime.uow import UnitOfWork
from onepool_runtime.validation import MAX_LINES, check_lines, check_money, valid_id
from sqlalchemy import Column, MetaData, String, Table


class LocationType(StrEnum):
    WAREHOUSE = "WAREHOUSE"
    STORE = "STORE"
    DEALER_WAREHOUSE = "DEALER_WAREHOUSE"
    DEALER_STORE = "DEALER_STORE"


def test_enum_maps_both_ways_by_the_proto_prefix() -> None:
    assert enum_prefix(inventory_pb2.LocationType) == "LOCATION_TYPE_"
    to_proto, from_proto = enum_maps(inventory_pb2.LocationType, LocationType)
    assert to_proto[LocationType.DEALER_STORE] == inventory_pb2.LOCATION_TYPE_DEALER_STORE
    for member in LocationType:
        assert inventory_pb2.LocationType.Name(to_proto[member]) == f"LOCATION_TYPE_{member.value}"
        assert from_proto[to_proto[member]] is member
    # UNSPECIFIED (and a value a newer contract adds) is not a domain value: requests check membership.
    assert inventory_pb2.LOCATION_TYPE_UNSPECIFIED not in from_proto
    assert len(from_proto) == len(LocationType)


def test_a_domain_member_the_proto_lacks_fails_at_import() -> None:
    class Drifted(StrEnum):
        WAREHOUSE = "WAREHOUSE"
        CLOUD = "CLOUD"

    with pytest.raises(ValueError, match="LOCATION_TYPE_CLOUD"):
        enum_maps(inventory_pb2.LocationType, Drifted)


@dataclass(frozen=True)
class Place:
    id: str
    region: str
    active: bool


def test_a_location_goes_to_inventory_v1_and_back_unchanged() -> None:
    loc = Location("s1", "Shop", KernelLocationType.DEALER_STORE, "d1", "north", False, True, -5, active=False)
    wire = location_to_proto(loc)
    assert wire == inventory_pb2.Location(
        id="s1",
        name="Shop",
        type=inventory_pb2.LOCATION_TYPE_DEALER_STORE,
        owner_dealer_id="d1",
        region="north",
        ships=False,
        pickup=True,
        priority=-5,
        disabled=True,
    )
    assert location_from_proto(wire) == loc
    # A type from a newer contract (or none) is not guessed.
    assert location_from_proto(inventory_pb2.Location(id="x", type=inventory_pb2.LOCATION_TYPE_UNSPECIFIED)) is None


def test_a_location_a_caller_gives_is_checked_the_same_way_by_every_service() -> None:
    def violations(loc: inventory_pb2.Location, *types: KernelLocationType) -> dict[str, str]:
        v = Violations()
        check_location(v, "location", loc, *([types] if types else []))
        return {f.field: f.description for f in v.items}

    assert violations(inventory_pb2.Location(id="w1", name="Main", type=inventory_pb2.LOCATION_TYPE_WAREHOUSE)) == {}
    assert violations(inventory_pb2.Location(name=" ", region="r" * 65, priority=1001)) == {
        "location.id": "is required",
        "location.name": "is required",
        "location.type": "must be WAREHOUSE, STORE, DEALER_WAREHOUSE or DEALER_STORE",
        "location.region": "must be at most 64 characters",
        "location.priority": "must be between -1000 and 1000",
    }
    shop = inventory_pb2.Location(id="w1", name="Main", type=inventory_pb2.LOCATION_TYPE_STORE, priority=-1000)
    dealer_types = (KernelLocationType.DEALER_WAREHOUSE, KernelLocationType.DEALER_STORE)
    assert violations(shop, *dealer_types) == {"location.type": "must be DEALER_WAREHOUSE or DEALER_STORE"}
    assert violations(shop, KernelLocationType.WAREHOUSE) == {"location.type": "must be WAREHOUSE"}


def test_copy_fields_takes_the_named_attributes_only() -> None:
    message = inventory_pb2.Location(id="L1", region="east", name="ignored", disabled=True)
    place = Place(**copy_fields(message, "id", "region"), active=not message.disabled)
    assert place == Place("L1", "east", active=False)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int


def _violations(lines: list[Line], path: str = "lines") -> list[tuple[str, str]]:
    v = Violations()
    check_lines(v, path, lines)
    return [(f.field, f.description) for f in v.items]


def test_check_lines_reports_every_problem_with_its_path() -> None:
    assert _violations([Line("A", 1), Line("B", 2)]) == []
    assert _violations([]) == [("lines", "must not be empty")]
    assert _violations([Line("A", 1), Line("A", 0), Line("", 1)], "transfer.lines") == [
        ("transfer.lines[1].quantity", "must be positive"),
        ("transfer.lines[1].sku", "appears twice; merge the lines"),
        ("transfer.lines[2].sku", "is required"),
    ]
    too_many = [Line(f"S{i}", 1) for i in range(MAX_LINES + 1)]
    assert _violations(too_many) == [("lines", f"must have at most {MAX_LINES} lines")]


def test_column_shapes() -> None:
    required, optional, manual = timestamp_column(), timestamp_column(nullable=True), timestamp_column(default=False)
    assert not required.nullable and required.server_default is not None
    assert optional.nullable and optional.server_default is None
    assert not manual.nullable and manual.server_default is None
    assert money_column().server_default.arg == "0"  # type: ignore[union-attr]
    assert counter_column(1).server_default.arg == "1"  # type: ignore[union-attr]
    assert timestamp_column() is not timestamp_column()  # a Column belongs to one table


def test_core_tables_are_the_tables_behind_the_models() -> None:
    class Model:
        __table__ = outbox

    assert core_table(Model) is outbox
    assert core_tables(Model, Model) == (outbox, outbox)


def test_infra_consumer_takes_the_standard_settings() -> None:
    settings = ServiceSettings(service_name="svc", consumer_max_deliver=7, consumer_ack_wait_seconds=12.0)
    infra = Infra(settings=settings, engine=None, sessions=None, nc=None, js=None)  # type: ignore[arg-type]

    class Uow(UnitOfWork):
        pass

    consumer = infra.consumer(Uow, "view", "ORDERS", [])
    assert (consumer.durable, consumer.dlq_subject, consumer.stream) == ("svc-view", "dlq.svc.view", "ORDERS")
    assert (consumer.max_deliver, consumer._ack_wait) == (7, 12.0)
    assert infra.consumer(Uow, "view", "ORDERS", [], max_deliver=30).max_deliver == 30


def _peer_error(exc: errors.DomainError) -> grpc.aio.AioRpcError:
    """What a client sees when a peer's servicer raised `exc` (the status the interceptor sends)."""
    status = to_status(exc)
    return grpc.aio.AioRpcError(
        status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
    )


def test_peer_details_read_back_what_to_status_sent() -> None:
    [bad] = peer_details(_peer_error(errors.InvalidArgument([errors.FieldViolation("lines[0].sku", "is required")])))
    assert isinstance(bad, error_details_pb2.BadRequest)
    assert [(f.field, f.description) for f in bad.field_violations] == [("lines[0].sku", "is required")]
    details = peer_details(_peer_error(errors.FailedPrecondition("CREDIT", "over the limit", {"available": "5"})))
    info = next(d for d in details if isinstance(d, error_details_pb2.ErrorInfo))
    assert (info.reason, dict(info.metadata)) == ("CREDIT", {"available": "5"})
    bare = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down")
    assert peer_details(bare) == []


def test_already_exists_names_the_resource_alone_and_describes_the_clash_apart() -> None:
    """ResourceInfo.resource_name is a name a client can look the resource up by; the prose saying how the
    request clashes with it is ResourceInfo.description (and stays in the message)."""
    clash = errors.AlreadyExists("order", "web/E1", description="as order o-1, which differs in: lines")
    refused = _peer_error(clash)
    [res] = peer_details(refused)
    assert isinstance(res, error_details_pb2.ResourceInfo)
    assert (res.resource_type, res.resource_name) == ("order", "web/E1")
    assert res.description == "as order o-1, which differs in: lines"
    assert refused.details() == "order 'web/E1' already exists (as order o-1, which differs in: lines)"


def test_check_money_and_valid_id() -> None:
    v = Violations()
    check_money(v, "price", common_pb2.Money(currency="CNY", amount_minor=5), max_minor=10)
    check_money(v, "credit", common_pb2.Money(currency="cny", amount_minor=-1), max_minor=10)
    check_money(v, "total", common_pb2.Money(currency="CNY", amount_minor=11), max_minor=10)
    check_money(v, "fee", common_pb2.Money(currency="ZZZ", amount_minor=1), max_minor=10)  # well-formed, not ISO's
    assert [(f.field, f.description) for f in v.items] == [
        ("credit.currency", "must be an active ISO 4217 currency code such as CNY"),
        ("credit.amount_minor", "must not be negative"),
        ("total.amount_minor", "must be at most 10"),
        ("fee.currency", "must be an active ISO 4217 currency code such as CNY"),
    ]
    assert valid_id("dealer_id", "D-1") == "D-1"
    with pytest.raises(errors.InvalidArgument) as refused:
        valid_id("dealer_id", "")
    assert [(f.field, f.description) for f in refused.value.violations] == [("dealer_id", "is required")]


def test_a_unit_of_work_names_its_source_and_translator_in_its_class_statement() -> None:
    def translate(event: object) -> list[Any]:
        return [event]

    class Named(UnitOfWork, source="svc", translate=translate):
        pass

    class Nameless(UnitOfWork):
        pass

    uow = Named(None)  # type: ignore[arg-type]
    assert (uow.source, uow._translate) == ("svc", translate)
    assert Named(None, source="other").source == "other"  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Nameless names no outbox source"):
        Nameless(None)  # type: ignore[arg-type]


class Kind(StrEnum):
    SALE = "SALE"


@dataclass
class Entry:
    entry_id: str
    account: Kind  # a StrEnum kept in a proto string field
    amount: Money
    memo: str = ""
    created_at: datetime | None = None
    location_ids: frozenset[str] = frozenset()
    events: list[Any] = field(default_factory=list)


def test_to_message_copies_same_named_fields_converting_times_money_and_sets() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    entry = Entry("E1", Kind.SALE, Money("CNY", 250), created_at=when)
    line = to_message(settlement_pb2.JournalLine, entry, memo="given wins", order_id="O1")
    assert line.entry_id == "E1" and line.account == "SALE" and line.memo == "given wins" and line.order_id == "O1"
    assert (line.amount.currency, line.amount.amount_minor) == ("CNY", 250)
    assert line.created_at.ToDatetime(tzinfo=UTC) == when
    assert not line.HasField("balance_after")  # nothing of that name on the source: left unset
    unset = to_message(settlement_pb2.JournalLine, Entry("E2", Kind.SALE, Money("CNY", 0)))
    assert not unset.HasField("created_at")  # None stays unset
    policy = to_message(
        channels_pb2.AllocationPolicy, Entry("E3", Kind.SALE, Money("CNY", 0), location_ids=frozenset("ba"))
    )
    assert list(policy.location_ids) == ["a", "b"]


def test_to_message_refuses_to_guess_an_enum_field() -> None:
    @dataclass
    class Loc:
        id: str
        type: LocationType

    with pytest.raises(TypeError, match=r"Location\.type: translate the enum"):
        to_message(inventory_pb2.Location, Loc("L1", LocationType.STORE))
    to_proto = enum_maps(inventory_pb2.LocationType, LocationType).to_proto
    loc = Loc("L1", LocationType.STORE)
    assert to_message(inventory_pb2.Location, loc, type=to_proto[loc.type]).type == inventory_pb2.LOCATION_TYPE_STORE


def test_build_takes_the_fields_a_source_has_and_leaves_the_rest_to_defaults() -> None:
    message = inventory_pb2.Location(id="L1", region="east", name="ignored", disabled=True)
    assert build(Place, message, active=not message.disabled) == Place("L1", "east", active=False)
    with pytest.raises(TypeError):
        build(Place, object())  # nothing to take `id` from and no default


def test_row_values_write_enums_as_text_and_sets_sorted() -> None:
    table = Table(
        "t", MetaData(), Column("entry_id", String), Column("account", String), Column("location_ids", String)
    )
    entry = Entry("E1", Kind.SALE, Money("CNY", 1), location_ids=frozenset({"b", "a"}))
    assert row_values(table, entry) == {"entry_id": "E1", "account": "SALE", "location_ids": ["a", "b"]}
    money_table = Table("m", MetaData(), Column("entry_id", String), Column("amount", String))
    with pytest.raises(TypeError, match="column amount"):
        row_values(money_table, entry)
