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

class PayoutStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYOUT_STATUS_UNSPECIFIED: _ClassVar[PayoutStatus]
    PAYOUT_STATUS_PAID: _ClassVar[PayoutStatus]

class StatementFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATEMENT_FORMAT_UNSPECIFIED: _ClassVar[StatementFormat]
    STATEMENT_FORMAT_CSV: _ClassVar[StatementFormat]
PAYOUT_STATUS_UNSPECIFIED: PayoutStatus
PAYOUT_STATUS_PAID: PayoutStatus
STATEMENT_FORMAT_UNSPECIFIED: StatementFormat
STATEMENT_FORMAT_CSV: StatementFormat

class GetBalanceRequest(_message.Message):
    __slots__ = ("party", "currency")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    party: str
    currency: str
    def __init__(self, party: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("party", "balance", "balances")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    BALANCES_FIELD_NUMBER: _ClassVar[int]
    party: str
    balance: _common_pb2.Money
    balances: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    def __init__(self, party: _Optional[str] = ..., balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., balances: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ...) -> None: ...

class JournalLine(_message.Message):
    __slots__ = ("id", "entry_id", "party", "account", "amount", "order_id", "source_event_id", "source_subject", "memo", "created_at", "balance_after", "rule", "occurred_at", "corrects_entry_id", "corrects_period_end", "reference")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SUBJECT_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    id: int
    entry_id: str
    party: str
    account: str
    amount: _common_pb2.Money
    order_id: str
    source_event_id: str
    source_subject: str
    memo: str
    created_at: _timestamp_pb2.Timestamp
    balance_after: _common_pb2.Money
    rule: str
    occurred_at: _timestamp_pb2.Timestamp
    corrects_entry_id: str
    corrects_period_end: _timestamp_pb2.Timestamp
    reference: str
    def __init__(self, id: _Optional[int] = ..., entry_id: _Optional[str] = ..., party: _Optional[str] = ..., account: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., order_id: _Optional[str] = ..., source_event_id: _Optional[str] = ..., source_subject: _Optional[str] = ..., memo: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., balance_after: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., rule: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., corrects_entry_id: _Optional[str] = ..., corrects_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class ListEntriesRequest(_message.Message):
    __slots__ = ("party", "to", "page_size", "page_token", "order_id", "currency")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    party: str
    to: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    order_id: str
    currency: str
    def __init__(self, party: _Optional[str] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order_id: _Optional[str] = ..., currency: _Optional[str] = ..., **kwargs) -> None: ...

class ListEntriesResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "resume_page_token")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESUME_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[JournalLine]
    next_page_token: str
    resume_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[JournalLine, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., resume_page_token: _Optional[str] = ...) -> None: ...

class StatementLine(_message.Message):
    __slots__ = ("entry", "running_balance")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    RUNNING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    entry: JournalLine
    running_balance: _common_pb2.Money
    def __init__(self, entry: _Optional[_Union[JournalLine, _Mapping]] = ..., running_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Statement(_message.Message):
    __slots__ = ("id", "party", "period_start", "period_end", "opening", "lines", "closing", "generated_at", "currency", "line_count", "final")
    ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    OPENING_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    CLOSING_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    LINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    id: str
    party: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    opening: _common_pb2.Money
    lines: _containers.RepeatedCompositeFieldContainer[StatementLine]
    closing: _common_pb2.Money
    generated_at: _timestamp_pb2.Timestamp
    currency: str
    line_count: int
    final: bool
    def __init__(self, id: _Optional[str] = ..., party: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opening: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[StatementLine, _Mapping]]] = ..., closing: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., line_count: _Optional[int] = ..., final: _Optional[bool] = ...) -> None: ...

class GenerateStatementRequest(_message.Message):
    __slots__ = ("party", "period_start", "period_end", "currency", "request_id")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    party: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    currency: str
    request_id: str
    def __init__(self, party: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GenerateStatementResponse(_message.Message):
    __slots__ = ("statement",)
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    statement: Statement
    def __init__(self, statement: _Optional[_Union[Statement, _Mapping]] = ...) -> None: ...

class GetStatementRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetStatementResponse(_message.Message):
    __slots__ = ("statement",)
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    statement: Statement
    def __init__(self, statement: _Optional[_Union[Statement, _Mapping]] = ...) -> None: ...

class Discrepancy(_message.Message):
    __slots__ = ("order_id", "kind", "detail", "entry_id", "move_id", "currency")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    MOVE_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    kind: str
    detail: str
    entry_id: str
    move_id: str
    currency: str
    def __init__(self, order_id: _Optional[str] = ..., kind: _Optional[str] = ..., detail: _Optional[str] = ..., entry_id: _Optional[str] = ..., move_id: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("period_start", "period_end", "currency")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    currency: str
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("orders_settled", "gross", "ledger_sum", "discrepancies", "refunds", "entries_checked", "totals")
    ORDERS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    GROSS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_SUM_FIELD_NUMBER: _ClassVar[int]
    DISCREPANCIES_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    orders_settled: int
    gross: _common_pb2.Money
    ledger_sum: _common_pb2.Money
    discrepancies: _containers.RepeatedCompositeFieldContainer[Discrepancy]
    refunds: _common_pb2.Money
    entries_checked: int
    totals: _containers.RepeatedCompositeFieldContainer[ReconcileTotals]
    def __init__(self, orders_settled: _Optional[int] = ..., gross: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., ledger_sum: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., discrepancies: _Optional[_Iterable[_Union[Discrepancy, _Mapping]]] = ..., refunds: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., entries_checked: _Optional[int] = ..., totals: _Optional[_Iterable[_Union[ReconcileTotals, _Mapping]]] = ...) -> None: ...

class ReconcileTotals(_message.Message):
    __slots__ = ("currency", "orders_settled", "gross", "refunds", "ledger_sum", "entries_checked")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ORDERS_SETTLED_FIELD_NUMBER: _ClassVar[int]
    GROSS_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_SUM_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    currency: str
    orders_settled: int
    gross: _common_pb2.Money
    refunds: _common_pb2.Money
    ledger_sum: _common_pb2.Money
    entries_checked: int
    def __init__(self, currency: _Optional[str] = ..., orders_settled: _Optional[int] = ..., gross: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., refunds: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., ledger_sum: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., entries_checked: _Optional[int] = ...) -> None: ...

class RecordPaymentRequest(_message.Message):
    __slots__ = ("request_id", "from_party", "to_party", "amount", "reference", "fee_retained")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PARTY_FIELD_NUMBER: _ClassVar[int]
    TO_PARTY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    FEE_RETAINED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    from_party: str
    to_party: str
    amount: _common_pb2.Money
    reference: str
    fee_retained: _common_pb2.Money
    def __init__(self, request_id: _Optional[str] = ..., from_party: _Optional[str] = ..., to_party: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reference: _Optional[str] = ..., fee_retained: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Payment(_message.Message):
    __slots__ = ("entry_id", "from_party", "to_party", "amount", "reference", "fee_retained", "lines")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PARTY_FIELD_NUMBER: _ClassVar[int]
    TO_PARTY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    FEE_RETAINED_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    from_party: str
    to_party: str
    amount: _common_pb2.Money
    reference: str
    fee_retained: _common_pb2.Money
    lines: _containers.RepeatedCompositeFieldContainer[JournalLine]
    def __init__(self, entry_id: _Optional[str] = ..., from_party: _Optional[str] = ..., to_party: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reference: _Optional[str] = ..., fee_retained: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[JournalLine, _Mapping]]] = ...) -> None: ...

class RecordPaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class Payout(_message.Message):
    __slots__ = ("id", "party", "amount", "status", "period_end", "entry_id", "created_at", "held_back")
    ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    HELD_BACK_FIELD_NUMBER: _ClassVar[int]
    id: str
    party: str
    amount: _common_pb2.Money
    status: PayoutStatus
    period_end: _timestamp_pb2.Timestamp
    entry_id: str
    created_at: _timestamp_pb2.Timestamp
    held_back: _common_pb2.Money
    def __init__(self, id: _Optional[str] = ..., party: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[PayoutStatus, str]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., entry_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., held_back: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class CreatePayoutRequest(_message.Message):
    __slots__ = ("request_id", "party", "period_end", "currency")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PARTY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    party: str
    period_end: _timestamp_pb2.Timestamp
    currency: str
    def __init__(self, request_id: _Optional[str] = ..., party: _Optional[str] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ...) -> None: ...

class CreatePayoutResponse(_message.Message):
    __slots__ = ("payout",)
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    payout: Payout
    def __init__(self, payout: _Optional[_Union[Payout, _Mapping]] = ...) -> None: ...

class GetPayoutRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetPayoutResponse(_message.Message):
    __slots__ = ("payout",)
    PAYOUT_FIELD_NUMBER: _ClassVar[int]
    payout: Payout
    def __init__(self, payout: _Optional[_Union[Payout, _Mapping]] = ...) -> None: ...

class ListPayoutsRequest(_message.Message):
    __slots__ = ("party", "page_size", "page_token")
    PARTY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    party: str
    page_size: int
    page_token: str
    def __init__(self, party: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPayoutsResponse(_message.Message):
    __slots__ = ("payouts", "next_page_token")
    PAYOUTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payouts: _containers.RepeatedCompositeFieldContainer[Payout]
    next_page_token: str
    def __init__(self, payouts: _Optional[_Iterable[_Union[Payout, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Period(_message.Message):
    __slots__ = ("period_start", "period_end", "closed_at")
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    closed_at: _timestamp_pb2.Timestamp
    def __init__(self, period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., closed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClosePeriodRequest(_message.Message):
    __slots__ = ("period_end", "request_id")
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    period_end: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ClosePeriodResponse(_message.Message):
    __slots__ = ("period",)
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    period: Period
    def __init__(self, period: _Optional[_Union[Period, _Mapping]] = ...) -> None: ...

class ListPeriodsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPeriodsResponse(_message.Message):
    __slots__ = ("periods", "next_page_token")
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[Period]
    next_page_token: str
    def __init__(self, periods: _Optional[_Iterable[_Union[Period, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportStatementRequest(_message.Message):
    __slots__ = ("statement_id", "format")
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    statement_id: str
    format: StatementFormat
    def __init__(self, statement_id: _Optional[str] = ..., format: _Optional[_Union[StatementFormat, str]] = ...) -> None: ...

class ExportStatementResponse(_message.Message):
    __slots__ = ("filename", "content_type", "content")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_type: str
    content: bytes
    def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class SettleUnpricedMoveRequest(_message.Message):
    __slots__ = ("request_id", "move_id", "value")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MOVE_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    move_id: str
    value: _common_pb2.Money
    def __init__(self, request_id: _Optional[str] = ..., move_id: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class SettleUnpricedMoveResponse(_message.Message):
    __slots__ = ("move",)
    MOVE_FIELD_NUMBER: _ClassVar[int]
    move: UnpricedMove
    def __init__(self, move: _Optional[_Union[UnpricedMove, _Mapping]] = ...) -> None: ...

class UnpricedLine(_message.Message):
    __slots__ = ("sku", "quantity")
    SKU_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    sku: str
    quantity: int
    def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class UnpricedMove(_message.Message):
    __slots__ = ("id", "reason", "from_party", "to_party", "lines", "priced_total", "order_id", "reference", "location_id", "recorded_at", "settled_at", "settled_value", "settled_entry_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FROM_PARTY_FIELD_NUMBER: _ClassVar[int]
    TO_PARTY_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PRICED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_VALUE_FIELD_NUMBER: _ClassVar[int]
    SETTLED_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    from_party: str
    to_party: str
    lines: _containers.RepeatedCompositeFieldContainer[UnpricedLine]
    priced_total: _common_pb2.Money
    order_id: str
    reference: str
    location_id: str
    recorded_at: _timestamp_pb2.Timestamp
    settled_at: _timestamp_pb2.Timestamp
    settled_value: _common_pb2.Money
    settled_entry_id: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ..., from_party: _Optional[str] = ..., to_party: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[UnpricedLine, _Mapping]]] = ..., priced_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., order_id: _Optional[str] = ..., reference: _Optional[str] = ..., location_id: _Optional[str] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., settled_entry_id: _Optional[str] = ...) -> None: ...
