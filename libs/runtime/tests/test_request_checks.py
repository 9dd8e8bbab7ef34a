"""The generic request walker and the bounds on what an error carries (no services needed)."""

from __future__ import annotations

import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2, status_pb2
from onepool.channels.v1 import channels_pb2 as cpb
from onepool.dealers.v1 import dealers_pb2 as dpb
from onepool.orders.v1 import orders_pb2 as opb
from onepool_runtime import errors
from onepool_runtime.grpc_errors import to_status
from onepool_runtime.request_checks import DEFAULT_MAX_CHARS, MAX_REPEATED, check_request


def _fields(message) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(errors.InvalidArgument) as refused:
        check_request(message)
    return [v.field for v in refused.value.violations]


def test_every_violation_is_named_by_its_path_in_nested_and_repeated_fields() -> None:
    request = opb.PlaceOrderRequest(
        channel_id="ch\x00",
        customer=opb.Customer(name="Ann\u0085"),
        lines=[opb.OrderLine(sku="ok"), opb.OrderLine(sku="x" * (DEFAULT_MAX_CHARS + 1)), opb.OrderLine(sku="a\tb")],
        fulfillment=opb.FulfillmentPreference(mode=42, address="1 Rd\n2nd floor\ttel\r\n"),
    )
    assert _fields(request) == ["channel_id", "customer.name", "lines[1].sku", "lines[2].sku"]


def test_free_text_may_span_lines_but_ids_may_not() -> None:
    check_request(opb.CancelOrderRequest(order_id="o-1", reason="damaged\nsee photo\t#2"))
    assert _fields(opb.CancelOrderRequest(order_id="o\n1", reason="bell\x07")) == ["order_id", "reason"]


def test_map_entries_and_well_known_types_are_walked() -> None:
    value = struct_pb2.Struct()
    value.update({"fine": "x", "bad\x00key": "y", "nested": {"deep": "z\x01"}})
    assert sorted(_fields(value)) == [
        "fields['bad\\x00key'].key",
        "fields['nested'].struct_value.fields['deep'].string_value",
    ]


def test_timestamps_are_held_to_a_range_arithmetic_cannot_leave() -> None:
    request = dpb.GetDealerOverviewRequest(dealer_id="d")
    request.period_end.seconds = -62_135_596_800  # 0001-01-01
    request.period_start.seconds = 0
    request.period_start.nanos = -1
    assert _fields(request) == ["period_start", "period_end"]
    request.period_end.seconds = 4_102_444_800  # 2100-01-01
    request.period_start.nanos = 0
    check_request(request)


def test_repeated_fields_are_bounded() -> None:
    request = cpb.GetChannelStockRequest(channel_id="c", skus=["s"] * (MAX_REPEATED + 1))
    assert _fields(request) == ["skus"]


def test_error_details_stay_small_whatever_the_request_held() -> None:
    many = [errors.FieldViolation(f"lines[{i}].sku" + "\u4e2d" * 500, "\u4e2d" * 2000) for i in range(5000)]
    for exc in (
        errors.InvalidArgument(many),
        errors.InsufficientStock([errors.Shortage("\u4e2d" * 300, i, 0) for i in range(5000)]),
        errors.NotFound("order", "x" * 100_000),
        errors.FailedPrecondition("R" * 10_000, "m" * 100_000, {f"k{i}": "v" * 1000 for i in range(500)}),
    ):
        status = to_status(exc)
        metadata = dict(status.trailing_metadata)
        size = len(metadata["grpc-status-details-bin"]) * 4 // 3 + len(status.details.encode()) * 3
        assert size < 6 * 1024, (type(exc).__name__, size)
        decoded = status_pb2.Status.FromString(metadata["grpc-status-details-bin"])
        for detail in decoded.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                assert bad.field_violations[-1].description.endswith("more violations not listed")
