import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from onepool.common.v1 import common_pb2 as _common_pb2
from onepool.inventory.v1 import inventory_pb2 as _inventory_pb2
from onepool.orders.v1 import orders_pb2 as _orders_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChannelType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_TYPE_UNSPECIFIED: _ClassVar[ChannelType]
    CHANNEL_TYPE_ONLINE_STORE: _ClassVar[ChannelType]
    CHANNEL_TYPE_MARKETPLACE: _ClassVar[ChannelType]
    CHANNEL_TYPE_SOCIAL_COMMERCE: _ClassVar[ChannelType]
    CHANNEL_TYPE_PHYSICAL_STORE: _ClassVar[ChannelType]
    CHANNEL_TYPE_DEALER: _ClassVar[ChannelType]

class Catalogue(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CATALOGUE_UNSPECIFIED: _ClassVar[Catalogue]
    CATALOGUE_LISTINGS: _ClassVar[Catalogue]
    CATALOGUE_POOL: _ClassVar[Catalogue]

class OwnStockRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OWN_STOCK_RULE_UNSPECIFIED: _ClassVar[OwnStockRule]
    OWN_STOCK_RULE_WHOLE_ORDER: _ClassVar[OwnStockRule]
    OWN_STOCK_RULE_FILL_FIRST: _ClassVar[OwnStockRule]

class DepositRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPOSIT_RULE_UNSPECIFIED: _ClassVar[DepositRule]
    DEPOSIT_RULE_REFUND: _ClassVar[DepositRule]
    DEPOSIT_RULE_KEEP: _ClassVar[DepositRule]

class ChannelStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_STATUS_UNSPECIFIED: _ClassVar[ChannelStatus]
    CHANNEL_STATUS_ACTIVE: _ClassVar[ChannelStatus]
    CHANNEL_STATUS_PAUSED: _ClassVar[ChannelStatus]
CHANNEL_TYPE_UNSPECIFIED: ChannelType
CHANNEL_TYPE_ONLINE_STORE: ChannelType
CHANNEL_TYPE_MARKETPLACE: ChannelType
CHANNEL_TYPE_SOCIAL_COMMERCE: ChannelType
CHANNEL_TYPE_PHYSICAL_STORE: ChannelType
CHANNEL_TYPE_DEALER: ChannelType
CATALOGUE_UNSPECIFIED: Catalogue
CATALOGUE_LISTINGS: Catalogue
CATALOGUE_POOL: Catalogue
OWN_STOCK_RULE_UNSPECIFIED: OwnStockRule
OWN_STOCK_RULE_WHOLE_ORDER: OwnStockRule
OWN_STOCK_RULE_FILL_FIRST: OwnStockRule
DEPOSIT_RULE_UNSPECIFIED: DepositRule
DEPOSIT_RULE_REFUND: DepositRule
DEPOSIT_RULE_KEEP: DepositRule
CHANNEL_STATUS_UNSPECIFIED: ChannelStatus
CHANNEL_STATUS_ACTIVE: ChannelStatus
CHANNEL_STATUS_PAUSED: ChannelStatus

class PresaleTerms(_message.Message):
    __slots__ = ("balance_due_seconds", "min_deposit_bps", "deposit_rule")
    BALANCE_DUE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_DEPOSIT_BPS_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_RULE_FIELD_NUMBER: _ClassVar[int]
    balance_due_seconds: int
    min_deposit_bps: int
    deposit_rule: DepositRule
    def __init__(self, balance_due_seconds: _Optional[int] = ..., min_deposit_bps: _Optional[int] = ..., deposit_rule: _Optional[_Union[DepositRule, str]] = ...) -> None: ...

class AllocationPolicy(_message.Message):
    __slots__ = ("location_ids", "location_types", "max_share_bps", "buffer_units", "own_stock")
    LOCATION_IDS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_TYPES_FIELD_NUMBER: _ClassVar[int]
    MAX_SHARE_BPS_FIELD_NUMBER: _ClassVar[int]
    BUFFER_UNITS_FIELD_NUMBER: _ClassVar[int]
    OWN_STOCK_FIELD_NUMBER: _ClassVar[int]
    location_ids: _containers.RepeatedScalarFieldContainer[str]
    location_types: _containers.RepeatedScalarFieldContainer[_inventory_pb2.LocationType]
    max_share_bps: int
    buffer_units: int
    own_stock: OwnStockRule
    def __init__(self, location_ids: _Optional[_Iterable[str]] = ..., location_types: _Optional[_Iterable[_Union[_inventory_pb2.LocationType, str]]] = ..., max_share_bps: _Optional[int] = ..., buffer_units: _Optional[int] = ..., own_stock: _Optional[_Union[OwnStockRule, str]] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("id", "code", "name", "type", "owner_dealer_id", "fee_rate_bps", "allocation", "status", "currency", "created_at", "updated_at", "version", "catalogue", "presale", "selling", "return_window_days", "import_payment_ttl_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    FEE_RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_FIELD_NUMBER: _ClassVar[int]
    PRESALE_FIELD_NUMBER: _ClassVar[int]
    SELLING_FIELD_NUMBER: _ClassVar[int]
    RETURN_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    IMPORT_PAYMENT_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    code: str
    name: str
    type: ChannelType
    owner_dealer_id: str
    fee_rate_bps: int
    allocation: AllocationPolicy
    status: ChannelStatus
    currency: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    version: int
    catalogue: Catalogue
    presale: PresaleTerms
    selling: bool
    return_window_days: int
    import_payment_ttl_seconds: int
    def __init__(self, id: _Optional[str] = ..., code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[ChannelType, str]] = ..., owner_dealer_id: _Optional[str] = ..., fee_rate_bps: _Optional[int] = ..., allocation: _Optional[_Union[AllocationPolicy, _Mapping]] = ..., status: _Optional[_Union[ChannelStatus, str]] = ..., currency: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., catalogue: _Optional[_Union[Catalogue, str]] = ..., presale: _Optional[_Union[PresaleTerms, _Mapping]] = ..., selling: _Optional[bool] = ..., return_window_days: _Optional[int] = ..., import_payment_ttl_seconds: _Optional[int] = ...) -> None: ...

class CreateChannelRequest(_message.Message):
    __slots__ = ("code", "name", "type", "owner_dealer_id", "fee_rate_bps", "allocation", "currency", "request_id", "catalogue", "presale", "return_window_days", "import_payment_ttl_seconds")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    FEE_RATE_BPS_FIELD_NUMBER: _ClassVar[int]
    ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_FIELD_NUMBER: _ClassVar[int]
    PRESALE_FIELD_NUMBER: _ClassVar[int]
    RETURN_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    IMPORT_PAYMENT_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    type: ChannelType
    owner_dealer_id: str
    fee_rate_bps: int
    allocation: AllocationPolicy
    currency: str
    request_id: str
    catalogue: Catalogue
    presale: PresaleTerms
    return_window_days: int
    import_payment_ttl_seconds: int
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[ChannelType, str]] = ..., owner_dealer_id: _Optional[str] = ..., fee_rate_bps: _Optional[int] = ..., allocation: _Optional[_Union[AllocationPolicy, _Mapping]] = ..., currency: _Optional[str] = ..., request_id: _Optional[str] = ..., catalogue: _Optional[_Union[Catalogue, str]] = ..., presale: _Optional[_Union[PresaleTerms, _Mapping]] = ..., return_window_days: _Optional[int] = ..., import_payment_ttl_seconds: _Optional[int] = ...) -> None: ...

class CreateChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ...) -> None: ...

class GetChannelRequest(_message.Message):
    __slots__ = ("channel_id",)
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    def __init__(self, channel_id: _Optional[str] = ...) -> None: ...

class GetChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("type", "owner_dealer_id", "page_size", "page_token")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OWNER_DEALER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    type: ChannelType
    owner_dealer_id: str
    page_size: int
    page_token: str
    def __init__(self, type: _Optional[_Union[ChannelType, str]] = ..., owner_dealer_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels", "next_page_token")
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    next_page_token: str
    def __init__(self, channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateChannelRequest(_message.Message):
    __slots__ = ("channel", "update_mask")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ...) -> None: ...

class Listing(_message.Message):
    __slots__ = ("channel_id", "sku", "channel_sku", "price", "active", "updated_at", "sales_cap_units", "version", "presale_units", "allow_backorder")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SALES_CAP_UNITS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PRESALE_UNITS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    sku: str
    channel_sku: str
    price: _common_pb2.Money
    active: bool
    updated_at: _timestamp_pb2.Timestamp
    sales_cap_units: int
    version: int
    presale_units: int
    allow_backorder: bool
    def __init__(self, channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., channel_sku: _Optional[str] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., active: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sales_cap_units: _Optional[int] = ..., version: _Optional[int] = ..., presale_units: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...

class UpsertListingRequest(_message.Message):
    __slots__ = ("channel_id", "sku", "channel_sku", "price", "active", "sales_cap_units", "presale_units", "allow_backorder")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SALES_CAP_UNITS_FIELD_NUMBER: _ClassVar[int]
    PRESALE_UNITS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    sku: str
    channel_sku: str
    price: _common_pb2.Money
    active: bool
    sales_cap_units: int
    presale_units: int
    allow_backorder: bool
    def __init__(self, channel_id: _Optional[str] = ..., sku: _Optional[str] = ..., channel_sku: _Optional[str] = ..., price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., active: _Optional[bool] = ..., sales_cap_units: _Optional[int] = ..., presale_units: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...

class UpsertListingResponse(_message.Message):
    __slots__ = ("listing",)
    LISTING_FIELD_NUMBER: _ClassVar[int]
    listing: Listing
    def __init__(self, listing: _Optional[_Union[Listing, _Mapping]] = ...) -> None: ...

class ListListingsRequest(_message.Message):
    __slots__ = ("channel_id", "page_size", "page_token")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    page_size: int
    page_token: str
    def __init__(self, channel_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListListingsResponse(_message.Message):
    __slots__ = ("listings", "next_page_token")
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    listings: _containers.RepeatedCompositeFieldContainer[Listing]
    next_page_token: str
    def __init__(self, listings: _Optional[_Iterable[_Union[Listing, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ChannelStockItem(_message.Message):
    __slots__ = ("sku", "channel_sku", "sellable", "listed", "rules", "presale_sellable", "allow_backorder")
    SKU_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    SELLABLE_FIELD_NUMBER: _ClassVar[int]
    LISTED_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PRESALE_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    sku: str
    channel_sku: str
    sellable: int
    listed: bool
    rules: ChannelRules
    presale_sellable: int
    allow_backorder: bool
    def __init__(self, sku: _Optional[str] = ..., channel_sku: _Optional[str] = ..., sellable: _Optional[int] = ..., listed: _Optional[bool] = ..., rules: _Optional[_Union[ChannelRules, _Mapping]] = ..., presale_sellable: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...

class ChannelRules(_message.Message):
    __slots__ = ("exposed", "dedicated", "sales_cap_units", "sales_counted", "presale_units", "presale_counted", "expected")
    EXPOSED_FIELD_NUMBER: _ClassVar[int]
    DEDICATED_FIELD_NUMBER: _ClassVar[int]
    SALES_CAP_UNITS_FIELD_NUMBER: _ClassVar[int]
    SALES_COUNTED_FIELD_NUMBER: _ClassVar[int]
    PRESALE_UNITS_FIELD_NUMBER: _ClassVar[int]
    PRESALE_COUNTED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    exposed: int
    dedicated: int
    sales_cap_units: int
    sales_counted: int
    presale_units: int
    presale_counted: int
    expected: int
    def __init__(self, exposed: _Optional[int] = ..., dedicated: _Optional[int] = ..., sales_cap_units: _Optional[int] = ..., sales_counted: _Optional[int] = ..., presale_units: _Optional[int] = ..., presale_counted: _Optional[int] = ..., expected: _Optional[int] = ...) -> None: ...

class GetChannelStockRequest(_message.Message):
    __slots__ = ("channel_id", "skus")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SKUS_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    skus: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel_id: _Optional[str] = ..., skus: _Optional[_Iterable[str]] = ...) -> None: ...

class GetChannelStockResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ChannelStockItem]
    def __init__(self, items: _Optional[_Iterable[_Union[ChannelStockItem, _Mapping]]] = ...) -> None: ...

class ImportOrderRequest(_message.Message):
    __slots__ = ("channel_id", "format", "payload")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    format: str
    payload: str
    def __init__(self, channel_id: _Optional[str] = ..., format: _Optional[str] = ..., payload: _Optional[str] = ...) -> None: ...

class ImportOrderResponse(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _orders_pb2.Order
    def __init__(self, order: _Optional[_Union[_orders_pb2.Order, _Mapping]] = ...) -> None: ...

class WatchChannelStockRequest(_message.Message):
    __slots__ = ("channel_id",)
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    def __init__(self, channel_id: _Optional[str] = ...) -> None: ...

class WatchChannelStockResponse(_message.Message):
    __slots__ = ("sku", "channel_sku", "sellable", "channel_id", "version", "rules", "presale_sellable", "allow_backorder")
    SKU_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_SKU_FIELD_NUMBER: _ClassVar[int]
    SELLABLE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    PRESALE_SELLABLE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BACKORDER_FIELD_NUMBER: _ClassVar[int]
    sku: str
    channel_sku: str
    sellable: int
    channel_id: str
    version: int
    rules: ChannelRules
    presale_sellable: int
    allow_backorder: bool
    def __init__(self, sku: _Optional[str] = ..., channel_sku: _Optional[str] = ..., sellable: _Optional[int] = ..., channel_id: _Optional[str] = ..., version: _Optional[int] = ..., rules: _Optional[_Union[ChannelRules, _Mapping]] = ..., presale_sellable: _Optional[int] = ..., allow_backorder: _Optional[bool] = ...) -> None: ...
