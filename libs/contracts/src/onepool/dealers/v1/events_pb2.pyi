from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.dealers.v1 import dealers_pb2 as _dealers_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DealerRegistered(_message.Message):
    __slots__ = ("meta", "dealer")
    META_FIELD_NUMBER: _ClassVar[int]
    DEALER_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    dealer: _dealers_pb2.Dealer
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., dealer: _Optional[_Union[_dealers_pb2.Dealer, _Mapping]] = ...) -> None: ...

class DealerUpdated(_message.Message):
    __slots__ = ("meta", "dealer")
    META_FIELD_NUMBER: _ClassVar[int]
    DEALER_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    dealer: _dealers_pb2.Dealer
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., dealer: _Optional[_Union[_dealers_pb2.Dealer, _Mapping]] = ...) -> None: ...

class ReplenishmentPlaced(_message.Message):
    __slots__ = ("meta", "replenishment")
    META_FIELD_NUMBER: _ClassVar[int]
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    replenishment: _dealers_pb2.Replenishment
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., replenishment: _Optional[_Union[_dealers_pb2.Replenishment, _Mapping]] = ...) -> None: ...

class ReplenishmentShipped(_message.Message):
    __slots__ = ("meta", "replenishment")
    META_FIELD_NUMBER: _ClassVar[int]
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    replenishment: _dealers_pb2.Replenishment
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., replenishment: _Optional[_Union[_dealers_pb2.Replenishment, _Mapping]] = ...) -> None: ...

class ReplenishmentReceived(_message.Message):
    __slots__ = ("meta", "replenishment")
    META_FIELD_NUMBER: _ClassVar[int]
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    replenishment: _dealers_pb2.Replenishment
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., replenishment: _Optional[_Union[_dealers_pb2.Replenishment, _Mapping]] = ...) -> None: ...

class ReplenishmentRejected(_message.Message):
    __slots__ = ("meta", "replenishment")
    META_FIELD_NUMBER: _ClassVar[int]
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    replenishment: _dealers_pb2.Replenishment
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., replenishment: _Optional[_Union[_dealers_pb2.Replenishment, _Mapping]] = ...) -> None: ...

class OwnershipMoved(_message.Message):
    __slots__ = ("meta", "move")
    META_FIELD_NUMBER: _ClassVar[int]
    MOVE_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    move: _dealers_pb2.OwnershipMove
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., move: _Optional[_Union[_dealers_pb2.OwnershipMove, _Mapping]] = ...) -> None: ...
