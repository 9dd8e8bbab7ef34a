"""Proto requests -> validated commands. Every violation is reported with its field path."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_kernel.timestamps import instant_from_iso
from onepool_runtime.errors import InvalidArgument, Violations
from onepool_runtime.idempotency import fingerprint
from onepool_runtime.locations import check_location, location_as
from onepool_runtime.protobuf import LOCATION_TYPES_BACK, from_ts
from onepool_runtime.validation import (
    MAX_LINES,
    check_id,
    check_lines,
    check_quantity,
    check_request_id,
    check_sku,
    check_text,
    page_after,
    page_after_key,
    page_size,
)

from onepool_inventory.domain import commands, sourcing
from onepool_inventory.domain.model import ChannelAllocation, Location, LocationType, MovementKind, StockLine
from onepool_inventory.settings import InventorySettings

MAX_LOCATION_IDS = 500
# ListChannelAllocations returned at most this many before it was paged, so it stays the page size by default.
ALLOCATIONS_PAGE = 1000


def _lines(v: Violations, lines: list[pb.StockLine], path: str = "lines") -> tuple[StockLine, ...]:
    check_lines(v, path, lines)
    return tuple(StockLine(line.sku, line.quantity) for line in lines)


def upsert_location(req: pb.UpsertLocationRequest) -> commands.UpsertLocation:
    v = Violations()
    loc = req.location
    check_location(v, "location", loc)
    check_id(v, "location.owner_dealer_id", loc.owner_dealer_id, required=False)
    v.raise_if_any()
    return commands.UpsertLocation(location_as(Location, loc, name=loc.name.strip()))


def receive_stock(req: pb.ReceiveStockRequest) -> commands.ReceiveStock:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "location_id", req.location_id)
    lines = _lines(v, list(req.lines))
    kind = MovementKind.RECEIPT
    if req.kind not in (pb.MOVEMENT_KIND_UNSPECIFIED, pb.MOVEMENT_KIND_RECEIPT, pb.MOVEMENT_KIND_RETURN):
        v.add("kind", "must be RECEIPT or RETURN")
    elif req.kind == pb.MOVEMENT_KIND_RETURN:
        kind = MovementKind.RETURN
    check_text(v, "reason", req.reason)
    check_text(v, "reference", req.reference, max_len=128)
    rest = None
    if req.receipt_id:
        check_id(v, "receipt_id", req.receipt_id)
        if kind is not MovementKind.RECEIPT:
            v.add("kind", "must be RECEIPT on an expected receipt")
        rest = _timestamp(v, "rest_expected_at", req.rest_expected_at) if req.HasField("rest_expected_at") else None
        if rest is not None and req.close_receipt:
            v.add("rest_expected_at", "must be unset when close_receipt is set: nothing more comes")
    elif req.close_receipt or req.HasField("rest_expected_at"):
        v.add("receipt_id", "is required with close_receipt or rest_expected_at")
    v.raise_if_any()
    return commands.ReceiveStock(
        req.location_id, lines, req.reason or kind.value.lower(), kind, req.reference, req.receipt_id,
        req.close_receipt, rest,
    )  # fmt: skip


def _timestamp(v: Violations, path: str, value: Timestamp) -> datetime | None:
    if not 0 < value.seconds < 253402300800 or not 0 <= value.nanos < 1_000_000_000:  # after 1970, before 10000
        v.add(path, "must be a valid time")
        return None
    return from_ts(value)


def expect_receipt(req: pb.ExpectReceiptRequest) -> commands.ExpectReceipt:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "location_id", req.location_id)
    lines = _lines(v, list(req.lines))
    expected_at = None
    if not req.HasField("expected_at"):
        v.add("expected_at", "is required")
    else:
        expected_at = _timestamp(v, "expected_at", req.expected_at)
    check_text(v, "reference", req.reference, max_len=128)
    v.raise_if_any()
    assert expected_at is not None
    return commands.ExpectReceipt(req.location_id, lines, expected_at, req.reference)


def cancel_expected_receipt(req: pb.CancelExpectedReceiptRequest) -> tuple[str, str]:
    v = Violations()
    check_id(v, "receipt_id", req.receipt_id)
    check_text(v, "reason", req.reason)
    v.raise_if_any()
    return req.receipt_id, req.reason


def reschedule_expected_receipt(req: pb.RescheduleExpectedReceiptRequest) -> tuple[str, datetime]:
    v = Violations()
    check_id(v, "receipt_id", req.receipt_id)
    expected_at = None
    if not req.HasField("expected_at"):
        v.add("expected_at", "is required")
    else:
        expected_at = _timestamp(v, "expected_at", req.expected_at)
    v.raise_if_any()
    assert expected_at is not None
    return req.receipt_id, expected_at


def expected_receipts_filter(req: pb.ListExpectedReceiptsRequest) -> tuple[str, str, str, int]:
    """(location_id, sku, the page's position: the last receipt id sent, page size)."""
    v = Violations()
    check_id(v, "location_id", req.location_id, required=False)
    if req.sku:
        check_sku(v, "sku", req.sku)
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    return req.location_id, req.sku, page_after_key(req.page_token), limit


def adjust_stock(req: pb.AdjustStockRequest) -> commands.AdjustStock:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "location_id", req.location_id)
    check_sku(v, "sku", req.sku)
    if req.delta == 0:
        v.add("delta", "must not be zero")
    elif abs(req.delta) > 1_000_000:
        v.add("delta", "must be between -1000000 and 1000000")
    check_text(v, "reason", req.reason, required=True)
    v.raise_if_any()
    return commands.AdjustStock(req.location_id, req.sku, req.delta, req.reason)


def set_safety_stock(req: pb.SetSafetyStockRequest) -> commands.SetSafetyStock:
    v = Violations()
    check_id(v, "location_id", req.location_id)
    check_sku(v, "sku", req.sku)
    check_quantity(v, "quantity", req.quantity, allow_zero=True)
    v.raise_if_any()
    return commands.SetSafetyStock(req.location_id, req.sku, req.quantity)


def availability(req: pb.GetAvailabilityRequest) -> tuple[list[str], str, list[str]]:
    # Each field read once: every read of a repeated field makes a new container object (the hottest read).
    skus, channel_id, location_ids = list(req.skus), req.channel_id, list(req.location_ids)
    v = Violations()
    if not skus:
        v.add("skus", "must not be empty")
    if len(skus) > MAX_LINES:
        v.add("skus", f"must have at most {MAX_LINES} entries")
    for i, sku in enumerate(skus):
        check_sku(v, f"skus[{i}]", sku)
    check_id(v, "channel_id", channel_id, required=False)
    for i, loc in enumerate(location_ids):
        check_id(v, f"location_ids[{i}]", loc)
    v.raise_if_any()
    return skus, channel_id, location_ids


def reserve(req: pb.ReserveRequest, settings: InventorySettings, *, channel_id: str, key: str) -> commands.ReserveStock:
    """`channel_id` is the channel whose view applies (the caller's scope: a channel token always reserves in
    its own, named or not); the request is judged, and fingerprinted, as if it had named it. `key` is the
    request id in the caller's scope (auth.scoped_key)."""
    if channel_id != req.channel_id:
        scoped = pb.ReserveRequest()
        scoped.CopyFrom(req)
        scoped.channel_id = channel_id
        req = scoped
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "order_id", req.order_id, required=False)
    check_id(v, "channel_id", req.channel_id, required=False)
    check_lines(v, "lines", req.lines, unique_skus=False)
    for i, line in enumerate(req.lines):
        check_id(v, f"lines[{i}].location_id", line.location_id, required=False)
    hint = req.hint
    mode = sourcing.SourcingMode.SHIP
    if hint.mode == pb.SOURCING_MODE_PICKUP:
        mode = sourcing.SourcingMode.PICKUP
        check_id(v, "hint.pickup_location_id", hint.pickup_location_id)
    elif hint.mode not in (pb.SOURCING_MODE_UNSPECIFIED, pb.SOURCING_MODE_SHIP):
        v.add("hint.mode", "must be SHIP or PICKUP")
    check_text(v, "hint.region", hint.region, max_len=64)
    check_id(v, "hint.deliver_from_dealer_id", hint.deliver_from_dealer_id, required=False)
    ttl = req.ttl_seconds or settings.reservation_ttl_seconds
    if req.ttl_seconds < 0 or ttl > settings.reservation_max_ttl_seconds:
        v.add("ttl_seconds", f"must be between 1 and {settings.reservation_max_ttl_seconds}")
    if req.accept_awaiting_stock and not req.channel_id:
        v.add("accept_awaiting_stock", "requires channel_id: presale and backorder are a listing's")
    v.raise_if_any()
    return commands.ReserveStock(
        request_id=key,
        fingerprint=fingerprint(req),
        order_id=req.order_id,
        channel_id=req.channel_id,
        lines=tuple(sourcing.Line(ln.sku, ln.quantity, ln.location_id) for ln in req.lines),
        hint=sourcing.Hint(mode, hint.region, hint.pickup_location_id, hint.allow_split, hint.deliver_from_dealer_id),
        ttl_seconds=ttl,
        accept_awaiting_stock=req.accept_awaiting_stock,
    )


def fulfill(req: pb.FulfillReservationRequest) -> commands.FulfillReservation:
    v = Violations()
    check_id(v, "reservation_id", req.reservation_id)
    check_id(v, "location_id", req.location_id)
    lines: tuple[StockLine, ...] = ()
    if req.lines:
        lines = _lines(v, list(req.lines))
    if req.lines or req.request_id:  # required with lines; checked whenever given (it becomes the stored key)
        check_request_id(v, "request_id", req.request_id)
    v.raise_if_any()
    return commands.FulfillReservation(req.reservation_id, req.location_id, lines)


def transfer(req: pb.TransferStockRequest) -> commands.TransferStock:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "from_location_id", req.from_location_id)
    check_id(v, "to_location_id", req.to_location_id)
    if req.from_location_id and req.from_location_id == req.to_location_id:
        v.add("to_location_id", "must differ from from_location_id")
    lines = _lines(v, list(req.lines))
    check_text(v, "reason", req.reason)
    check_text(v, "reference", req.reference, max_len=128)
    v.raise_if_any()
    return commands.TransferStock(req.from_location_id, req.to_location_id, lines, req.reason, req.reference)


def location_type(value: int) -> LocationType | None:
    if value == pb.LOCATION_TYPE_UNSPECIFIED:
        return None
    if value not in LOCATION_TYPES_BACK:
        raise InvalidArgument("type", "is not a known location type")
    return LOCATION_TYPES_BACK[value]


def create_channel_allocation(req: pb.CreateChannelAllocationRequest) -> commands.CreateChannelAllocation:
    v = Violations()
    check_request_id(v, "request_id", req.request_id)
    check_id(v, "channel_id", req.channel_id)
    check_id(v, "location_id", req.location_id)
    check_sku(v, "sku", req.sku)
    check_quantity(v, "quantity", req.quantity)
    ends_at = None
    if req.HasField("ends_at"):
        if not 0 < req.ends_at.seconds < 253402300800:  # after the epoch, before year 10000
            v.add("ends_at", "must be a valid future time")
        else:
            ends_at = from_ts(req.ends_at)
    v.raise_if_any()
    return commands.CreateChannelAllocation(req.channel_id, req.location_id, req.sku, req.quantity, ends_at)


def channel_allocations_query(req: pb.ListChannelAllocationsRequest) -> commands.ListChannelAllocations:
    v = Violations()
    check_id(v, "channel_id", req.channel_id, required=False)
    if req.sku:
        check_sku(v, "sku", req.sku)
    if req.page_size < 0:
        v.add("page_size", "must not be negative")
    v.raise_if_any()
    limit = min(req.page_size or ALLOCATIONS_PAGE, ALLOCATIONS_PAGE)
    after = page_after(req.page_token)
    return commands.ListChannelAllocations(
        req.channel_id, req.sku, req.include_closed, limit, None if after is None else _allocation_key(after)
    )


def allocation_position(a: ChannelAllocation) -> dict[str, object]:
    """The page token's cursor after `a` (read back by channel_allocations_query)."""
    return {"after": [a.channel_id, a.sku, a.created_at.isoformat(), a.id]}


def _allocation_key(after: object) -> tuple[str, str, datetime, str]:
    v = Violations()
    if isinstance(after, list) and len(after) == 4 and all(isinstance(x, str) for x in after):
        channel_id, sku, created, allocation_id = after
        check_id(v, "page_token", channel_id)
        check_sku(v, "page_token", sku)
        check_id(v, "page_token", allocation_id)
        try:
            created_at = instant_from_iso(created)
        except ValueError:
            created_at = None
        if not v.items and created_at is not None:
            return channel_id, sku, created_at, allocation_id
    raise InvalidArgument("page_token", "is not a valid page token")


def locations_query(req: pb.ListLocationsRequest) -> commands.ListLocations:
    """Without page_size (and no page token) the reply holds every match, as before paging existed."""
    v = Violations()
    check_id(v, "owner_dealer_id", req.owner_dealer_id, required=False)
    if len(req.location_ids) > MAX_LOCATION_IDS:
        v.add("location_ids", f"must name at most {MAX_LOCATION_IDS} locations")
    else:
        for i, location_id in enumerate(req.location_ids):
            check_id(v, f"location_ids[{i}]", location_id)
    paged = bool(req.page_size or req.page_token)
    limit = page_size(v, req.page_size) if paged else None
    v.raise_if_any()
    return commands.ListLocations(
        ids=tuple(dict.fromkeys(req.location_ids)) if req.location_ids else None,
        owner_dealer_id=req.owner_dealer_id,
        type_=location_type(req.type),
        region=req.region,
        after=page_after_key(req.page_token),
        limit=limit,
    )


def stock_levels_page(req: pb.ListStockLevelsRequest) -> tuple[tuple[str, str] | None, int]:
    """The keyset position ((location_id, sku) of the last level sent, or None) and the page size."""
    v = Violations()
    check_id(v, "location_id", req.location_id, required=False)
    if req.sku:
        check_sku(v, "sku", req.sku)
    limit = page_size(v, req.page_size)
    v.raise_if_any()
    after = page_after(req.page_token)
    if after is None:
        return None, limit
    if not (isinstance(after, list) and len(after) == 2 and all(isinstance(x, str) and x for x in after)):
        raise InvalidArgument("page_token", "is not a valid page token")
    check_id(v, "page_token", after[0])
    check_sku(v, "page_token", after[1])
    if v.items:
        raise InvalidArgument("page_token", "is not a valid page token")
    return (after[0], after[1]), limit
