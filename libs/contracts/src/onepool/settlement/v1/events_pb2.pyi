from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.settlement.v1 import settlement_pb2 as _settlement_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntryPosted(_message.Message):
    __slots__ = ("meta", "entry_id", "order_id", "lines", "rule", "currency", "source_event_id")
    META_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    entry_id: str
    order_id: str
    lines: _containers.RepeatedCompositeFieldContainer[_settlement_pb2.JournalLine]
    rule: str
    currency: str
    source_event_id: str
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., entry_id: _Optional[str] = ..., order_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_settlement_pb2.JournalLine, _Mapping]]] = ..., rule: _Optional[str] = ..., currency: _Optional[str] = ..., source_event_id: _Optional[str] = ...) -> None: ...

class StatementGenerated(_message.Message):
    __slots__ = ("meta", "statement")
    META_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    statement: _settlement_pb2.Statement
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., statement: _Optional[_Union[_settlement_pb2.Statement, _Mapping]] = ...) -> None: ...
