from onepool.channels.v1 import channels_pb2 as _channels_pb2
from onepool.common.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChannelCreated(_message.Message):
    __slots__ = ("meta", "channel")
    META_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    channel: _channels_pb2.Channel
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., channel: _Optional[_Union[_channels_pb2.Channel, _Mapping]] = ...) -> None: ...

class ChannelUpdated(_message.Message):
    __slots__ = ("meta", "channel")
    META_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    channel: _channels_pb2.Channel
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., channel: _Optional[_Union[_channels_pb2.Channel, _Mapping]] = ...) -> None: ...

class ListingUpserted(_message.Message):
    __slots__ = ("meta", "listing")
    META_FIELD_NUMBER: _ClassVar[int]
    LISTING_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    listing: _channels_pb2.Listing
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., listing: _Optional[_Union[_channels_pb2.Listing, _Mapping]] = ...) -> None: ...

class ChannelStockUpdated(_message.Message):
    __slots__ = ("meta", "channel_id", "sku", "channel_sku", "sellable", "previous_sellable", "version", "rules", "presale_sellable", "previous_presale_sellable", "allow_backorder")
    META_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    SELLABLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PRESALE_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PRESALE_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    channel_id: str
    sku: str
    channel_sku: str
    sellable: int
    previous_sellable: int
    version: int
    rules: _channels_pb2.ChannelRules
    presale_sellable: int
    previous_presale_sellable: int
    allow_backorder: bool
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., channel_sku: _Optional[str] = ..., sellable: _Optional[int] = ..., previous_sellable: _Optional[int] = ..., version: _Optional[int] = ..., rules: _Optional[_Union[_channels_pb2.ChannelRules, _Mapping]] = ..., presale_sellable: _Optional[int] = ..., previous_presale_sellable: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...
