from __future__ import annotations

from onepool_runtime.settings import ServiceSettings

from onepool_dealers.domain.model import TierFactors


class DealersSettings(ServiceSettings):
    service_name: str = "dealers"
    grpc_port: int = 50054
    # Each tier's share of the wholesale list price, in basis points (9000 = 90%).
    tier_factor_standard_bps: int = 9000
    tier_factor_silver_bps: int = 8500
    tier_factor_gold_bps: int = 8000
    # Deadline of each call to inventory and channels.
    peer_timeout_seconds: float = 5.0
    # The recovery loop: finishes dealers whose channel is missing or behind, retries shipments whose
    # transfer request got no answer for this long, and cancels the expected receipts of received
    # replenishments until inventory confirms.
    recovery_interval_seconds: float = 5.0
    recovery_batch: int = 50
    shipping_retry_after_seconds: float = 30.0
    # A shipped replenishment is expected at the dealer's location this long after it ships: inventory counts
    # its units as expected stock there, which the dealer's own channel may presell (docs/presale.md).
    replenishment_transit_seconds: int = 3 * 24 * 3600
    # GetDealerOverview's sales period when the request names none.
    overview_default_days: int = 30

    def tier_factors(self) -> TierFactors:
        return TierFactors(self.tier_factor_standard_bps, self.tier_factor_silver_bps, self.tier_factor_gold_bps)
