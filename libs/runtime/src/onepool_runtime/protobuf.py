"""Small conversions every service's mappers need between Python values and protobuf messages.

The pure datetime conversions (epoch, ISO 8601) are in `onepool_kernel.timestamps`; these are the ones that
need protobuf, so they stay out of the kernel.

Failure modes: `from_ts` raises ValueError/OverflowError for a Timestamp outside datetime's range (a
caller's bad input: request mappers turn it into a field violation). `enum_maps` raises ValueError at
import time when a member of the domain enum has no value in the proto enum (a renamed member, or a proto
older than the code), so a gap can never reach a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Generic, NamedTuple, TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.timestamp_pb2 import Timestamp
from onepool.channels.v1 import channels_pb2
from onepool.common.v1.common_pb2 import Money as MoneyMessage
from onepool.inventory.v1 import inventory_pb2
from onepool.orders.v1 import orders_pb2
from onepool_kernel.intake import Catalogue, FulfillmentMode
from onepool_kernel.locations import LocationType
from onepool_kernel.money import Money

E = TypeVar("E", bound=Enum)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ts(value: datetime | None) -> Timestamp | None:
    """datetime -> Timestamp; None stays unset (proto3 message fields accept None in constructors)."""
    if value is None:
        return None
    # Timestamp.FromDatetime is pure Python (a time tuple and calendar.timegm): a third of mapping an order to
    # its reply and events went there. Same result: naive means UTC, seconds floored, microseconds kept.
    delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def from_ts(value: Timestamp) -> datetime:
    """Timestamp -> aware UTC datetime (the only kind the domains keep)."""
    return value.ToDatetime(tzinfo=UTC)


def enum_prefix(proto_enum: EnumTypeWrapper) -> str:
    """The prefix buf's ENUM_VALUE_PREFIX rule puts on every value name: LocationType -> LOCATION_TYPE_."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", proto_enum.DESCRIPTOR.name).upper() + "_"


class EnumMaps(NamedTuple, Generic[E]):
    to_proto: Mapping[E, int]
    from_proto: Mapping[int, E]


def enum_maps(proto_enum: EnumTypeWrapper, domain: type[E]) -> EnumMaps[E]:
    """(domain -> proto number, proto number -> domain) for a domain enum whose values are the proto value
    names without their prefix (LocationType.DEALER_STORE <-> LOCATION_TYPE_DEALER_STORE).

    Every domain member maps (ValueError otherwise); proto values the domain does not know (UNSPECIFIED, or
    one added by a newer contract) are absent from the second map, so a lookup there is how a request is
    checked.
    """
    prefix = enum_prefix(proto_enum)
    forward = {member: proto_enum.Value(prefix + str(member.value)) for member in domain}
    return EnumMaps(forward, {number: member for member, number in forward.items()})


def money_to_proto(value: Money | None) -> MoneyMessage | None:
    """Money -> common.v1.Money; None stays unset."""
    if value is None:
        return None
    return MoneyMessage(currency=value.currency, amount_minor=value.amount_minor)


def money_from_proto(value: MoneyMessage) -> Money:
    return Money(value.currency, value.amount_minor)


# The kernel's enums on the wire. Each has one proto enum, in the contract of the service that owns the idea
# (inventory's location types, orders' fulfillment modes, channels' catalogues), so every service that sends
# or reads one uses these maps rather than building its own.
LOCATION_TYPES, LOCATION_TYPES_BACK = enum_maps(inventory_pb2.LocationType, LocationType)
FULFILLMENT_MODES, FULFILLMENT_MODES_BACK = enum_maps(orders_pb2.FulfillmentMode, FulfillmentMode)
CATALOGUES, CATALOGUES_BACK = enum_maps(channels_pb2.Catalogue, Catalogue)
