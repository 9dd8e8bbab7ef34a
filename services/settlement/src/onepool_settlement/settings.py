from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from onepool_runtime.settings import ServiceSettings
from pydantic import AliasChoices, Field, field_validator


class SettlementSettings(ServiceSettings):
    service_name: str = "settlement"
    grpc_port: int = 50055
    default_currency: str = "CNY"
    # A dealer whose location ships (or hands over) part of someone else's sale earns this share of that
    # fulfillment's value, paid by the seller. ONEPOOL_FULFILMENT_FEE_BPS, the setting's first spelling, still
    # works (deployments set it); the contract's spelling wins when both are set.
    fulfillment_fee_bps: int = Field(
        default=500,
        ge=0,
        le=10_000,
        validation_alias=AliasChoices(
            "ONEPOOL_FULFILLMENT_FEE_BPS", "ONEPOOL_FULFILMENT_FEE_BPS", "fulfillment_fee_bps"
        ),
    )
    # On a sale through a dealer's own business (order.dealer_id or a channel the dealer owns), the brand
    # keeps this share of the customer's payment; the dealer gets the rest after the channel's fee.
    dealer_sale_brand_share_bps: int = Field(default=3000, ge=0, le=10_000)
    # A statement holds at most this many lines; a busier period must be split.
    statement_max_lines: int = Field(default=5000, ge=1)
    # Failures of an orders event other than the infrastructure's (a domain rule, a bug) before it is
    # dead-lettered, with exponential back-off capped at 30 s. Outages never count (the runtime's consumer), nor
    # does an event waiting for its channel's terms (ChannelNotKnownYet, a NotYet): it waits as long as they take.
    orders_consumer_max_deliver: int = Field(default=30, ge=1)
    # Orders events fetched and booked per transaction (handlers.record_orders books a batch in a fixed number
    # of statements, so the round trips of a batch, not its size, set the pace on a busy machine).
    orders_consumer_batch_size: int = Field(default=500, ge=1, le=1000)
    # A balance sums the party's lines since its latest checkpoint (service_layer/checkpoints.py): one is written
    # once this many lines were posted since the last, checked every balance_checkpoint_interval_seconds.
    balance_checkpoint_lines: int = Field(default=20_000, ge=1)
    balance_checkpoint_interval_seconds: float = Field(default=30.0, gt=0)
    # The brand's business time zone (an IANA name): where its days and months turn over. Statement files are
    # named for the business date their period ends on. The portal's calendar.js BUSINESS_TIME_ZONE must name
    # the same zone (docs/gateway.md).
    business_time_zone: str = "Asia/Shanghai"

    @field_validator("business_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone this host knows") from exc
        return value

    @property
    def business_zone(self) -> ZoneInfo:
        return ZoneInfo(self.business_time_zone)
