import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.inventory.v1 import inventory_pb2 as _inventory_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DealerTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEALER_TIER_UNSPECIFIED: _ClassVar[DealerTier]
    DEALER_TIER_STANDARD: _ClassVar[DealerTier]
    DEALER_TIER_SILVER: _ClassVar[DealerTier]
    DEALER_TIER_GOLD: _ClassVar[DealerTier]

class DealerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEALER_STATUS_UNSPECIFIED: _ClassVar[DealerStatus]
    DEALER_STATUS_ACTIVE: _ClassVar[DealerStatus]
    DEALER_STATUS_SUSPENDED: _ClassVar[DealerStatus]

class ReplenishmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLENISHMENT_STATUS_UNSPECIFIED: _ClassVar[ReplenishmentStatus]
    REPLENISHMENT_STATUS_PLACED: _ClassVar[ReplenishmentStatus]
    REPLENISHMENT_STATUS_SHIPPED: _ClassVar[ReplenishmentStatus]
    REPLENISHMENT_STATUS_RECEIVED: _ClassVar[ReplenishmentStatus]
    REPLENISHMENT_STATUS_REJECTED: _ClassVar[ReplenishmentStatus]

class OwnershipMoveReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OWNERSHIP_MOVE_REASON_UNSPECIFIED: _ClassVar[OwnershipMoveReason]
    OWNERSHIP_MOVE_REASON_TRANSFER: _ClassVar[OwnershipMoveReason]
    OWNERSHIP_MOVE_REASON_RETURN: _ClassVar[OwnershipMoveReason]
    OWNERSHIP_MOVE_REASON_FULFILLMENT: _ClassVar[OwnershipMoveReason]
DEALER_TIER_UNSPECIFIED: DealerTier
DEALER_TIER_STANDARD: DealerTier
DEALER_TIER_SILVER: DealerTier
DEALER_TIER_GOLD: DealerTier
DEALER_STATUS_UNSPECIFIED: DealerStatus
DEALER_STATUS_ACTIVE: DealerStatus
DEALER_STATUS_SUSPENDED: DealerStatus
REPLENISHMENT_STATUS_UNSPECIFIED: ReplenishmentStatus
REPLENISHMENT_STATUS_PLACED: ReplenishmentStatus
REPLENISHMENT_STATUS_SHIPPED: ReplenishmentStatus
REPLENISHMENT_STATUS_RECEIVED: ReplenishmentStatus
REPLENISHMENT_STATUS_REJECTED: ReplenishmentStatus
OWNERSHIP_MOVE_REASON_UNSPECIFIED: OwnershipMoveReason
OWNERSHIP_MOVE_REASON_TRANSFER: OwnershipMoveReason
OWNERSHIP_MOVE_REASON_RETURN: OwnershipMoveReason
OWNERSHIP_MOVE_REASON_FULFILLMENT: OwnershipMoveReason

class Dealer(_message.Message):
    __slots__ = ("id", "name", "tier", "credit_limit", "region", "channel_id", "status", "created_at", "updated_at", "location_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    tier: DealerTier
    credit_limit: _common_pb2.Money
    region: str
    channel_id: str
    status: DealerStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    location_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tier: _Optional[_Union[DealerTier, str]] = ..., credit_limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., region: _Optional[str] = ..., channel_id: _Optional[str] = ..., status: _Optional[_Union[DealerStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., location_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterDealerRequest(_message.Message):
    __slots__ = ("name", "tier", "credit_limit", "region", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    tier: DealerTier
    credit_limit: _common_pb2.Money
    region: str
    request_id: str
    def __init__(self, name: _Optional[str] = ..., tier: _Optional[_Union[DealerTier, str]] = ..., credit_limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., region: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RegisterDealerResponse(_message.Message):
    __slots__ = ("dealer",)
    DEALER_FIELD_NUMBER: _ClassVar[int]
    dealer: Dealer
    def __init__(self, dealer: _Optional[_Union[Dealer, _Mapping]] = ...) -> None: ...

class GetDealerRequest(_message.Message):
    __slots__ = ("dealer_id",)
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    dealer_id: str
    def __init__(self, dealer_id: _Optional[str] = ...) -> None: ...

class GetDealerResponse(_message.Message):
    __slots__ = ("dealer",)
    DEALER_FIELD_NUMBER: _ClassVar[int]
    dealer: Dealer
    def __init__(self, dealer: _Optional[_Union[Dealer, _Mapping]] = ...) -> None: ...

class ListDealersRequest(_message.Message):
    __slots__ = ("status", "region", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: DealerStatus
    region: str
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[DealerStatus, str]] = ..., region: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDealersResponse(_message.Message):
    __slots__ = ("dealers", "next_page_token")
    DEALERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dealers: _containers.RepeatedCompositeFieldContainer[Dealer]
    next_page_token: str
    def __init__(self, dealers: _Optional[_Iterable[_Union[Dealer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateDealerRequest(_message.Message):
    __slots__ = ("dealer", "update_mask")
    DEALER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    dealer: Dealer
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, dealer: _Optional[_Union[Dealer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateDealerResponse(_message.Message):
    __slots__ = ("dealer",)
    DEALER_FIELD_NUMBER: _ClassVar[int]
    dealer: Dealer
    def __init__(self, dealer: _Optional[_Union[Dealer, _Mapping]] = ...) -> None: ...

class AddDealerLocationRequest(_message.Message):
    __slots__ = ("dealer_id", "location")
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    dealer_id: str
    location: _inventory_pb2.Location
    def __init__(self, dealer_id: _Optional[str] = ..., location: _Optional[_Union[_inventory_pb2.Location, _Mapping]] = ...) -> None: ...

class AddDealerLocationResponse(_message.Message):
    __slots__ = ("location",)
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    location: _inventory_pb2.Location
    def __init__(self, location: _Optional[_Union[_inventory_pb2.Location, _Mapping]] = ...) -> None: ...

class SetWholesalePriceRequest(_message.Message):
    __slots__ = ("sku", "list_price")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LIST_PRICE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    list_price: _common_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., list_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class SetWholesalePriceResponse(_message.Message):
    __slots__ = ("sku", "list_price", "tier_prices")
    SKU_FIELD_NUMBER: _ClassVar[int]
    LIST_PRICE_FIELD_NUMBER: _ClassVar[int]
    TIER_PRICES_FIELD_NUMBER: _ClassVar[int]
    sku: str
    list_price: _common_pb2.Money
    tier_prices: _containers.RepeatedCompositeFieldContainer[TierPrice]
    def __init__(self, sku: _Optional[str] = ..., list_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., tier_prices: _Optional[_Iterable[_Union[TierPrice, _Mapping]]] = ...) -> None: ...

class TierPrice(_message.Message):
    __slots__ = ("tier", "factor_bps", "unit_price")
    TIER_FIELD_NUMBER: _ClassVar[int]
    FACTOR_BPS_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    tier: DealerTier
    factor_bps: int
    unit_price: _common_pb2.Money
    def __init__(self, tier: _Optional[_Union[DealerTier, str]] = ..., factor_bps: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ReplenishmentLine(_message.Message):
    __slots__ = ("sku", "quantity", "unit_price", "line_total")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    unit_price: _common_pb2.Money
    line_total: _common_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Replenishment(_message.Message):
    __slots__ = ("id", "dealer_id", "from_location_id", "to_location_id", "lines", "status", "total", "transfer_id", "status_reason", "created_at", "updated_at", "shipped_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SHIPPED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    dealer_id: str
    from_location_id: str
    to_location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReplenishmentLine]
    status: ReplenishmentStatus
    total: _common_pb2.Money
    transfer_id: str
    status_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    shipped_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., dealer_id: _Optional[str] = ..., from_location_id: _Optional[str] = ..., to_location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReplenishmentLine, _Mapping]]] = ..., status: _Optional[_Union[ReplenishmentStatus, str]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transfer_id: _Optional[str] = ..., status_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shipped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PlaceReplenishmentRequest(_message.Message):
    __slots__ = ("request_id", "dealer_id", "from_location_id", "to_location_id", "lines")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    dealer_id: str
    from_location_id: str
    to_location_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReplenishmentLine]
    def __init__(self, request_id: _Optional[str] = ..., dealer_id: _Optional[str] = ..., from_location_id: _Optional[str] = ..., to_location_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReplenishmentLine, _Mapping]]] = ...) -> None: ...

class PlaceReplenishmentResponse(_message.Message):
    __slots__ = ("replenishment",)
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    replenishment: Replenishment
    def __init__(self, replenishment: _Optional[_Union[Replenishment, _Mapping]] = ...) -> None: ...

class GetReplenishmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetReplenishmentResponse(_message.Message):
    __slots__ = ("replenishment",)
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    replenishment: Replenishment
    def __init__(self, replenishment: _Optional[_Union[Replenishment, _Mapping]] = ...) -> None: ...

class ListReplenishmentsRequest(_message.Message):
    __slots__ = ("dealer_id", "status", "page_size", "page_token")
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    dealer_id: str
    status: ReplenishmentStatus
    page_size: int
    page_token: str
    def __init__(self, dealer_id: _Optional[str] = ..., status: _Optional[_Union[ReplenishmentStatus, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReplenishmentsResponse(_message.Message):
    __slots__ = ("replenishments", "next_page_token")
    REPLENISHMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    replenishments: _containers.RepeatedCompositeFieldContainer[Replenishment]
    next_page_token: str
    def __init__(self, replenishments: _Optional[_Iterable[_Union[Replenishment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ShipReplenishmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ShipReplenishmentResponse(_message.Message):
    __slots__ = ("replenishment",)
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    replenishment: Replenishment
    def __init__(self, replenishment: _Optional[_Union[Replenishment, _Mapping]] = ...) -> None: ...

class ReceiveReplenishmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ReceiveReplenishmentResponse(_message.Message):
    __slots__ = ("replenishment",)
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    replenishment: Replenishment
    def __init__(self, replenishment: _Optional[_Union[Replenishment, _Mapping]] = ...) -> None: ...

class RejectReplenishmentRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectReplenishmentResponse(_message.Message):
    __slots__ = ("replenishment",)
    REPLENISHMENT_FIELD_NUMBER: _ClassVar[int]
    replenishment: Replenishment
    def __init__(self, replenishment: _Optional[_Union[Replenishment, _Mapping]] = ...) -> None: ...

class GetDealerOverviewRequest(_message.Message):
    __slots__ = ("dealer_id", "period_start", "period_end")
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    dealer_id: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, dealer_id: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDealerOverviewResponse(_message.Message):
    __slots__ = ("dealer_id", "open_orders", "sales_in_period", "units_in_stock", "balance", "credit_available", "credit_limit", "open_replenishments", "period_start", "period_end", "inbound_units", "income_held", "currencies")
    DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    OPEN_ORDERS_FIELD_NUMBER: _ClassVar[int]
    SALES_IN_PERIOD_FIELD_NUMBER: _ClassVar[int]
    UNITS_IN_STOCK_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    OPEN_REPLENISHMENTS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    INBOUND_UNITS_FIELD_NUMBER: _ClassVar[int]
    INCOME_HELD_FIELD_NUMBER: _ClassVar[int]
    CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    dealer_id: str
    open_orders: int
    sales_in_period: _common_pb2.Money
    units_in_stock: int
    balance: _common_pb2.Money
    credit_available: _common_pb2.Money
    credit_limit: _common_pb2.Money
    open_replenishments: _common_pb2.Money
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    inbound_units: int
    income_held: _common_pb2.Money
    currencies: _containers.RepeatedCompositeFieldContainer[CurrencyFigures]
    def __init__(self, dealer_id: _Optional[str] = ..., open_orders: _Optional[int] = ..., sales_in_period: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., units_in_stock: _Optional[int] = ..., balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., credit_available: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., credit_limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., open_replenishments: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., inbound_units: _Optional[int] = ..., income_held: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., currencies: _Optional[_Iterable[_Union[CurrencyFigures, _Mapping]]] = ...) -> None: ...

class CurrencyFigures(_message.Message):
    __slots__ = ("currency", "sales_in_period", "income_counted", "income_held")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    SALES_IN_PERIOD_FIELD_NUMBER: _ClassVar[int]
    INCOME_COUNTED_FIELD_NUMBER: _ClassVar[int]
    INCOME_HELD_FIELD_NUMBER: _ClassVar[int]
    currency: str
    sales_in_period: _common_pb2.Money
    income_counted: _common_pb2.Money
    income_held: _common_pb2.Money
    def __init__(self, currency: _Optional[str] = ..., sales_in_period: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., income_counted: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., income_held: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class OwnershipMoveLine(_message.Message):
    __slots__ = ("sku", "quantity", "unit_price")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    unit_price: _common_pb2.Money
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class OwnershipMove(_message.Message):
    __slots__ = ("id", "reason", "from_dealer_id", "to_dealer_id", "lines", "total", "order_id", "reference", "location_id", "unpriced_skus", "unpriced_lines")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FROM_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    TO_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_SKUS_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_LINES_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: OwnershipMoveReason
    from_dealer_id: str
    to_dealer_id: str
    lines: _containers.RepeatedCompositeFieldContainer[OwnershipMoveLine]
    total: _common_pb2.Money
    order_id: str
    reference: str
    location_id: str
    unpriced_skus: _containers.RepeatedScalarFieldContainer[str]
    unpriced_lines: _containers.RepeatedCompositeFieldContainer[OwnershipMoveLine]
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[_Union[OwnershipMoveReason, str]] = ..., from_dealer_id: _Optional[str] = ..., to_dealer_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[OwnershipMoveLine, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., order_id: _Optional[str] = ..., reference: _Optional[str] = ..., location_id: _Optional[str] = ..., unpriced_skus: _Optional[_Iterable[str]] = ..., unpriced_lines: _Optional[_Iterable[_Union[OwnershipMoveLine, _Mapping]]] = ...) -> None: ...
