import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LocationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCATION_TYPE_UNSPECIFIED: _ClassVar[LocationType]
    LOCATION_TYPE_WAREHOUSE: _ClassVar[LocationType]
    LOCATION_TYPE_STORE: _ClassVar[LocationType]
    LOCATION_TYPE_DEALER_WAREHOUSE: _ClassVar[LocationType]
    LOCATION_TYPE_DEALER_STORE: _ClassVar[LocationType]

class MovementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOVEMENT_KIND_UNSPECIFIED: _ClassVar[MovementKind]
    MOVEMENT_KIND_RECEIPT: _ClassVar[MovementKind]
    MOVEMENT_KIND_ADJUSTMENT: _ClassVar[MovementKind]
    MOVEMENT_KIND_SHIPMENT: _ClassVar[MovementKind]
    MOVEMENT_KIND_RETURN: _ClassVar[MovementKind]
    MOVEMENT_KIND_TRANSFER_OUT: _ClassVar[MovementKind]
    MOVEMENT_KIND_TRANSFER_IN: _ClassVar[MovementKind]

class SourcingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SOURCING_MODE_UNSPECIFIED: _ClassVar[SourcingMode]
    SOURCING_MODE_SHIP: _ClassVar[SourcingMode]
    SOURCING_MODE_PICKUP: _ClassVar[SourcingMode]

class ReservationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESERVATION_STATUS_UNSPECIFIED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_ACTIVE: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_COMMITTED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_RELEASED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_EXPIRED: _ClassVar[ReservationStatus]
    RESERVATION_STATUS_FULFILLED: _ClassVar[ReservationStatus]

class AllocationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALLOCATION_STATUS_UNSPECIFIED: _ClassVar[AllocationStatus]
    ALLOCATION_STATUS_ALLOCATED: _ClassVar[AllocationStatus]
    ALLOCATION_STATUS_AWAITING_STOCK: _ClassVar[AllocationStatus]

class AllocationSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALLOCATION_SOURCE_UNSPECIFIED: _ClassVar[AllocationSource]
    ALLOCATION_SOURCE_ON_HAND: _ClassVar[AllocationSource]
    ALLOCATION_SOURCE_PRESALE: _ClassVar[AllocationSource]
    ALLOCATION_SOURCE_BACKORDER: _ClassVar[AllocationSource]

class TransferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSFER_STATUS_UNSPECIFIED: _ClassVar[TransferStatus]
    TRANSFER_STATUS_IN_TRANSIT: _ClassVar[TransferStatus]
    TRANSFER_STATUS_RECEIVED: _ClassVar[TransferStatus]

class ChannelAllocationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_ALLOCATION_STATUS_UNSPECIFIED: _ClassVar[ChannelAllocationStatus]
    CHANNEL_ALLOCATION_STATUS_ACTIVE: _ClassVar[ChannelAllocationStatus]
    CHANNEL_ALLOCATION_STATUS_RELEASED: _ClassVar[ChannelAllocationStatus]
    CHANNEL_ALLOCATION_STATUS_ENDED: _ClassVar[ChannelAllocationStatus]

class ExpectedReceiptStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPECTED_RECEIPT_STATUS_UNSPECIFIED: _ClassVar[ExpectedReceiptStatus]
    EXPECTED_RECEIPT_STATUS_OPEN: _ClassVar[ExpectedReceiptStatus]
    EXPECTED_RECEIPT_STATUS_RECEIVED: _ClassVar[ExpectedReceiptStatus]
    EXPECTED_RECEIPT_STATUS_CANCELLED: _ClassVar[ExpectedReceiptStatus]

class PromiseMoveReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROMISE_MOVE_REASON_UNSPECIFIED: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_LATE: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_SHORT: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_CANCELLED: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_REORDERED: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_PROMISED: _ClassVar[PromiseMoveReason]
    PROMISE_MOVE_REASON_SOONER: _ClassVar[PromiseMoveReason]
LOCATION_TYPE_UNSPECIFIED: LocationType
LOCATION_TYPE_WAREHOUSE: LocationType
LOCATION_TYPE_STORE: LocationType
LOCATION_TYPE_DEALER_WAREHOUSE: LocationType
LOCATION_TYPE_DEALER_STORE: LocationType
MOVEMENT_KIND_UNSPECIFIED: MovementKind
MOVEMENT_KIND_RECEIPT: MovementKind
MOVEMENT_KIND_ADJUSTMENT: MovementKind
MOVEMENT_KIND_SHIPMENT: MovementKind
MOVEMENT_KIND_RETURN: MovementKind
MOVEMENT_KIND_TRANSFER_OUT: MovementKind
MOVEMENT_KIND_TRANSFER_IN: MovementKind
SOURCING_MODE_UNSPECIFIED: SourcingMode
SOURCING_MODE_SHIP: SourcingMode
SOURCING_MODE_PICKUP: SourcingMode
RESERVATION_STATUS_UNSPECIFIED: ReservationStatus
RESERVATION_STATUS_ACTIVE: ReservationStatus
RESERVATION_STATUS_COMMITTED: ReservationStatus
RESERVATION_STATUS_RELEASED: ReservationStatus
RESERVATION_STATUS_EXPIRED: ReservationStatus
RESERVATION_STATUS_FULFILLED: ReservationStatus
ALLOCATION_STATUS_UNSPECIFIED: AllocationStatus
ALLOCATION_STATUS_ALLOCATED: AllocationStatus
ALLOCATION_STATUS_AWAITING_STOCK: AllocationStatus
ALLOCATION_SOURCE_UNSPECIFIED: AllocationSource
ALLOCATION_SOURCE_ON_HAND: AllocationSource
ALLOCATION_SOURCE_PRESALE: AllocationSource
ALLOCATION_SOURCE_BACKORDER: AllocationSource
TRANSFER_STATUS_UNSPECIFIED: TransferStatus
TRANSFER_STATUS_IN_TRANSIT: TransferStatus
TRANSFER_STATUS_RECEIVED: TransferStatus
CHANNEL_ALLOCATION_STATUS_UNSPECIFIED: ChannelAllocationStatus
CHANNEL_ALLOCATION_STATUS_ACTIVE: ChannelAllocationStatus
CHANNEL_ALLOCATION_STATUS_RELEASED: ChannelAllocationStatus
CHANNEL_ALLOCATION_STATUS_ENDED: ChannelAllocationStatus
EXPECTED_RECEIPT_STATUS_UNSPECIFIED: ExpectedReceiptStatus
EXPECTED_RECEIPT_STATUS_OPEN: ExpectedReceiptStatus
EXPECTED_RECEIPT_STATUS_RECEIVED: ExpectedReceiptStatus
EXPECTED_RECEIPT_STATUS_CANCELLED: ExpectedReceiptStatus
PROMISE_MOVE_REASON_UNSPECIFIED: PromiseMoveReason
PROMISE_MOVE_REASON_LATE: PromiseMoveReason
PROMISE_MOVE_REASON_SHORT: PromiseMoveReason
PROMISE_MOVE_REASON_CANCELLED: PromiseMoveReason
PROMISE_MOVE_REASON_REORDERED: PromiseMoveReason
PROMISE_MOVE_REASON_PROMISED: PromiseMoveReason
PROMISE_MOVE_REASON_SOONER: PromiseMoveReason

class Location(_message.Message):
    __slots__ = ("id", "name", "type", "owner_dealer_id", "region", "ships", "pickup", "priority", "disabled", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SHIPS_FIELD_NUMBER: _ClassVar[int]
    PICKUP_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    type: LocationType
    owner_dealer_id: str
    region: str
    ships: bool
    pickup: bool
    priority: int
    disabled: bool
    version: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[LocationType, str]] = ..., owner_dealer_id: _Optional[str] = ..., region: _Optional[str] = ..., ships: _Optional[bool] = ..., pickup: _Optional[bool] = ..., priority: _Optional[int] = ..., disabled: _Optional[bool] = ..., version: _Optional[int] = ...) -> None: ...

class StockLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class StockLevel(_message.Message):
    __slots__ = ("sku", "location_id", "on_hand", "reserved", "safety_stock", "available", "version", "dedicated", "expected", "awaiting")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    SAFETY_STOCK_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    AWAITING_FIELD_NUMBER: _ClassVar[int]
    sku: str
    location_id: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    version: int
    dedicated: int
    expected: int
    awaiting: int
    def __init__(self, sku: _Optional[str] = ..., location_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., safety_stock: _Optional[int] = ..., available: _Optional[int] = ..., version: _Optional[int] = ..., dedicated: _Optional[int] = ..., expected: _Optional[int] = ..., awaiting: _Optional[int] = ...) -> None: ...

class Movement(_message.Message):
    __slots__ = ("id", "location_id", "sku", "delta", "kind", "reason", "reference", "on_hand_after", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    location_id: str
    sku: str
    delta: int
    kind: MovementKind
    reason: str
    reference: str
    on_hand_after: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., location_id: _Optional[str] = ..., sku: _Optional[str] = ..., delta: _Optional[int] = ..., kind: _Optional[_Union[MovementKind, str]] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ..., on_hand_after: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpsertLocationRequest(_message.Message):
    __slots__ = ("location",)
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    location: Location
    def __init__(self, location: _Optional[_Union[Location, _Mapping]] = ...) -> None: ...

class UpsertLocationResponse(_message.Message):
    __slots__ = ("location",)
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    location: Location
    def __init__(self, location: _Optional[_Union[Location, _Mapping]] = ...) -> None: ...

class ListLocationsRequest(_message.Message):
    __slots__ = ("owner_dealer_id", "type", "region", "location_ids", "page_size", "page_token")
    OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    owner_dealer_id: str
    type: LocationType
    region: str
    location_ids: _containers.RepeatedScalarFieldContainer[str]
    page_size: int
    page_token: str
    def __init__(self, owner_dealer_id: _Optional[str] = ..., type: _Optional[_Union[LocationType, str]] = ..., region: _Optional[str] = ..., location_ids: _Optional[_Iterable[str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLocationsResponse(_message.Message):
    __slots__ = ("locations", "next_page_token")
    LOCATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    locations: _containers.RepeatedCompositeFieldContainer[Location]
    next_page_token: str
    def __init__(self, locations: _Optional[_Iterable[_Union[Location, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReceiveStockRequest(_message.Message):
    __slots__ = ("request_id", "location_id", "lines", "reason", "kind", "reference", "receipt_id", "close_receipt", "rest_expected_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    CLOSE_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    REST_EXPECTED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    reason: str
    kind: MovementKind
    reference: str
    receipt_id: str
    close_receipt: bool
    rest_expected_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., reason: _Optional[str] = ..., kind: _Optional[_Union[MovementKind, str]] = ..., reference: _Optional[str] = ..., receipt_id: _Optional[str] = ..., close_receipt: _Optional[bool] = ..., rest_expected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReceiveStockResponse(_message.Message):
    __slots__ = ("levels", "receipt", "filled")
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[StockLevel]
    receipt: ExpectedReceipt
    filled: _containers.RepeatedCompositeFieldContainer[FilledAllocation]
    def __init__(self, levels: _Optional[_Iterable[_Union[StockLevel, _Mapping]]] = ..., receipt: _Optional[_Union[ExpectedReceipt, _Mapping]] = ..., filled: _Optional[_Iterable[_Union[FilledAllocation, _Mapping]]] = ...) -> None: ...

class AdjustStockRequest(_message.Message):
    __slots__ = ("request_id", "location_id", "sku", "delta", "reason")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    location_id: str
    sku: str
    delta: int
    reason: str
    def __init__(self, request_id: _Optional[str] = ..., location_id: _Optional[str] = ..., sku: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class AdjustStockResponse(_message.Message):
    __slots__ = ("level",)
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    level: StockLevel
    def __init__(self, level: _Optional[_Union[StockLevel, _Mapping]] = ...) -> None: ...

class SetSafetyStockRequest(_message.Message):
    __slots__ = ("location_id", "sku", "quantity")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    sku: str
    quantity: int
    def __init__(self, location_id: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class SetSafetyStockResponse(_message.Message):
    __slots__ = ("level",)
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    level: StockLevel
    def __init__(self, level: _Optional[_Union[StockLevel, _Mapping]] = ...) -> None: ...

class GetAvailabilityRequest(_message.Message):
    __slots__ = ("skus", "channel_id", "location_ids")
    SKUS_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    skus: _containers.RepeatedScalarFieldContainer[str]
    channel_id: str
    location_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skus: _Optional[_Iterable[str]] = ..., channel_id: _Optional[str] = ..., location_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class LocationAvailability(_message.Message):
    __slots__ = ("location_id", "on_hand", "reserved", "available", "safety_stock", "dedicated", "inbound", "expected", "awaiting", "expected_by_date")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    SAFETY_STOCK_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_FIELD_NUMBER: _ClassVar[int]
    INBOUND_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    AWAITING_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_BY_DATE_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    dedicated: int
    inbound: int
    expected: int
    awaiting: int
    expected_by_date: _containers.RepeatedCompositeFieldContainer[ExpectedQuantity]
    def __init__(self, location_id: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., available: _Optional[int] = ..., safety_stock: _Optional[int] = ..., dedicated: _Optional[int] = ..., inbound: _Optional[int] = ..., expected: _Optional[int] = ..., awaiting: _Optional[int] = ..., expected_by_date: _Optional[_Iterable[_Union[ExpectedQuantity, _Mapping]]] = ...) -> None: ...

class ExpectedQuantity(_message.Message):
    __slots__ = ("receipt_id", "location_id", "expected_at", "quantity", "promised")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PROMISED_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    location_id: str
    expected_at: _timestamp_pb2.Timestamp
    quantity: int
    promised: int
    def __init__(self, receipt_id: _Optional[str] = ..., location_id: _Optional[str] = ..., expected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quantity: _Optional[int] = ..., promised: _Optional[int] = ...) -> None: ...

class Availability(_message.Message):
    __slots__ = ("sku", "on_hand", "reserved", "safety_stock", "available", "by_location", "inbound", "exposed", "dedicated", "sales_cap_units", "sales_counted", "expected", "awaiting", "expected_by_date", "presale_units", "presale_counted", "presale_sellable", "allow_backorder")
    SKU_FIELD_NUMBER: _ClassVar[int]
    ON_HAND_FIELD_NUMBER: _ClassVar[int]
    RESERVED_FIELD_NUMBER: _ClassVar[int]
    SAFETY_STOCK_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    BY_LOCATION_FIELD_NUMBER: _ClassVar[int]
    INBOUND_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_FIELD_NUMBER: _ClassVar[int]
    SALES_CAP_UNITS_FIELD_NUMBER: _ClassVar[int]
    SALES_COUNTED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    AWAITING_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_BY_DATE_FIELD_NUMBER: _ClassVar[int]
    PRESALE_UNITS_FIELD_NUMBER: _ClassVar[int]
    PRESALE_COUNTED_FIELD_NUMBER: _ClassVar[int]
    PRESALE_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    sku: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    by_location: _containers.RepeatedCompositeFieldContainer[LocationAvailability]
    inbound: int
    exposed: int
    dedicated: int
    sales_cap_units: int
    sales_counted: int
    expected: int
    awaiting: int
    expected_by_date: _containers.RepeatedCompositeFieldContainer[ExpectedQuantity]
    presale_units: int
    presale_counted: int
    presale_sellable: int
    allow_backorder: bool
    def __init__(self, sku: _Optional[str] = ..., on_hand: _Optional[int] = ..., reserved: _Optional[int] = ..., safety_stock: _Optional[int] = ..., available: _Optional[int] = ..., by_location: _Optional[_Iterable[_Union[LocationAvailability, _Mapping]]] = ..., inbound: _Optional[int] = ..., exposed: _Optional[int] = ..., dedicated: _Optional[int] = ..., sales_cap_units: _Optional[int] = ..., sales_counted: _Optional[int] = ..., expected: _Optional[int] = ..., awaiting: _Optional[int] = ..., expected_by_date: _Optional[_Iterable[_Union[ExpectedQuantity, _Mapping]]] = ..., presale_units: _Optional[int] = ..., presale_counted: _Optional[int] = ..., presale_sellable: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...

class GetAvailabilityResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Availability]
    def __init__(self, items: _Optional[_Iterable[_Union[Availability, _Mapping]]] = ...) -> None: ...

class SourcingHint(_message.Message):
    __slots__ = ("mode", "region", "pickup_location_id", "allow_split", "deliver_from_dealer_id")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    PICKUP_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SPLIT_FIELD_NUMBER: _ClassVar[int]
    DELIVER_FROM_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    mode: SourcingMode
    region: str
    pickup_location_id: str
    allow_split: bool
    deliver_from_dealer_id: str
    def __init__(self, mode: _Optional[_Union[SourcingMode, str]] = ..., region: _Optional[str] = ..., pickup_location_id: _Optional[str] = ..., allow_split: _Optional[bool] = ..., deliver_from_dealer_id: _Optional[str] = ...) -> None: ...

class ReserveLine(_message.Message):
    __slots__ = ("sku", "quantity", "location_id")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    location_id: str
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., location_id: _Optional[str] = ...) -> None: ...

class ReserveRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "channel_id", "lines", "hint", "ttl_seconds", "accept_awaiting_stock")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    HINT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_AWAITING_STOCK_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    channel_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReserveLine]
    hint: SourcingHint
    ttl_seconds: int
    accept_awaiting_stock: bool
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReserveLine, _Mapping]]] = ..., hint: _Optional[_Union[SourcingHint, _Mapping]] = ..., ttl_seconds: _Optional[int] = ..., accept_awaiting_stock: _Optional[bool] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("sku", "location_id", "quantity", "fulfilled_quantity", "location_owner_dealer_id", "location_type", "status", "awaiting_quantity", "promised_at", "receipt_id", "source", "filled_at", "version")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LOCATION_OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AWAITING_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILLED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    sku: str
    location_id: str
    quantity: int
    fulfilled_quantity: int
    location_owner_dealer_id: str
    location_type: LocationType
    status: AllocationStatus
    awaiting_quantity: int
    promised_at: _timestamp_pb2.Timestamp
    receipt_id: str
    source: AllocationSource
    filled_at: _timestamp_pb2.Timestamp
    version: int
    def __init__(self, sku: _Optional[str] = ..., location_id: _Optional[str] = ..., quantity: _Optional[int] = ..., fulfilled_quantity: _Optional[int] = ..., location_owner_dealer_id: _Optional[str] = ..., location_type: _Optional[_Union[LocationType, str]] = ..., status: _Optional[_Union[AllocationStatus, str]] = ..., awaiting_quantity: _Optional[int] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt_id: _Optional[str] = ..., source: _Optional[_Union[AllocationSource, str]] = ..., filled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ...) -> None: ...

class Reservation(_message.Message):
    __slots__ = ("id", "order_id", "channel_id", "status", "allocations", "expires_at", "created_at", "updated_at", "release_reason", "awaiting_stock", "promised_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RELEASE_REASON_FIELD_NUMBER: _ClassVar[int]
    AWAITING_STOCK_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    channel_id: str
    status: ReservationStatus
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    expires_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    release_reason: str
    awaiting_stock: bool
    promised_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., status: _Optional[_Union[ReservationStatus, str]] = ..., allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., release_reason: _Optional[str] = ..., awaiting_stock: _Optional[bool] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReserveResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class GetReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class GetReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class CommitReservationRequest(_message.Message):
    __slots__ = ("reservation_id",)
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    def __init__(self, reservation_id: _Optional[str] = ...) -> None: ...

class CommitReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class ReleaseReservationRequest(_message.Message):
    __slots__ = ("reservation_id", "reason")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    reason: str
    def __init__(self, reservation_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class FulfillReservationRequest(_message.Message):
    __slots__ = ("reservation_id", "location_id", "lines", "request_id")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    request_id: str
    def __init__(self, reservation_id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class FulfillReservationResponse(_message.Message):
    __slots__ = ("reservation",)
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    reservation: Reservation
    def __init__(self, reservation: _Optional[_Union[Reservation, _Mapping]] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("id", "from_location_id", "to_location_id", "lines", "status", "reference", "created_at", "received_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    FROM_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    from_location_id: str
    to_location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    status: TransferStatus
    reference: str
    created_at: _timestamp_pb2.Timestamp
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., from_location_id: _Optional[str] = ..., to_location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., status: _Optional[_Union[TransferStatus, str]] = ..., reference: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TransferStockRequest(_message.Message):
    __slots__ = ("request_id", "from_location_id", "to_location_id", "lines", "reason", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    from_location_id: str
    to_location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    reason: str
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., from_location_id: _Optional[str] = ..., to_location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., reason: _Optional[str] = ..., reference: _Optional[str] = ...) -> None: ...

class TransferStockResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: Transfer
    def __init__(self, transfer: _Optional[_Union[Transfer, _Mapping]] = ...) -> None: ...

class ReceiveTransferRequest(_message.Message):
    __slots__ = ("transfer_id",)
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    def __init__(self, transfer_id: _Optional[str] = ...) -> None: ...

class ReceiveTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: Transfer
    def __init__(self, transfer: _Optional[_Union[Transfer, _Mapping]] = ...) -> None: ...

class GetTransferRequest(_message.Message):
    __slots__ = ("transfer_id",)
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    transfer_id: str
    def __init__(self, transfer_id: _Optional[str] = ...) -> None: ...

class GetTransferResponse(_message.Message):
    __slots__ = ("transfer",)
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    transfer: Transfer
    def __init__(self, transfer: _Optional[_Union[Transfer, _Mapping]] = ...) -> None: ...

class ListMovementsRequest(_message.Message):
    __slots__ = ("location_id", "sku", "page_size", "page_token")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    sku: str
    page_size: int
    page_token: str
    def __init__(self, location_id: _Optional[str] = ..., sku: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListMovementsResponse(_message.Message):
    __slots__ = ("movements", "next_page_token", "resume_page_token")
    MOVEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    movements: _containers.RepeatedCompositeFieldContainer[Movement]
    next_page_token: str
    resume_page_token: str
    def __init__(self, movements: _Optional[_Iterable[_Union[Movement, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., resume_page_token: _Optional[str] = ...) -> None: ...

class ChannelAllocation(_message.Message):
    __slots__ = ("id", "channel_id", "location_id", "sku", "quantity", "remaining", "ends_at", "status", "created_at", "updated_at", "returned", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    channel_id: str
    location_id: str
    sku: str
    quantity: int
    remaining: int
    ends_at: _timestamp_pb2.Timestamp
    status: ChannelAllocationStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    returned: int
    version: int
    def __init__(self, id: _Optional[str] = ..., channel_id: _Optional[str] = ..., location_id: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ..., remaining: _Optional[int] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[ChannelAllocationStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., returned: _Optional[int] = ..., version: _Optional[int] = ...) -> None: ...

class CreateChannelAllocationRequest(_message.Message):
    __slots__ = ("request_id", "channel_id", "location_id", "sku", "quantity", "ends_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    channel_id: str
    location_id: str
    sku: str
    quantity: int
    ends_at: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., location_id: _Optional[str] = ..., sku: _Optional[str] = ..., quantity: _Optional[int] = ..., ends_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateChannelAllocationResponse(_message.Message):
    __slots__ = ("allocation",)
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    allocation: ChannelAllocation
    def __init__(self, allocation: _Optional[_Union[ChannelAllocation, _Mapping]] = ...) -> None: ...

class ReleaseChannelAllocationRequest(_message.Message):
    __slots__ = ("allocation_id",)
    ALLOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    allocation_id: str
    def __init__(self, allocation_id: _Optional[str] = ...) -> None: ...

class ReleaseChannelAllocationResponse(_message.Message):
    __slots__ = ("allocation",)
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    allocation: ChannelAllocation
    def __init__(self, allocation: _Optional[_Union[ChannelAllocation, _Mapping]] = ...) -> None: ...

class ListChannelAllocationsRequest(_message.Message):
    __slots__ = ("channel_id", "sku", "include_closed", "page_size", "page_token")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    sku: str
    include_closed: bool
    page_size: int
    page_token: str
    def __init__(self, channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., include_closed: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListChannelAllocationsResponse(_message.Message):
    __slots__ = ("allocations", "next_page_token")
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[ChannelAllocation]
    next_page_token: str
    def __init__(self, allocations: _Optional[_Iterable[_Union[ChannelAllocation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStockLevelsRequest(_message.Message):
    __slots__ = ("location_id", "sku", "page_size", "page_token")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    sku: str
    page_size: int
    page_token: str
    def __init__(self, location_id: _Optional[str] = ..., sku: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStockLevelsResponse(_message.Message):
    __slots__ = ("levels", "next_page_token")
    LEVELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    levels: _containers.RepeatedCompositeFieldContainer[StockLevel]
    next_page_token: str
    def __init__(self, levels: _Optional[_Iterable[_Union[StockLevel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExpectedReceiptLine(_message.Message):
    __slots__ = ("sku", "quantity", "received", "remaining", "promised", "shortfall", "unpromised")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    PROMISED_FIELD_NUMBER: _ClassVar[int]
    SHORTFALL_FIELD_NUMBER: _ClassVar[int]
    UNPROMISED_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    received: int
    remaining: int
    promised: int
    shortfall: int
    unpromised: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., received: _Optional[int] = ..., remaining: _Optional[int] = ..., promised: _Optional[int] = ..., shortfall: _Optional[int] = ..., unpromised: _Optional[int] = ...) -> None: ...

class ExpectedReceipt(_message.Message):
    __slots__ = ("id", "location_id", "lines", "expected_at", "reference", "status", "created_at", "updated_at", "version", "cancel_reason", "location_owner_dealer_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REASON_FIELD_NUMBER: _ClassVar[int]
    LOCATION_OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ExpectedReceiptLine]
    expected_at: _timestamp_pb2.Timestamp
    reference: str
    status: ExpectedReceiptStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    cancel_reason: str
    location_owner_dealer_id: str
    def __init__(self, id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ExpectedReceiptLine, _Mapping]]] = ..., expected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ..., status: _Optional[_Union[ExpectedReceiptStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., cancel_reason: _Optional[str] = ..., location_owner_dealer_id: _Optional[str] = ...) -> None: ...

class FilledAllocation(_message.Message):
    __slots__ = ("reservation_id", "order_id", "channel_id", "sku", "location_id", "quantity", "still_awaiting")
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    STILL_AWAITING_FIELD_NUMBER: _ClassVar[int]
    reservation_id: str
    order_id: str
    channel_id: str
    sku: str
    location_id: str
    quantity: int
    still_awaiting: int
    def __init__(self, reservation_id: _Optional[str] = ..., order_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., location_id: _Optional[str] = ..., quantity: _Optional[int] = ..., still_awaiting: _Optional[int] = ...) -> None: ...

class ExpectReceiptRequest(_message.Message):
    __slots__ = ("request_id", "location_id", "lines", "expected_at", "reference")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLine]
    expected_at: _timestamp_pb2.Timestamp
    reference: str
    def __init__(self, request_id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLine, _Mapping]]] = ..., expected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class ExpectReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: ExpectedReceipt
    def __init__(self, receipt: _Optional[_Union[ExpectedReceipt, _Mapping]] = ...) -> None: ...

class CancelExpectedReceiptRequest(_message.Message):
    __slots__ = ("receipt_id", "reason")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    reason: str
    def __init__(self, receipt_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelExpectedReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: ExpectedReceipt
    def __init__(self, receipt: _Optional[_Union[ExpectedReceipt, _Mapping]] = ...) -> None: ...

class RescheduleExpectedReceiptRequest(_message.Message):
    __slots__ = ("receipt_id", "expected_at")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AT_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    expected_at: _timestamp_pb2.Timestamp
    def __init__(self, receipt_id: _Optional[str] = ..., expected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RescheduleExpectedReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: ExpectedReceipt
    def __init__(self, receipt: _Optional[_Union[ExpectedReceipt, _Mapping]] = ...) -> None: ...

class GetExpectedReceiptRequest(_message.Message):
    __slots__ = ("receipt_id",)
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    def __init__(self, receipt_id: _Optional[str] = ...) -> None: ...

class GetExpectedReceiptResponse(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: ExpectedReceipt
    def __init__(self, receipt: _Optional[_Union[ExpectedReceipt, _Mapping]] = ...) -> None: ...

class ListExpectedReceiptsRequest(_message.Message):
    __slots__ = ("location_id", "sku", "include_closed", "page_size", "page_token")
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    location_id: str
    sku: str
    include_closed: bool
    page_size: int
    page_token: str
    def __init__(self, location_id: _Optional[str] = ..., sku: _Optional[str] = ..., include_closed: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListExpectedReceiptsResponse(_message.Message):
    __slots__ = ("receipts", "next_page_token")
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[ExpectedReceipt]
    next_page_token: str
    def __init__(self, receipts: _Optional[_Iterable[_Union[ExpectedReceipt, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PromiseMove(_message.Message):
    __slots__ = ("sku", "location_id", "quantity", "previous_promised_at", "previous_receipt_id", "promised_at", "receipt_id")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    sku: str
    location_id: str
    quantity: int
    previous_promised_at: _timestamp_pb2.Timestamp
    previous_receipt_id: str
    promised_at: _timestamp_pb2.Timestamp
    receipt_id: str
    def __init__(self, sku: _Optional[str] = ..., location_id: _Optional[str] = ..., quantity: _Optional[int] = ..., previous_promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_receipt_id: _Optional[str] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt_id: _Optional[str] = ...) -> None: ...
