from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.inventory.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StockChanged(_message.Message):
    __slots__ = ("meta", "level", "location_owner_dealer_id", "location_type")
    META_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LOCATION_OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TYPE_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    level: _inventory_pb2.StockLevel
    location_owner_dealer_id: str
    location_type: _inventory_pb2.LocationType
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., level: _Optional[_Union[_inventory_pb2.StockLevel, _Mapping]] = ..., location_owner_dealer_id: _Optional[str] = ..., location_type: _Optional[_Union[_inventory_pb2.LocationType, str]] = ...) -> None: ...

class LocationUpserted(_message.Message):
    __slots__ = ("meta", "location")
    META_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    location: _inventory_pb2.Location
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., location: _Optional[_Union[_inventory_pb2.Location, _Mapping]] = ...) -> None: ...

class ReservationCreated(_message.Message):
    __slots__ = ("meta", "reservation")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReservationCommitted(_message.Message):
    __slots__ = ("meta", "reservation")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReservationReleased(_message.Message):
    __slots__ = ("meta", "reservation")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReservationExpired(_message.Message):
    __slots__ = ("meta", "reservation")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ...) -> None: ...

class ReservationFulfilled(_message.Message):
    __slots__ = ("meta", "reservation", "location_id", "lines")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.StockLine]
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.StockLine, _Mapping]]] = ...) -> None: ...

class TransferShipped(_message.Message):
    __slots__ = ("meta", "transfer")
    META_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    transfer: _inventory_pb2.Transfer
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., transfer: _Optional[_Union[_inventory_pb2.Transfer, _Mapping]] = ...) -> None: ...

class TransferReceived(_message.Message):
    __slots__ = ("meta", "transfer")
    META_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    transfer: _inventory_pb2.Transfer
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., transfer: _Optional[_Union[_inventory_pb2.Transfer, _Mapping]] = ...) -> None: ...

class ChannelAllocationChanged(_message.Message):
    __slots__ = ("meta", "allocation")
    META_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    allocation: _inventory_pb2.ChannelAllocation
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., allocation: _Optional[_Union[_inventory_pb2.ChannelAllocation, _Mapping]] = ...) -> None: ...

class ChannelSalesChanged(_message.Message):
    __slots__ = ("meta", "channel_id", "sku", "counted", "version", "presale_counted")
    META_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    COUNTED_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRESALE_COUNTED_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    channel_id: str
    sku: str
    counted: int
    version: int
    presale_counted: int
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., counted: _Optional[int] = ..., version: _Optional[int] = ..., presale_counted: _Optional[int] = ...) -> None: ...

class ExpectedReceiptRecorded(_message.Message):
    __slots__ = ("meta", "receipt")
    META_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    receipt: _inventory_pb2.ExpectedReceipt
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., receipt: _Optional[_Union[_inventory_pb2.ExpectedReceipt, _Mapping]] = ...) -> None: ...

class ExpectedReceiptCancelled(_message.Message):
    __slots__ = ("meta", "receipt")
    META_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    receipt: _inventory_pb2.ExpectedReceipt
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., receipt: _Optional[_Union[_inventory_pb2.ExpectedReceipt, _Mapping]] = ...) -> None: ...

class ExpectedReceiptChanged(_message.Message):
    __slots__ = ("meta", "receipt")
    META_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    receipt: _inventory_pb2.ExpectedReceipt
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., receipt: _Optional[_Union[_inventory_pb2.ExpectedReceipt, _Mapping]] = ...) -> None: ...

class ReservationFilled(_message.Message):
    __slots__ = ("meta", "reservation", "location_id", "lines", "receipt_id")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.StockLine]
    receipt_id: str
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_inventory_pb2.StockLine, _Mapping]]] = ..., receipt_id: _Optional[str] = ...) -> None: ...

class ReservationPromiseMoved(_message.Message):
    __slots__ = ("meta", "reservation", "moves", "reason")
    META_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    MOVES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    reservation: _inventory_pb2.Reservation
    moves: _containers.RepeatedCompositeFieldContainer[_inventory_pb2.PromiseMove]
    reason: _inventory_pb2.PromiseMoveReason
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., reservation: _Optional[_Union[_inventory_pb2.Reservation, _Mapping]] = ..., moves: _Optional[_Iterable[_Union[_inventory_pb2.PromiseMove, _Mapping]]] = ..., reason: _Optional[_Union[_inventory_pb2.PromiseMoveReason, str]] = ...) -> None: ...
