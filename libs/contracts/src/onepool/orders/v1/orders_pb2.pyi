import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from onepool.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_PENDING: _ClassVar[OrderStatus]
    ORDER_STATUS_RESERVED: _ClassVar[OrderStatus]
    ORDER_STATUS_PAID: _ClassVar[OrderStatus]
    ORDER_STATUS_FULFILLING: _ClassVar[OrderStatus]
    ORDER_STATUS_SHIPPED: _ClassVar[OrderStatus]
    ORDER_STATUS_READY_FOR_PICKUP: _ClassVar[OrderStatus]
    ORDER_STATUS_COMPLETED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELLED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_DEPOSIT_PAID: _ClassVar[OrderStatus]

class PaymentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_KIND_UNSPECIFIED: _ClassVar[PaymentKind]
    PAYMENT_KIND_FULL: _ClassVar[PaymentKind]
    PAYMENT_KIND_DEPOSIT: _ClassVar[PaymentKind]
    PAYMENT_KIND_BALANCE: _ClassVar[PaymentKind]

class LineStockState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINE_STOCK_STATE_UNSPECIFIED: _ClassVar[LineStockState]
    LINE_STOCK_STATE_ALLOCATED: _ClassVar[LineStockState]
    LINE_STOCK_STATE_AWAITING_STOCK: _ClassVar[LineStockState]

class FulfillmentMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULFILLMENT_MODE_UNSPECIFIED: _ClassVar[FulfillmentMode]
    FULFILLMENT_MODE_SHIP: _ClassVar[FulfillmentMode]
    FULFILLMENT_MODE_PICKUP_IN_STORE: _ClassVar[FulfillmentMode]
    FULFILLMENT_MODE_DEALER_DELIVERY: _ClassVar[FulfillmentMode]

class FulfillmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FULFILLMENT_STATUS_UNSPECIFIED: _ClassVar[FulfillmentStatus]
    FULFILLMENT_STATUS_PENDING: _ClassVar[FulfillmentStatus]
    FULFILLMENT_STATUS_SHIPPED: _ClassVar[FulfillmentStatus]
    FULFILLMENT_STATUS_PICKED_UP: _ClassVar[FulfillmentStatus]
    FULFILLMENT_STATUS_CANCELLED: _ClassVar[FulfillmentStatus]
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_PENDING: OrderStatus
ORDER_STATUS_RESERVED: OrderStatus
ORDER_STATUS_PAID: OrderStatus
ORDER_STATUS_FULFILLING: OrderStatus
ORDER_STATUS_SHIPPED: OrderStatus
ORDER_STATUS_READY_FOR_PICKUP: OrderStatus
ORDER_STATUS_COMPLETED: OrderStatus
ORDER_STATUS_CANCELLED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_DEPOSIT_PAID: OrderStatus
PAYMENT_KIND_UNSPECIFIED: PaymentKind
PAYMENT_KIND_FULL: PaymentKind
PAYMENT_KIND_DEPOSIT: PaymentKind
PAYMENT_KIND_BALANCE: PaymentKind
LINE_STOCK_STATE_UNSPECIFIED: LineStockState
LINE_STOCK_STATE_ALLOCATED: LineStockState
LINE_STOCK_STATE_AWAITING_STOCK: LineStockState
FULFILLMENT_MODE_UNSPECIFIED: FulfillmentMode
FULFILLMENT_MODE_SHIP: FulfillmentMode
FULFILLMENT_MODE_PICKUP_IN_STORE: FulfillmentMode
FULFILLMENT_MODE_DEALER_DELIVERY: FulfillmentMode
FULFILLMENT_STATUS_UNSPECIFIED: FulfillmentStatus
FULFILLMENT_STATUS_PENDING: FulfillmentStatus
FULFILLMENT_STATUS_SHIPPED: FulfillmentStatus
FULFILLMENT_STATUS_PICKED_UP: FulfillmentStatus
FULFILLMENT_STATUS_CANCELLED: FulfillmentStatus

class Customer(_message.Message):
    __slots__ = ("channel_customer_id", "phone", "member_id", "name", "email")
    CHANNEL_CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    channel_customer_id: str
    phone: str
    member_id: str
    name: str
    email: str
    def __init__(self, channel_customer_id: _Optional[str] = ..., phone: _Optional[str] = ..., member_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class OrderLine(_message.Message):
    __slots__ = ("sku", "quantity", "unit_price", "line_total", "channel_sku", "returned_quantity", "discount", "awaiting_quantity", "promised_at", "stock_state")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    RETURNED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    AWAITING_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PROMISED_AT_FIELD_NUMBER: _ClassVar[int]
    STOCK_STATE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    unit_price: _common_pb2.Money
    line_total: _common_pb2.Money
    channel_sku: str
    returned_quantity: int
    discount: _common_pb2.Money
    awaiting_quantity: int
    promised_at: _timestamp_pb2.Timestamp
    stock_state: LineStockState
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., channel_sku: _Optional[str] = ..., returned_quantity: _Optional[int] = ..., discount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., awaiting_quantity: _Optional[int] = ..., promised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stock_state: _Optional[_Union[LineStockState, str]] = ...) -> None: ...

class FulfillmentPreference(_message.Message):
    __slots__ = ("mode", "region", "address", "pickup_location_id", "allow_split")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PICKUP_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOW_SPLIT_FIELD_NUMBER: _ClassVar[int]
    mode: FulfillmentMode
    region: str
    address: str
    pickup_location_id: str
    allow_split: bool
    def __init__(self, mode: _Optional[_Union[FulfillmentMode, str]] = ..., region: _Optional[str] = ..., address: _Optional[str] = ..., pickup_location_id: _Optional[str] = ..., allow_split: _Optional[bool] = ...) -> None: ...

class FulfillmentLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Fulfillment(_message.Message):
    __slots__ = ("id", "location_id", "lines", "status", "tracking_no", "location_owner_dealer_id", "shipped_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NO_FIELD_NUMBER: _ClassVar[int]
    LOCATION_OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    SHIPPED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[FulfillmentLine]
    status: FulfillmentStatus
    tracking_no: str
    location_owner_dealer_id: str
    shipped_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[FulfillmentLine, _Mapping]]] = ..., status: _Optional[_Union[FulfillmentStatus, str]] = ..., tracking_no: _Optional[str] = ..., location_owner_dealer_id: _Optional[str] = ..., shipped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Shortfall(_message.Message):
    __slots__ = ("sku", "requested", "available")
    SKU_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    requested: int
    available: int
    def __init__(self, sku: _Optional[str] = ..., requested: _Optional[int] = ..., available: _Optional[int] = ...) -> None: ...

class Order(_message.Message):
    __slots__ = ("id", "channel_id", "external_order_id", "customer_id", "status", "lines", "total", "fulfillments", "reservation_id", "created_at", "updated_at", "dealer_id", "customer", "fulfillment", "paid", "refunded", "payment_ref", "status_reason", "shortfalls", "reservation_expires_at", "shipping_fee", "deposit", "balance_due_at", "deposit_kept", "address_as_of", "returnable_until", "prices_as_of")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENTS_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    SHORTFALLS_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FEE_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_DUE_AT_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_KEPT_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_AS_OF_FIELD_NUMBER: _ClassVar[int]
    RETURNABLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    PRICES_AS_OF_FIELD_NUMBER: _ClassVar[int]
    id: str
    channel_id: str
    external_order_id: str
    customer_id: str
    status: OrderStatus
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    total: _common_pb2.Money
    fulfillments: _containers.RepeatedCompositeFieldContainer[Fulfillment]
    reservation_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    dealer_id: str
    customer: Customer
    fulfillment: FulfillmentPreference
    paid: _common_pb2.Money
    refunded: _common_pb2.Money
    payment_ref: str
    status_reason: str
    shortfalls: _containers.RepeatedCompositeFieldContainer[Shortfall]
    reservation_expires_at: _timestamp_pb2.Timestamp
    shipping_fee: _common_pb2.Money
    deposit: _common_pb2.Money
    balance_due_at: _timestamp_pb2.Timestamp
    deposit_kept: _common_pb2.Money
    address_as_of: _timestamp_pb2.Timestamp
    returnable_until: _timestamp_pb2.Timestamp
    prices_as_of: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., channel_id: _Optional[str] = ..., external_order_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., fulfillments: _Optional[_Iterable[_Union[Fulfillment, _Mapping]]] = ..., reservation_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dealer_id: _Optional[str] = ..., customer: _Optional[_Union[Customer, _Mapping]] = ..., fulfillment: _Optional[_Union[FulfillmentPreference, _Mapping]] = ..., paid: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., refunded: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., payment_ref: _Optional[str] = ..., status_reason: _Optional[str] = ..., shortfalls: _Optional[_Iterable[_Union[Shortfall, _Mapping]]] = ..., reservation_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shipping_fee: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., deposit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., balance_due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deposit_kept: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., address_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., returnable_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., prices_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlaceOrderRequest(_message.Message):
    __slots__ = ("channel_id", "external_order_id", "customer", "lines", "fulfillment", "dealer_id", "payment_ttl_seconds", "shipping_fee", "address_as_of")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FEE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_AS_OF_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    external_order_id: str
    customer: Customer
    lines: _containers.RepeatedCompositeFieldContainer[OrderLine]
    fulfillment: FulfillmentPreference
    dealer_id: str
    payment_ttl_seconds: int
    shipping_fee: _common_pb2.Money
    address_as_of: _timestamp_pb2.Timestamp
    def __init__(self, channel_id: _Optional[str] = ..., external_order_id: _Optional[str] = ..., customer: _Optional[_Union[Customer, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[OrderLine, _Mapping]]] = ..., fulfillment: _Optional[_Union[FulfillmentPreference, _Mapping]] = ..., dealer_id: _Optional[str] = ..., payment_ttl_seconds: _Optional[int] = ..., shipping_fee: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., address_as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlaceOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class GetOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ListOrdersRequest(_message.Message):
    __slots__ = ("channel_id", "dealer_id", "customer_id", "status", "page_size", "page_token", "location_id", "external_order_id")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    dealer_id: str
    customer_id: str
    status: OrderStatus
    page_size: int
    page_token: str
    location_id: str
    external_order_id: str
    def __init__(self, channel_id: _Optional[str] = ..., dealer_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., location_id: _Optional[str] = ..., external_order_id: _Optional[str] = ...) -> None: ...

class ListOrdersResponse(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PayOrderRequest(_message.Message):
    __slots__ = ("order_id", "payment_ref", "amount", "kind")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_REF_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    payment_ref: str
    amount: _common_pb2.Money
    kind: PaymentKind
    def __init__(self, order_id: _Optional[str] = ..., payment_ref: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., kind: _Optional[_Union[PaymentKind, str]] = ...) -> None: ...

class PayOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CancelOrderRequest(_message.Message):
    __slots__ = ("order_id", "reason")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    reason: str
    def __init__(self, order_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ChangeDeliveryAddressRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "address", "as_of")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    address: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., address: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ChangeDeliveryAddressResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class RepriceLine(_message.Message):
    __slots__ = ("sku", "discount")
    SKU_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    sku: str
    discount: _common_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., discount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class RepriceOrderRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "lines", "shipping_fee", "as_of")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FEE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    lines: _containers.RepeatedCompositeFieldContainer[RepriceLine]
    shipping_fee: _common_pb2.Money
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[RepriceLine, _Mapping]]] = ..., shipping_fee: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RepriceOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ShipFulfillmentRequest(_message.Message):
    __slots__ = ("order_id", "fulfillment_id", "tracking_no")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACKING_NO_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    fulfillment_id: str
    tracking_no: str
    def __init__(self, order_id: _Optional[str] = ..., fulfillment_id: _Optional[str] = ..., tracking_no: _Optional[str] = ...) -> None: ...

class ShipFulfillmentResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ConfirmPickupRequest(_message.Message):
    __slots__ = ("order_id", "fulfillment_id")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    FULFILLMENT_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    fulfillment_id: str
    def __init__(self, order_id: _Optional[str] = ..., fulfillment_id: _Optional[str] = ...) -> None: ...

class ConfirmPickupResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class CompleteOrderRequest(_message.Message):
    __slots__ = ("order_id",)
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    def __init__(self, order_id: _Optional[str] = ...) -> None: ...

class CompleteOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: Order
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class ReturnLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class Return(_message.Message):
    __slots__ = ("id", "order_id", "lines", "return_location_id", "refund", "reason", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RETURN_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    order_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLine]
    return_location_id: str
    refund: _common_pb2.Money
    reason: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., order_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReturnLine, _Mapping]]] = ..., return_location_id: _Optional[str] = ..., refund: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReturnItemsRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "lines", "return_location_id", "reason", "accept_after_window")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RETURN_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_AFTER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReturnLine]
    return_location_id: str
    reason: str
    accept_after_window: bool
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReturnLine, _Mapping]]] = ..., return_location_id: _Optional[str] = ..., reason: _Optional[str] = ..., accept_after_window: _Optional[bool] = ...) -> None: ...

class ReturnItemsResponse(_message.Message):
    __slots__ = ("order_return", "order")
    ORDER_RETURN_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order_return: Return
    order: Order
    def __init__(self, order_return: _Optional[_Union[Return, _Mapping]] = ..., order: _Optional[_Union[Order, _Mapping]] = ...) -> None: ...

class RefundOrderRequest(_message.Message):
    __slots__ = ("request_id", "order_id", "amount", "reason", "accept_after_window")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACCEPT_AFTER_WINDOW_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    order_id: str
    amount: _common_pb2.Money
    reason: str
    accept_after_window: bool
    def __init__(self, request_id: _Optional[str] = ..., order_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ..., accept_after_window: _Optional[bool] = ...) -> None: ...

class RefundOrderResponse(_message.Message):
    __slots__ = ("order", "order_return")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    ORDER_RETURN_FIELD_NUMBER: _ClassVar[int]
    order: Order
    order_return: Return
    def __init__(self, order: _Optional[_Union[Order, _Mapping]] = ..., order_return: _Optional[_Union[Return, _Mapping]] = ...) -> None: ...
