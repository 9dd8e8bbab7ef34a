from __future__ import annotations

from onepool_runtime.settings import ServiceSettings
from pydantic import Field


class SettlementSettings(ServiceSettings):
    service_name: str = "settlement"
    grpc_port: int = 50055
    default_currency: str = "CNY"
    # A dealer whose location ships (or hands over) part of someone else's sale earns this share of that
    # fulfilment's value, paid by the seller.
    fulfilment_fee_bps: int = Field(default=500, ge=0, le=10_000)
    # On a sale through a dealer's own business (order.dealer_id or a channel the dealer owns), the brand
    # keeps this share of the customer's payment; the dealer gets the rest after the channel's fee.
    dealer_sale_brand_share_bps: int = Field(default=3000, ge=0, le=10_000)
    # Goods returned at another owner's location are taken over by that owner at this share of their value
    # at the price the customer paid (8500: the middle dealer tier's wholesale factor).
    return_transfer_price_bps: int = Field(default=8500, ge=0, le=10_000)
    # A statement holds at most this many lines; a busier period must be split.
    statement_max_lines: int = Field(default=5000, ge=1)
    # Orders events may wait for their channel's terms (a separate stream): retry them longer before
    # dead-lettering (deliveries, with exponential back-off capped at 30 s).
    orders_consumer_max_deliver: int = Field(default=30, ge=1)
