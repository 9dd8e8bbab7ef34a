import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from onepool.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderFacts(_message.Message):
    __slots__ = ("order_id", "channel_id", "dealer_id", "customer_id", "lines", "total", "paid", "refunded", "fulfillments", "is_open", "is_paid", "created_at", "updated_at", "shipping_fee", "deposit", "deposit_kept", "balance_due_at", "revision", "channel_version", "is_final", "facts_version", "returnable_until")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENTS_FIELD_NUMBER: _ClassVar[int]
    IS_OPEN_FIELD_NUMBER: _ClassVar[int]
    IS_PAID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FEE_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_KEPT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    FACTS_VERSION_FIELD_NUMBER: _ClassVar[int]
    RETURNABLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    channel_id: str
    dealer_id: str
    customer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OrderLineFacts]
    total: _common_pb2.Money
    paid: _common_pb2.Money
    refunded: _common_pb2.Money
    fulfillments: _containers.RepeatedCompositeFieldContainer[FulfillmentFacts]
    is_open: bool
    is_paid: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    shipping_fee: _common_pb2.Money
    deposit: _common_pb2.Money
    deposit_kept: _common_pb2.Money
    balance_due_at: _timestamp_pb2.Timestamp
    revision: int
    channel_version: int
    is_final: bool
    facts_version: int
    returnable_until: _timestamp_pb2.Timestamp
    def __init__(self, order_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., dealer_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OrderLineFacts, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., paid: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., refunded: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., fulfillments: _Optional[_Iterable[_Union[FulfillmentFacts, _Mapping]]] = ..., is_open: _Optional[bool] = ..., is_paid: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shipping_fee: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., deposit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., deposit_kept: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., balance_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ..., channel_version: _Optional[int] = ..., is_final: _Optional[bool] = ..., facts_version: _Optional[int] = ..., returnable_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrderLineFacts(_message.Message):
    __slots__ = ("sku", "quantity", "fulfilled_quantity", "returned_quantity", "unit_price", "line_total", "discount", "awaiting_quantity", "promised_at")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FULFILLED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RETURNED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    AWAITING_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    fulfilled_quantity: int
    returned_quantity: int
    unit_price: _common_pb2.Money
    line_total: _common_pb2.Money
    discount: _common_pb2.Money
    awaiting_quantity: int
    promised_at: _timestamp_pb2.Timestamp
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., fulfilled_quantity: _Optional[int] = ..., returned_quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., discount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., awaiting_quantity: _Optional[int] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FulfillmentFacts(_message.Message):
    __slots__ = ("fulfillment_id", "location_id", "location_owner_dealer_id", "lines", "has_left", "is_cancelled", "left_at")
    FULFILLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    HAS_LEFT_FIELD_NUMBER: _ClassVar[int]
    IS_CANCELLED_FIELD_NUMBER: _ClassVar[int]
    LEFT_AT_FIELD_NUMBER: _ClassVar[int]
    fulfillment_id: str
    location_id: str
    location_owner_dealer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLineFacts]
    has_left: bool
    is_cancelled: bool
    left_at: _timestamp_pb2.Timestamp
    def __init__(self, fulfillment_id: _Optional[str] = ..., location_id: _Optional[str] = ..., location_owner_dealer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLineFacts, _Mapping]]] = ..., has_left: _Optional[bool] = ..., is_cancelled: _Optional[bool] = ..., left_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StockLineFacts(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ReturnFacts(_message.Message):
    __slots__ = ("return_id", "location_id", "lines", "refund", "reason")
    RETURN_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    return_id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[StockLineFacts]
    refund: _common_pb2.Money
    reason: str
    def __init__(self, return_id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[StockLineFacts, _Mapping]]] = ..., refund: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LinePromise(_message.Message):
    __slots__ = ("sku", "awaiting_quantity", "previous_promised_at", "promised_at")
    SKU_FIELD_NUMBER: _ClassVar[int]
    AWAITING_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    sku: str
    awaiting_quantity: int
    previous_promised_at: _timestamp_pb2.Timestamp
    promised_at: _timestamp_pb2.Timestamp
    def __init__(self, sku: _Optional[str] = ..., awaiting_quantity: _Optional[int] = ..., previous_promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
