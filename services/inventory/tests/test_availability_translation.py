"""GetAvailability's reply is filled in place (grpc_api.availability_to_proto): every field of the handler's
answer reaches the wire, expected receipts listed per location and, across locations by date, per SKU."""

from __future__ import annotations

from datetime import UTC, datetime

from onepool.inventory.v1 import inventory_pb2 as pb
from onepool_inventory.domain.channel_view import RuleNumbers
from onepool_inventory.entrypoints.grpc_api import availability_to_proto
from onepool_inventory.service_layer.handlers import ExpectedQuantity, LocationView, Presale, SkuAvailability

MAY, JUNE = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


def test_every_number_and_every_expected_receipt_reaches_the_reply() -> None:
    late = ExpectedQuantity("rc-2", "wh-1", JUNE, 7, 2)
    early = ExpectedQuantity("rc-1", "wh-2", MAY, 5, 0)
    item = SkuAvailability(
        "SKU-1", 30, 4, 2, 11,
        (
            LocationView("wh-1", 20, 3, 1, 16, 0, 6, 7, 2, (late,)),
            LocationView("wh-2", 10, 1, 1, 8, 2, 0, 5, 0, (early,)),
        ),
        6,
        RuleNumbers(shared=24, exposed=9, dedicated=2, cap_units=40, counted=13, sellable=11),
        Presale(presale_units=50, presale_counted=3, presale_sellable=10, allow_backorder=True),
    )  # fmt: skip
    reply = availability_to_proto([item, SkuAvailability("SKU-2", 0, 0, 0, 0, (), 0, RuleNumbers(0, 0, 0, 0, 0, 0))])

    def quantity(q: ExpectedQuantity) -> pb.ExpectedQuantity:
        message = pb.ExpectedQuantity(receipt_id=q.receipt_id, location_id=q.location_id, quantity=q.quantity)
        message.promised = q.promised
        message.expected_at.FromDatetime(q.expected_at)
        return message

    assert reply == pb.GetAvailabilityResponse(
        items=[
            pb.Availability(
                sku="SKU-1", on_hand=30, reserved=4, safety_stock=2, available=11, inbound=6, exposed=9, dedicated=2,
                sales_cap_units=40, sales_counted=13, expected=12, awaiting=2,
                expected_by_date=[quantity(early), quantity(late)],
                presale_units=50, presale_counted=3, presale_sellable=10, allow_backorder=True,
                by_location=[
                    pb.LocationAvailability(
                        location_id="wh-1", on_hand=20, reserved=3, safety_stock=1, available=16, dedicated=0,
                        inbound=6, expected=7, awaiting=2, expected_by_date=[quantity(late)],
                    ),
                    pb.LocationAvailability(
                        location_id="wh-2", on_hand=10, reserved=1, safety_stock=1, available=8, dedicated=2,
                        inbound=0, expected=5, awaiting=0, expected_by_date=[quantity(early)],
                    ),
                ],
            ),
            pb.Availability(sku="SKU-2"),
        ]
    )  # fmt: skip
