from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.orders.v1 import facts_pb2 as _facts_pb2
from onepool.orders.v1 import orders_pb2 as _orders_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderPlaced(_message.Message):
    __slots__ = ("meta", "order", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderPaid(_message.Message):
    __slots__ = ("meta", "order", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderCancelled(_message.Message):
    __slots__ = ("meta", "order", "reason", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    reason: str
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., reason: _Optional[str] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderShipped(_message.Message):
    __slots__ = ("meta", "order", "fulfillment_id", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    fulfillment_id: str
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., fulfillment_id: _Optional[str] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderCompleted(_message.Message):
    __slots__ = ("meta", "order", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderReturned(_message.Message):
    __slots__ = ("meta", "order", "order_return", "facts", "returned")
    META_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_RETURN_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    RETURNED_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    order: _orders_pb2.Order
    order_return: _orders_pb2.Return
    facts: _facts_pb2.OrderFacts
    returned: _facts_pb2.ReturnFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ..., order_return: _Optional[_Union[_orders_pb2.Return, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ..., returned: _Optional[_Union[_facts_pb2.ReturnFacts, _Mapping]] = ...) -> None: ...

class OrderReturnWindowClosed(_message.Message):
    __slots__ = ("meta", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderDepositPaid(_message.Message):
    __slots__ = ("meta", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderPromiseMoved(_message.Message):
    __slots__ = ("meta", "facts", "lines", "reason")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    lines: _containers.RepeatedCompositeFieldContainer[_facts_pb2.LinePromise]
    reason: str
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[_facts_pb2.LinePromise, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class OrderStockFilled(_message.Message):
    __slots__ = ("meta", "facts")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ...) -> None: ...

class OrderDeliveryAddressChanged(_message.Message):
    __slots__ = ("meta", "facts", "address", "previous_address", "region")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    address: str
    previous_address: str
    region: str
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ..., address: _Optional[str] = ..., previous_address: _Optional[str] = ..., region: _Optional[str] = ...) -> None: ...

class OrderRepriced(_message.Message):
    __slots__ = ("meta", "facts", "previous_total")
    META_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.EventMeta
    facts: _facts_pb2.OrderFacts
    previous_total: _common_pb2.Money
    def __init__(self, meta: _Optional[_Union[_common_pb2.EventMeta, _Mapping]] = ..., facts: _Optional[_Union[_facts_pb2.OrderFacts, _Mapping]] = ..., previous_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...
